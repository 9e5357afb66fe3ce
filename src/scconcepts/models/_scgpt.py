"""scGPT as an :class:`~scconcepts.models.Encoder`: official checkpoints, official preprocessing, cell embeddings.

Decoding (steering) uses scGPT's MVC head as an expression decoder: the official ``MVCDecoder`` ("inner product")
predicts gene ``g`` of a cell as ``<W sigmoid(gene2query(e_g)), cell_emb>``, with ``e_g`` the gene's token embedding
after the encoder's layer norm and ``cell_emb`` the last layer's ``<cls>`` state. The values are binned expression.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts.models._scgpt_model import ScgptCheckpoint, load_scgpt_checkpoint
from scconcepts.models._scgpt_tokens import ScgptTokens, tokenize_scgpt
from scconcepts.models._token_encoder import StateChunk, TokenEncoder, layer_name
from scconcepts.models._tokens import cell_seeds, context_seeds, length_chunks, match_vocabulary

logger = logging.getLogger(__name__)

POOLINGS = ("cls", "mean")
DECODES_TO = "binned expression predicted by scGPT's MVC head, for the unit-norm cell embedding"


class ScgptEncoder(TokenEncoder):
    """Cell embeddings from an scGPT checkpoint.

    :meth:`encode` takes raw counts of :attr:`genes` and does scGPT's whole input preparation
    (normalise + log1p, per-cell binning, expressed genes only, sampling up to ``max_length`` with
    ``<cls>`` first, padding), runs the transformer and returns the ``<cls>`` state (or the mean of the
    gene tokens' states), L2-normalised as the official embedding function does. A gene whose value is
    zero has no token: setting a gene to zero drops its token, setting it to another value changes it.

    Parameters
    ----------
    checkpoint
        The loaded checkpoint.
    genes
        Names of the data's genes the model reads (matched to the vocabulary), in input order.
    gene_tokens
        Vocabulary token id of each gene.
    max_length
        Most tokens per cell, ``<cls>`` included (the official default is 1200).
    pooling
        ``"cls"`` (the official cell embedding) or ``"mean"`` (mean over the gene tokens).
    seed
        Seed mixed into the per-cell seeds used for gene sampling and bin tie breaking.
    layer
        Transformer layer whose pooled output is the embedding: ``layer_1`` ... ``layer_<n>`` (default: the
        last, the official cell embedding).

    """

    name = "scgpt"

    def __init__(
        self,
        checkpoint: ScgptCheckpoint,
        genes: list[str],
        gene_tokens: np.ndarray,
        *,
        max_length: int = 1200,
        pooling: str = "cls",
        seed: int = 0,
        layer: str | None = None,
    ) -> None:
        if pooling not in POOLINGS:
            raise InputError(f"unknown scGPT pooling {pooling!r}; choose one of {', '.join(POOLINGS)}")
        if max_length < 2:
            raise InputError(f"max_length must be at least 2 (<cls> and one gene); got {max_length}")
        self.checkpoint = checkpoint
        self.model = checkpoint.model
        self._genes = list(genes)
        self.gene_tokens = np.asarray(gene_tokens, dtype=np.int64)
        self.max_length = int(max_length)
        self.pooling = pooling
        self.seed = int(seed)
        pad_token = str(checkpoint.args.get("pad_token", "<pad>"))
        self.pad_id = checkpoint.vocab[pad_token]
        self.cls_id = checkpoint.vocab["<cls>"]
        self.select_layer(layer)

    @property
    def n_transformer_layers(self) -> int:
        """Transformer layers of the checkpoint."""
        return len(self.model.transformer_encoder.layers)

    @property
    def default_layer(self) -> str:
        """The last layer (scGPT's official cell embedding)."""
        return layer_name(self.n_transformer_layers)

    def context(self, adata: AnnData) -> np.ndarray:
        """Per-cell seeds from the cell names: a cell gets the same sampled genes in any subset of the data."""
        return cell_seeds(adata.obs_names, seed=self.seed)

    def tokenize(self, x: torch.Tensor | np.ndarray, context: torch.Tensor | np.ndarray | None = None) -> ScgptTokens:
        """Prepare a padded token batch from raw counts (cells x :attr:`genes`)."""
        x = self._counts(x)
        return tokenize_scgpt(
            x,
            self.gene_tokens,
            context_seeds(context, x.shape[0], default=self.seed),
            cls_id=self.cls_id,
            pad_id=self.pad_id,
            pad_value=self.checkpoint.pad_value,
            n_bins=self.checkpoint.n_bins,
            max_length=self.max_length,
        )

    def cell_tokens(
        self, x: torch.Tensor | np.ndarray, context: torch.Tensor | np.ndarray | None = None
    ) -> ScgptTokens:
        """:meth:`tokenize` (the context holds the per-cell seeds)."""
        return self.tokenize(x, context)

    def token_states(self, tokens: ScgptTokens, *, first_only: bool = False) -> Iterator[StateChunk]:
        """Token states at :attr:`layer`; cells of similar length share a forward pass (``<cls>`` at position 0)."""
        for rows in length_chunks(tokens.lengths.numpy(), n_heads=self.model.n_heads):
            part = tokens.select(rows).to(self.device)
            states = self.model(
                part.genes, part.values, part.padding, first_only=first_only, n_layers=self.layer_number
            )
            genes = ~part.padding
            genes[:, 0] = False
            yield StateChunk(rows, states, part.genes, genes, 0)

    def encode_tokens(self, tokens: ScgptTokens) -> torch.Tensor:
        """Run the transformer on a token batch and pool (:meth:`token_states`), L2-normalised."""
        outputs, order = [], []
        for chunk in self.token_states(tokens, first_only=self.pooling == "cls"):
            outputs.append(self.pool(chunk))
            order.append(chunk.rows)
        index = torch.as_tensor(np.concatenate(order), device=self.device)
        pooled = torch.cat(outputs)
        result = torch.empty_like(pooled)
        result[index] = pooled
        return result

    def pool(self, chunk: StateChunk) -> torch.Tensor:
        """The ``<cls>`` state (or the mean of the gene tokens' states) of each cell of a pass, L2-normalised."""
        if self.pooling == "cls":
            pooled = chunk.states[:, 0, :]
        else:
            weights = chunk.genes.float()
            pooled = (chunk.states * weights.unsqueeze(-1)).sum(1) / weights.sum(1, keepdim=True).clamp(min=1.0)
        return F.normalize(pooled, dim=1)

    def layer_output(self, number: int) -> torch.nn.Module:
        """The second layer norm of transformer layer ``number`` (post-norm: its output is the layer's output)."""
        return self.model.transformer_encoder.layers[number - 1].norm2

    def encode(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """Embed raw counts (cells x :attr:`genes`); see the class description for the preparation."""
        return self.encode_tokens(self.tokenize(x, context))

    #: Pseudo-count added before fold changes of decoded values (bins).
    decode_pseudo_count = 0.05

    @property
    def decodes_to(self) -> str | None:  # type: ignore[override]
        """What :meth:`decode_expression` returns; ``None`` without MVC weights or for another layer/pooling."""
        return None if why_not(self) else DECODES_TO

    def decode_expression(self, embedding: np.ndarray, adata: AnnData, *, batch_size: int = 1024) -> np.ndarray:
        """Decode cell embeddings with the checkpoint's MVC head (:func:`decode_scgpt`)."""
        return decode_scgpt(self, embedding, batch_size=batch_size)

    def save(self, path: str | Path) -> None:
        """Write ``path/encoder.json``: a reference to the checkpoint folder and the options (no weights)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        info = {
            "model": "scgpt",
            "checkpoint": str(self.checkpoint.path),
            "max_length": self.max_length,
            "pooling": self.pooling,
            "seed": self.seed,
            "layer": self.layer,
            "genes": self._genes,
        }
        (path / "encoder.json").write_text(json.dumps(info, indent=2))


def build_scgpt(
    adata: AnnData,
    *,
    checkpoint: str | Path | None = None,
    max_length: int = 1200,
    pooling: str = "cls",
    seed: int = 0,
    device: str = "cpu",
    min_fraction: float = 0.25,
    layer: str | None = None,
    **options: object,
) -> ScgptEncoder:
    """Load an scGPT checkpoint folder and match its vocabulary to ``adata``'s genes.

    Parameters
    ----------
    adata
        Data to embed; ``var_names`` are gene symbols as in the scGPT vocabulary.
    checkpoint
        Folder with ``args.json``, ``vocab.json`` and ``best_model.pt``.
    max_length, pooling, seed
        See :class:`ScgptEncoder`.
    device
        Device to run the transformer on.
    min_fraction
        Smallest fraction of the data's genes that must be in the vocabulary.
    layer
        Transformer layer to read (``layer_<i>``; default the last).
    options
        Options of other models, ignored (logged).

    """
    if checkpoint is None:
        raise InputError(
            "the scgpt model loads a pretrained checkpoint; pass --checkpoint DIR (args.json, "
            "vocab.json, best_model.pt)"
        )
    if options:
        logger.info("scgpt ignores options %s", ", ".join(sorted(options)))
    loaded = load_scgpt_checkpoint(checkpoint, device=device)
    specials = {"<pad>", "<cls>", "<eoc>", str(loaded.args.get("pad_token", "<pad>"))}
    vocab = {k: v for k, v in loaded.vocab.items() if k not in specials}
    genes, tokens = match_vocabulary(adata, vocab, model="scGPT", min_fraction=min_fraction)
    return ScgptEncoder(loaded, genes, tokens, max_length=int(max_length), pooling=pooling, seed=int(seed), layer=layer)


def load_scgpt(path: str | Path) -> ScgptEncoder:
    """Load an encoder saved by :meth:`ScgptEncoder.save` (the checkpoint folder must still exist)."""
    info = json.loads((Path(path) / "encoder.json").read_text())
    loaded = load_scgpt_checkpoint(info["checkpoint"])
    genes = [str(g) for g in info["genes"]]
    unknown = [g for g in genes if g not in loaded.vocab]
    if unknown:
        raise InputError(
            f"{len(unknown)} saved genes are not in the checkpoint's vocabulary (e.g. {unknown[0]}); "
            "the checkpoint folder changed since the encoder was saved"
        )
    tokens = np.asarray([loaded.vocab[g] for g in genes], dtype=np.int64)
    return ScgptEncoder(
        loaded,
        genes,
        tokens,
        max_length=int(info["max_length"]),
        pooling=str(info["pooling"]),
        seed=int(info["seed"]),
        layer=info.get("layer"),
    )


def why_not(encoder: ScgptEncoder) -> str | None:
    """Why this encoder cannot decode expression, or ``None`` when it can."""
    if encoder.checkpoint.mvc is None:
        return (
            f"the scGPT checkpoint {encoder.checkpoint.path} has no MVC decoder weights (mvc_decoder.gene2query, "
            "mvc_decoder.W), so steering cannot be decoded to genes; use --embedding-only"
        )
    if encoder.pooling != "cls" or encoder.layer != encoder.default_layer:
        return (
            "scGPT's MVC head decodes the last layer's <cls> state; this run embeds "
            f"{encoder.layer} with {encoder.pooling} pooling, so steering cannot be decoded to genes; "
            "use --embedding-only"
        )
    return None


@torch.no_grad()
def gene_queries(encoder: ScgptEncoder) -> torch.Tensor:
    """``genes x d`` query vectors ``W sigmoid(gene2query(e_g))`` of the encoder's genes."""
    mvc = encoder.checkpoint.mvc
    assert mvc is not None
    device = encoder.device
    tokens = torch.as_tensor(encoder.gene_tokens, device=device)
    gene_embs = encoder.model.encoder(tokens)
    queries = torch.sigmoid(F.linear(gene_embs, mvc["gene2query.weight"].to(device), mvc["gene2query.bias"].to(device)))
    return F.linear(queries, mvc["W.weight"].to(device))


@torch.no_grad()
def decode_scgpt(encoder: ScgptEncoder, embedding: np.ndarray, *, batch_size: int = 1024) -> np.ndarray:
    """Cells x genes MVC predictions (clipped at 0) for cell embeddings of the encoder's space."""
    reason = why_not(encoder)
    if reason is not None:
        raise InputError(reason)
    queries = gene_queries(encoder)
    out = []
    for start in range(0, embedding.shape[0], batch_size):
        cells = torch.as_tensor(np.asarray(embedding[start : start + batch_size], dtype=np.float32))
        out.append((cells.to(queries.device) @ queries.T).clamp_min(0).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, len(encoder.genes)), dtype=np.float32)
