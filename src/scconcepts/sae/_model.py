"""The Top-K sparse autoencoder module (input normaliser inside, unit-norm decoder)."""

from __future__ import annotations

import torch
from torch import nn

from scconcepts.sae._topk import (
    decode_dense,
    decode_sparse,
    topk_encode_dense,
    topk_encode_sparse,
)

INFERENCE = ("encoder", "pursuit")
#: Inference of a programs dictionary (:mod:`scconcepts.sae._programs`): the linear encoder's ReLU halves, each
#: kept only above its own threshold (``TopKSAE.jump``), so that cells use as many concepts as carry them.
JUMP = "jump"


def pursuit(
    x: torch.Tensor, dictionary: torch.Tensor, k: int, *, ridge: float = 1e-4
) -> tuple[torch.Tensor, torch.Tensor]:
    """Greedy non-negative pursuit: ``k`` atoms per row of ``x`` and their least-squares coefficients.

    Each step adds the atom (row of ``dictionary``) most correlated with the current residual, then
    refits all chosen atoms' coefficients by (ridge-stabilised) least squares, clipped at zero.
    Differentiable in ``x`` and ``dictionary`` for a fixed choice of atoms.

    Returns
    -------
    ``(values, indices)``, both ``rows x k``; atoms whose coefficient was clipped have value 0.

    """
    n_rows = x.shape[0]
    indices = torch.empty(n_rows, 0, dtype=torch.long, device=x.device)
    values = torch.empty(n_rows, 0, dtype=x.dtype, device=x.device)
    residual = x
    for step in range(1, k + 1):
        scores = (residual @ dictionary.T).detach()
        if indices.shape[1]:
            scores.scatter_(1, indices, -torch.inf)
        indices = torch.cat([indices, scores.argmax(dim=1, keepdim=True)], dim=1)
        atoms = dictionary[indices]  # rows x step x d
        gram = atoms @ atoms.transpose(1, 2) + ridge * torch.eye(step, dtype=x.dtype, device=x.device)
        values = torch.linalg.solve(gram, atoms @ x.unsqueeze(-1)).squeeze(-1).clamp_min(0)
        residual = x - (values.unsqueeze(-1) * atoms).sum(dim=1)
    return values, indices


class TopKSAE(nn.Module):
    """A Top-K sparse autoencoder on cell embeddings.

    Embeddings are centred and scaled by a normaliser stored with the weights, so :meth:`encode`
    and :meth:`decode` work in the embedding's own space. Each latent (a *concept*) has a unit-norm
    decoder row.

    Parameters
    ----------
    d_in
        Embedding dimension.
    n_latents
        Dictionary size.
    k
        Latents kept per cell.
    batch_topk
        Whether the SAE was trained with BatchTopK (inference then uses :attr:`threshold`).
    inference
        How :meth:`encode` picks each cell's concepts: ``"encoder"``, the SAE's own linear encoder
        and Top-K; or ``"pursuit"``, greedy non-negative pursuit over the decoder atoms (see
        :func:`pursuit`), which uses the same dictionary but chooses concepts far more accurately on
        cells the SAE did not train on; or ``"jump"`` (a programs dictionary, see
        :func:`scconcepts.sae.fit_programs`): the linear encoder's ReLU halves, each kept where it exceeds its
        own threshold (buffer ``jump``), so that cells use as many concepts as carry them.

    """

    def __init__(
        self,
        d_in: int,
        n_latents: int,
        k: int,
        *,
        batch_topk: bool = False,
        inference: str = "encoder",
    ) -> None:
        super().__init__()
        if inference not in (*INFERENCE, JUMP):
            raise ValueError(f"inference must be one of {(*INFERENCE, JUMP)}, got {inference!r}")
        self.d_in, self.n_latents, self.k, self.batch_topk = d_in, n_latents, k, batch_topk
        self.inference = inference
        decoder = torch.randn(n_latents, d_in)
        decoder /= decoder.norm(dim=1, keepdim=True)
        self.W_dec = nn.Parameter(decoder)
        self.W_enc = nn.Parameter(decoder.clone())
        self.b_enc = nn.Parameter(torch.zeros(n_latents))
        self.b_dec = nn.Parameter(torch.zeros(d_in))
        self.register_buffer("mean", torch.zeros(d_in))
        self.register_buffer("scale", torch.ones(()))
        self.register_buffer("threshold", torch.zeros(()))
        if inference == JUMP:  # per-concept thresholds of a programs dictionary (absent from Top-K checkpoints)
            self.register_buffer("jump", torch.zeros(n_latents))

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """Centre and scale raw embeddings with the stored normaliser."""
        return (x - self.mean) / self.scale

    def pre_activation(self, x_norm: torch.Tensor) -> torch.Tensor:
        """Encoder pre-activations of normalised embeddings (cells x latents)."""
        return (x_norm - self.b_dec) @ self.W_enc.T + self.b_enc

    def select(self, x_norm: torch.Tensor, *, sparse: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the (values, indices) of each cell's top ``k`` latents for normalised embeddings."""
        encode = topk_encode_sparse if sparse else topk_encode_dense
        return encode(x_norm - self.b_dec, self.W_enc, self.b_enc, self.k)

    def reconstruct(self, values: torch.Tensor, indices: torch.Tensor, *, sparse: bool = True) -> torch.Tensor:
        """Normalised reconstruction from selected latents."""
        decode = decode_sparse if sparse else decode_dense
        return decode(values, indices, self.W_dec) + self.b_dec

    def encode(self, x: torch.Tensor, *, inference: str | None = None) -> torch.Tensor:
        """Concept activations (cells x latents, non-negative, at most ``k`` non-zero) of raw embeddings.

        ``inference`` overrides the SAE's own (``"encoder"`` or ``"pursuit"``) for this call.
        """
        x_norm = self.normalise(x)
        if (inference or self.inference) == JUMP:
            z = torch.relu(self.pre_activation(x_norm))
            return z * (z > self.jump)
        if (inference or self.inference) == "pursuit":
            values, indices = pursuit(x_norm - self.b_dec, self.W_dec, self.k)
            return torch.zeros(x.shape[0], self.n_latents, dtype=values.dtype, device=x.device).scatter(
                1, indices, values
            )
        if self.batch_topk:
            pre = torch.relu(self.pre_activation(x_norm))
            return pre * (pre > self.threshold)
        values, indices = self.select(x_norm)
        return torch.zeros(x.shape[0], self.n_latents, dtype=values.dtype, device=x.device).scatter(1, indices, values)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Raw-space embeddings from concept activations (cells x latents)."""
        return (z @ self.W_dec + self.b_dec) * self.scale + self.mean

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruct raw embeddings."""
        return self.decode(self.encode(x))

    @torch.no_grad()
    def normalise_decoder(self) -> None:
        """Rescale decoder rows to unit norm."""
        self.W_dec /= self.W_dec.norm(dim=1, keepdim=True).clamp_min(1e-8)

    @torch.no_grad()
    def project_decoder_grad(self) -> None:
        """Remove the part of the decoder gradient that would change the rows' norms."""
        if self.W_dec.grad is not None:
            parallel = (self.W_dec.grad * self.W_dec).sum(dim=1, keepdim=True)
            self.W_dec.grad -= parallel * self.W_dec
