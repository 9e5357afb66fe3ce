"""Geneformer checkpoints: a Hugging Face BERT folder with Geneformer's pickled dictionaries.

A checkpoint folder holds ``config.json`` and ``model.safetensors`` (or ``pytorch_model.bin``) written by
``BertForMaskedLM.save_pretrained``. Geneformer's dictionaries are pickles of plain dicts: the token
dictionary (Ensembl ID -> token id, with ``<pad>`` and ``<mask>``; V2 adds ``<cls>`` and ``<eos>``), the gene
medians (Ensembl ID -> non-zero median expression over the pretraining corpus) and, optionally, the gene
name -> Ensembl ID map. They are looked up in the folder (``token_dictionary*.pkl``,
``gene_median_dictionary*.pkl``, ``gene_name_id_dict*.pkl``) unless given explicitly.
"""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from scconcepts._errors import InputError

logger = logging.getLogger(__name__)

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


@dataclass
class GeneformerCheckpoint:
    """A loaded Geneformer checkpoint.

    Attributes
    ----------
    path
        Absolute folder path.
    model
        ``BertModel`` (no pooler) with the checkpoint's weights, in eval mode, cut after the layer whose
        output is the embedding.
    n_layers
        Layers of the full model.
    layer
        Layer read, in Geneformer's ``emb_layer`` convention (-1: second to last, 0: last).
    tokens
        Token dictionary (Ensembl ID or special token -> id).
    medians
        Gene medians (Ensembl ID -> median).
    names
        Gene name -> Ensembl ID (empty when the folder has none).
    files
        Absolute paths of the dictionaries read (``token_dictionary``, ``gene_median``, ``gene_name_id``).
    input_size
        Most tokens per cell (``max_position_embeddings``), special tokens included.

    """

    path: Path
    model: nn.Module
    n_layers: int
    layer: int
    tokens: dict[str, int]
    medians: dict[str, float]
    names: dict[str, str]
    files: dict[str, str]
    input_size: int
    #: The model's full list of layers (``model`` keeps only those up to the layer read).
    all_layers: nn.ModuleList | None = None

    def cut(self, layer: int) -> None:
        """Read the embedding after a different layer (``emb_layer`` convention: -1 second to last, 0 last)."""
        if not -self.n_layers <= layer <= 0:
            raise InputError(f"layer must be between {-self.n_layers} and 0 (0: last, -1: second to last); got {layer}")
        if self.all_layers is None:
            self.all_layers = self.model.encoder.layer
        device = next(self.model.parameters()).device
        self.model.encoder.layer = nn.ModuleList(self.all_layers[: self.n_layers + layer]).to(device)
        self.layer = layer

    @property
    def special_tokens(self) -> bool:
        """Whether cells start with ``<cls>`` and end with ``<eos>`` (Geneformer V2 dictionaries)."""
        return "<cls>" in self.tokens and "<eos>" in self.tokens


def _find(folder: Path, given: str | Path | None, pattern: str, what: str, *, required: bool) -> Path | None:
    if given is not None:
        path = Path(given).expanduser().resolve()
        if not path.is_file():
            raise InputError(f"Geneformer {what} {path} does not exist")
        return path
    found = sorted(folder.glob(pattern))
    if not found:
        if required:
            raise InputError(
                f"{folder} holds no Geneformer {what} ({pattern}); copy it into the checkpoint folder or pass its path"
            )
        return None
    if len(found) > 1:
        logger.warning("several Geneformer %s files in %s; using %s", what, folder, found[0].name)
    return found[0]


def _read_pickle(path: Path, what: str) -> dict[Any, Any]:
    try:
        with open(path, "rb") as handle:
            content = pickle.load(handle)
    except Exception as error:
        raise InputError(f"cannot read Geneformer {what} {path} ({error})") from error
    if not isinstance(content, dict) or not content:
        kind = type(content).__name__
        raise InputError(f"Geneformer {what} {path} must be a non-empty pickled dict; it holds {kind}")
    return content


