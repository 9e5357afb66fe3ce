"""scGPT's TransformerModel encoder, state-dict compatible with official checkpoints, and the checkpoint loader.

An official checkpoint folder holds ``args.json`` (model hyper-parameters), ``vocab.json`` (gene -> token id)
and ``best_model.pt`` (a state dict). Only the parts that produce cell embeddings are built: gene embedding,
value encoder and transformer encoder; the decoders stored beside them are ignored.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from scconcepts._errors import InputError

logger = logging.getLogger(__name__)

SPECIAL_TOKENS = ("<pad>", "<cls>", "<eoc>")
#: args.json keys the model cannot be built without.
REQUIRED_ARGS = ("embsize", "nheads", "d_hid", "nlayers")
#: State-dict prefixes of official heads that do not take part in cell embeddings.
IGNORED_PREFIXES = (
    "decoder.",
    "cls_decoder.",
    "mvc_decoder.",
    "grad_reverse_discriminator.",
    "flag_encoder.",
    "batch_encoder.",
    "dsbn.",
    "bn.",
    "sim.",
)


class GeneEncoder(nn.Module):
    """Token embedding followed by layer norm (``encoder.*`` in the checkpoint)."""

    def __init__(self, n_tokens: int, d_model: int, padding_idx: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(n_tokens, d_model, padding_idx=padding_idx)
        self.enc_norm = nn.LayerNorm(d_model)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Embed ``cells x length`` token ids."""
        return self.enc_norm(self.embedding(tokens))


class ContinuousValueEncoder(nn.Module):
    """Map each (binned) expression value to a vector: clamp, linear, ReLU, linear, layer norm."""

    def __init__(self, d_model: int, max_value: float = 512.0) -> None:
        super().__init__()
        self.linear1 = nn.Linear(1, d_model)
        self.linear2 = nn.Linear(d_model, d_model)
        self.norm = nn.LayerNorm(d_model)
        self.max_value = max_value

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        """Encode ``cells x length`` values."""
        x = torch.clamp(values.unsqueeze(-1), max=self.max_value)
        return self.norm(self.linear2(torch.relu(self.linear1(x))))


class CategoryValueEncoder(nn.Module):
    """Embed integer bins (``input_emb_style="category"``)."""

    def __init__(self, n_bins: int, d_model: int, padding_idx: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(n_bins, d_model, padding_idx=padding_idx)
        self.enc_norm = nn.LayerNorm(d_model)

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        """Encode ``cells x length`` bin indices."""
        return self.enc_norm(self.embedding(values.long()))


class ScgptTransformer(nn.Module):
    """The embedding part of scGPT's ``TransformerModel`` (post-norm PyTorch transformer encoder).

    Parameters
    ----------
    n_tokens
        Vocabulary size (rows of the gene embedding).
    d_model, n_heads, d_hid, n_layers
        Transformer shape (``embsize``, ``nheads``, ``d_hid``, ``nlayers`` in ``args.json``).
    pad_id
        Token id of ``<pad>``.
    input_emb_style
        ``"continuous"`` (the released models), ``"category"`` or ``"scaling"``.
    n_bins
        Rows of the ``"category"`` value embedding (``n_input_bins``).
    pad_value
        Value of padding positions; the padding index of the ``"category"`` embedding.

    """

    def __init__(
        self,
        n_tokens: int,
        d_model: int,
        n_heads: int,
        d_hid: int,
        n_layers: int,
        *,
        pad_id: int,
        input_emb_style: str = "continuous",
        n_bins: int = 51,
        pad_value: int = -2,
    ) -> None:
        super().__init__()
        self.input_emb_style = input_emb_style
        self.n_heads = n_heads
        self.encoder = GeneEncoder(n_tokens, d_model, pad_id)
        if input_emb_style == "continuous":
            self.value_encoder: nn.Module = ContinuousValueEncoder(d_model)
        elif input_emb_style == "category":
            self.value_encoder = CategoryValueEncoder(n_bins, d_model, pad_value)
        elif input_emb_style == "scaling":
            self.value_encoder = nn.Identity()
        else:
            raise InputError(
                f"unknown input_emb_style {input_emb_style!r} in args.json; scGPT knows continuous, "
                "category and scaling"
            )
        layer = nn.TransformerEncoderLayer(d_model, n_heads, d_hid, dropout=0.0, batch_first=True)
        self.transformer_encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.eval()

    def forward(
        self,
        tokens: torch.Tensor,
        values: torch.Tensor,
        padding: torch.Tensor,
        *,
        first_only: bool = False,
        n_layers: int | None = None,
    ) -> torch.Tensor:
        """Return the last layer's token states (``cells x length x d_model``), or those of layer ``n_layers``.

        Parameters
        ----------
        tokens
            ``cells x length`` gene token ids (``<cls>`` first, ``<pad>`` at the end).
        values
            ``cells x length`` binned values (``pad_value`` at ``<cls>`` and padding).
        padding
            ``cells x length`` boolean, ``True`` at padding positions.
        first_only
            Compute the last layer for the first position (``<cls>``) only: ``cells x 1 x d_model``.
        n_layers
            Run only the first ``n_layers`` transformer layers (``None``: all of them).

        """
        genes = self.encoder(tokens)
        if self.input_emb_style == "scaling":
            states = genes * values.unsqueeze(-1)
        else:
            states = genes + self.value_encoder(values)
        attend = ~padding[:, None, None, :]
        layers = list(self.transformer_encoder.layers)[:n_layers]
        for i, layer in enumerate(layers):
            last = first_only and i == len(layers) - 1
            states = _post_norm_layer(layer, states, attend, n_heads=self.n_heads, first_only=last)
        return states


def _post_norm_layer(
    layer: nn.TransformerEncoderLayer, x: torch.Tensor, attend: torch.Tensor, *, n_heads: int, first_only: bool
) -> torch.Tensor:
    """One ``nn.TransformerEncoderLayer`` (post-norm, ReLU, eval) through ``scaled_dot_product_attention``.

    Equal to the layer's own forward; on CPU it avoids the fused path whose masked softmax is several times
    slower. With ``first_only`` only the first position's output is computed (its keys and values still
    come from every position).
    """
    attn = layer.self_attn
    n_cells, length, d_model = x.shape
    head = d_model // n_heads
    w_q, w_kv = attn.in_proj_weight[:d_model], attn.in_proj_weight[d_model:]
    b_q, b_kv = attn.in_proj_bias[:d_model], attn.in_proj_bias[d_model:]
    queries_in = x[:, :1] if first_only else x
    q = F.linear(queries_in, w_q, b_q).view(n_cells, -1, n_heads, head).transpose(1, 2)
    kv = F.linear(x, w_kv, b_kv).view(n_cells, length, 2, n_heads, head)
    k, v = kv[:, :, 0].transpose(1, 2), kv[:, :, 1].transpose(1, 2)
    mixed = F.scaled_dot_product_attention(q, k, v, attn_mask=attend)
    mixed = mixed.transpose(1, 2).reshape(n_cells, -1, d_model)
    h = layer.norm1(queries_in + attn.out_proj(mixed))
    return layer.norm2(h + layer.linear2(F.relu(layer.linear1(h))))


@dataclass
class ScgptCheckpoint:
    """A loaded scGPT checkpoint folder.

    Attributes
    ----------
    path
        Absolute folder path.
    args
        Contents of ``args.json``.
    vocab
        Gene (or special token) -> token id, special tokens added as the official loader does.
    model
        The transformer with the checkpoint's weights, in eval mode.

    """

    path: Path
    args: dict[str, Any]
    vocab: dict[str, int]
    model: ScgptTransformer
    #: The MVC decoder's tensors (``gene2query.weight``, ``gene2query.bias``, ``W.weight``), if the file has them.
    mvc: dict[str, torch.Tensor] | None = None

    @property
    def pad_value(self) -> float:
        """Value given to ``<cls>`` and padding positions."""
        return float(self.args.get("pad_value", -2))

    @property
    def n_bins(self) -> int:
        """Number of value bins."""
        return int(self.args.get("n_bins", 51))


def _read_json(path: Path, what: str) -> Any:
    if not path.is_file():
        raise InputError(f"{path.parent} is not an scGPT checkpoint: {path.name} ({what}) is missing")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise InputError(f"{path} is not valid JSON ({error}); re-download the checkpoint") from error


def read_vocab(path: Path) -> dict[str, int]:
    """Read ``vocab.json`` (token -> id) and append missing special tokens as the official loader does."""
    raw = _read_json(path, "the gene vocabulary")
    if not isinstance(raw, dict) or not raw:
        raise InputError(f"{path} must map gene names to token ids; it holds {type(raw).__name__}")
    vocab = {str(k): int(v) for k, v in raw.items()}
    for token in SPECIAL_TOKENS:
        if token not in vocab:
            vocab[token] = len(vocab)
    return vocab


def _clean_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename flash-attention keys (``Wqkv.`` -> ``in_proj_``) and strip a DistributedDataParallel prefix."""
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}
    return {k.replace("Wqkv.", "in_proj_"): v for k, v in state.items()}


def _check_state(model: nn.Module, state: dict[str, torch.Tensor], path: Path) -> dict[str, torch.Tensor]:
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    if missing:
        raise InputError(
            f"{path} lacks {len(missing)} tensors the scGPT encoder needs (e.g. {', '.join(missing[:3])}); "
            "the file is not an scGPT TransformerModel checkpoint or was renamed"
        )
    wrong = [
        f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in expected.items() if state[k].shape != v.shape
    ]
    if wrong:
        raise InputError(f"{path} does not match args.json/vocab.json shapes: {'; '.join(wrong[:3])}")
    unknown = [k for k in state if k not in expected and not k.startswith(IGNORED_PREFIXES)]
    if unknown:
        logger.warning(
            "%s: ignoring %d tensors outside the scGPT encoder (e.g. %s)", path, len(unknown), ", ".join(unknown[:3])
        )
    return {k: state[k] for k in expected}


def load_scgpt_checkpoint(path: str | Path, *, device: str = "cpu") -> ScgptCheckpoint:
    """Load an official scGPT checkpoint folder (``args.json``, ``vocab.json``, ``best_model.pt``).

    Raises :class:`InputError` for missing files or keys, missing or misnamed tensors, and shapes that do
    not match the hyper-parameters.
    """
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise InputError(f"scGPT checkpoint folder {folder} does not exist; pass --checkpoint DIR")
    args = _read_json(folder / "args.json", "model hyper-parameters")
    absent = [k for k in REQUIRED_ARGS if k not in args]
    if absent:
        raise InputError(f"{folder / 'args.json'} lacks {', '.join(absent)}; it is not an scGPT args.json")
    vocab = read_vocab(folder / "vocab.json")
    weights = folder / "best_model.pt"
    if not weights.is_file():
        raise InputError(f"{folder} is not an scGPT checkpoint: best_model.pt (the weights) is missing")
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as error:
        raise InputError(f"cannot read {weights} as a PyTorch state dict ({error})") from error
    if not isinstance(state, dict):
        raise InputError(f"{weights} holds a {type(state).__name__}, not a state dict of tensors")
    pad_token = str(args.get("pad_token", "<pad>"))
    model = ScgptTransformer(
        len(vocab),
        int(args["embsize"]),
        int(args["nheads"]),
        int(args["d_hid"]),
        int(args["nlayers"]),
        pad_id=vocab[pad_token],
        input_emb_style=str(args.get("input_emb_style", "continuous")),
        n_bins=int(args.get("n_input_bins", int(args.get("n_bins", 51)) + 2)),
        pad_value=int(args.get("pad_value", -2)),
    )
    cleaned = _clean_state(state)
    model.load_state_dict(_check_state(model, cleaned, weights))
    logger.info(
        "loaded scGPT checkpoint %s: %d tokens, d=%d, %d layers", folder, len(vocab), args["embsize"], args["nlayers"]
    )
    mvc = mvc_weights(cleaned, int(args["embsize"]))
    return ScgptCheckpoint(path=folder, args=dict(args), vocab=vocab, model=model.to(device).eval(), mvc=mvc)


#: Tensors of the official ``MVCDecoder`` ("inner product" style) that expression decoding needs.
MVC_TENSORS = ("gene2query.weight", "gene2query.bias", "W.weight")


def mvc_weights(state: dict[str, torch.Tensor], d_model: int) -> dict[str, torch.Tensor] | None:
    """The ``mvc_decoder.*`` tensors of an official checkpoint ("inner product" head on the cell embedding).

    ``None`` when they are absent, or shaped for a head that also reads batch labels (``W`` of ``2 d`` rows).
    """
    found = {name: state.get(f"mvc_decoder.{name}") for name in MVC_TENSORS}
    if any(t is None for t in found.values()):
        return None
    if tuple(found["W.weight"].shape) != (d_model, d_model) or tuple(found["gene2query.weight"].shape) != (
        d_model,
        d_model,
    ):
        logger.info("the checkpoint's MVC decoder reads more than the cell embedding; expression decoding is off")
        return None
    return {name: tensor.float() for name, tensor in found.items()}