def _load_bert(folder: Path) -> tuple[nn.Module, dict[str, Any]]:
    from transformers import BertModel
    from transformers.utils import logging as hf_logging

    if not (folder / "config.json").is_file():
        raise InputError(f"{folder} is not a Hugging Face checkpoint: config.json is missing")
    if not any((folder / name).is_file() for name in WEIGHT_FILES):
        raise InputError(f"{folder} holds no weights ({' or '.join(WEIGHT_FILES)})")
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()  # the load report lists the masked-LM head, which is not needed here
    hf_logging.disable_progress_bar()
    try:
        model, info = BertModel.from_pretrained(
            folder, add_pooling_layer=False, output_loading_info=True, local_files_only=True
        )
    except (OSError, ValueError, RuntimeError) as error:
        raise InputError(f"cannot load {folder} as a BERT checkpoint: {str(error).splitlines()[0]}") from error
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
    return model, info


def load_geneformer_checkpoint(
    path: str | Path,
    *,
    layer: int = -1,
    token_dictionary: str | Path | None = None,
    gene_median: str | Path | None = None,
    gene_name_id: str | Path | None = None,
    device: str = "cpu",
) -> GeneformerCheckpoint:
    """Load a Geneformer checkpoint folder and its dictionaries.

    Raises :class:`InputError` for missing files, missing or misnamed tensors, shapes that do not match
    ``config.json``, and a token dictionary that does not fit the embedding.
    """
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise InputError(f"Geneformer checkpoint folder {folder} does not exist; pass --checkpoint DIR")
    token_path = _find(folder, token_dictionary, "token_dictionary*.pkl", "token dictionary", required=True)
    median_path = _find(folder, gene_median, "gene_median_dictionary*.pkl", "gene median dictionary", required=True)
    name_path = _find(folder, gene_name_id, "gene_name_id_dict*.pkl", "gene name -> ID dictionary", required=False)
    tokens = {str(k): int(v) for k, v in _read_pickle(token_path, "token dictionary").items()}
    medians = {str(k): float(v) for k, v in _read_pickle(median_path, "gene median dictionary").items()}
    names = {str(k): str(v) for k, v in _read_pickle(name_path, "gene name dictionary").items()} if name_path else {}
    if "<pad>" not in tokens:
        raise InputError(f"Geneformer token dictionary {token_path} has no <pad> token")

    model, info = _load_bert(folder)
    missing = [k for k in info.get("missing_keys", []) if not k.startswith("pooler.")]
    mismatched = info.get("mismatched_keys", [])
    if missing or mismatched:
        bad = missing or [str(m[0]) for m in mismatched]
        raise InputError(
            f"{folder} lacks or mis-shapes {len(bad)} BERT tensors (e.g. {', '.join(bad[:3])}); "
            "the weights do not belong to this config.json"
        )
    config = model.config
    if max(tokens.values()) >= config.vocab_size:
        raise InputError(
            f"token dictionary {token_path} has ids up to {max(tokens.values())} but the model embeds "
            f"{config.vocab_size} tokens; use the dictionary the checkpoint was trained with"
        )
    n_layers = int(config.num_hidden_layers)
    if not -n_layers <= layer <= 0:
        raise InputError(f"layer must be between {-n_layers} and 0 (0: last, -1: second to last); got {layer}")
    all_layers = model.encoder.layer
    model.encoder.layer = all_layers[: n_layers + layer]
    files = {"token_dictionary": str(token_path), "gene_median": str(median_path)}
    if name_path:
        files["gene_name_id"] = str(name_path)
    logger.info("loaded Geneformer %s: %d tokens, %d layers (reading %d)", folder, len(tokens), n_layers, layer)
    return GeneformerCheckpoint(
        path=folder,
        model=model.to(device).eval(),
        n_layers=n_layers,
        layer=layer,
        tokens=tokens,
        medians=medians,
        names=names,
        files=files,
        input_size=int(config.max_position_embeddings),
        all_layers=all_layers,
    )
