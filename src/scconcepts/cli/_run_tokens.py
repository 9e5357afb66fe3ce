"""``scconcepts run --tokens``: concepts of the transformer's gene-token states instead of its cell embedding.

The states of every gene token at ``--layer`` go to ``tokens/`` in the results folder (a disk-backed store), the
dictionary is learnt on them (``--regime``, as for cells), and each concept is read per cell (max over the cell's
tokens: the concepts the report, the explorer and ``evaluate`` show) and per gene (mean over the cells where the
gene's token is present). Both gene views are kept, side by side: *which gene tokens carry the concept*, the per-gene
token activation (``varm["<key>_token_genes"]``, ``NaN`` for genes without a token; ``token_genes.csv``; the
``top_token_genes`` column of ``concepts.csv``), the ranking enrichment reads against the genes that had a token; and
*which genes cause it*, the counterfactual attribution (``varm["<key>_attribution"]``, ``attribution.csv``, the
``top_genes`` and faithfulness columns): each gene perturbed in a cell's counts, the transformer re-run and every
gene token of the cell re-encoded (:class:`~scconcepts.attribution.TokenConceptEncoder`).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scconcepts._errors import InputError
from scconcepts._keys import params_key, token_genes_key
from scconcepts.cli._common import positive

if TYPE_CHECKING:
    from anndata import AnnData

    from scconcepts.models import Encoder
    from scconcepts.sae import Checkpoint, TopKSAE, TrainingResult

logger = logging.getLogger(__name__)

TOKENS_DIR = "tokens"
TOKEN_GENES_CSV = "token_genes.csv"
#: Genes of each concept's per-gene token activation named in ``concepts.csv`` (``top_token_genes``).
N_TOP_TOKEN_GENES = 10
TOKEN_MODELS = ("scgpt", "geneformer")


def add_token_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--tokens`` and ``--max-tokens-per-cell``."""
    parser.add_argument(
        "--tokens",
        action="store_true",
        help="scgpt/geneformer: learn concepts from the gene-token states at --layer (each concept read per cell "
        "and per gene) instead of from the pooled cell embedding",
    )
    parser.add_argument(
        "--max-tokens-per-cell",
        type=positive,
        default=None,
        metavar="N",
        help="with --tokens: keep a seeded sample of at most N gene tokens per cell (default: all)",
    )


def check_token_options(args: argparse.Namespace) -> None:
    """Refuse ``--tokens`` without gene tokens, and ``--max-tokens-per-cell`` without ``--tokens``."""
    if args.tokens and args.model not in TOKEN_MODELS:
        raise InputError(f"--tokens reads gene tokens of a transformer; use --model scgpt or geneformer, not "
                         f"{args.model}")  # fmt: skip
    if args.max_tokens_per_cell is not None and not args.tokens:
        raise InputError("--max-tokens-per-cell applies to --tokens only")


def token_trainer(encoder: Encoder, args: argparse.Namespace, folder: Path) -> Callable[..., TrainingResult]:
    """``tl.train_sae``'s stand-in for ``--tokens``: read the gene-token states into ``folder/tokens``, learn on them.

    The function takes ``tl.train_sae``'s arguments (``use_rep`` is not used: the store is the data); with a Dask
    ``client`` (``--workers``, ``--scheduler``) the states are read on its workers.
    """
    from scconcepts import tl

    def train(adata: AnnData, *, use_rep: str, **options: Any) -> TrainingResult:
        client = options.get("client")
        store = tl.token_activations(adata, encoder, max_tokens_per_cell=args.max_tokens_per_cell,
                                     path=folder / TOKENS_DIR, seed=args.seed, client=client)  # fmt: skip
        return tl.train_token_sae(adata, store, **options)

    return train


def use_brought_tokens(checkpoint: Checkpoint, adata: AnnData, encoder: Encoder, folder: Path, *,
                       args: argparse.Namespace, key: str, labels_key: str | None) -> TopKSAE:  # fmt: skip
    """``--tokens --sae DIR``: read the token states into ``folder/tokens``, encode them with the SAE brought along.

    The SAE must read the states of the same layer (its hook, when it names one) and width; it is saved into
    ``folder/sae`` as a trained one is.
    """
    from scconcepts import tl
    from scconcepts.results import SAE_DIR
    from scconcepts.sae import save_sae
    from scconcepts.sae._hooks import check_hook

    source = f"--sae {args.sae}"
    check_hook(checkpoint.hook, encoder.layer, source=source)
    store = tl.token_activations(adata, encoder, max_tokens_per_cell=args.max_tokens_per_cell,
                                 path=folder / TOKENS_DIR, seed=args.seed)  # fmt: skip
    origin = {"format": checkpoint.format, "dir": str(args.sae), "hook": checkpoint.hook,
              "architecture": checkpoint.architecture}  # fmt: skip
    tl.use_token_sae(adata, store, checkpoint.sae, key_added=key, labels_key=labels_key, seed=args.seed,
                     source=origin)  # fmt: skip
    save_sae(checkpoint.sae, folder / SAE_DIR, extra={"use_rep": f"tokens:{encoder.layer}", "model": encoder.name,
                                                      "layer": encoder.layer, "source": origin})  # fmt: skip
    return checkpoint.sae


def write_token_ranking(adata: AnnData, folder: Path, *, key: str) -> None:
    """Which gene tokens carry each concept: ``token_genes.csv`` and the ``top_token_genes`` column of the table.

    ``token_genes.csv`` holds every gene with a positive per-gene token activation (concept, gene,
    token_activation; by concept, strongest first); the concept table (``concepts.csv``) names each concept's
    :data:`N_TOP_TOKEN_GENES` strongest, beside ``top_genes`` of the counterfactual attribution.
    """
    import numpy as np  # here, not at the top: `scconcepts --help` loads no numerical library
    import pandas as pd

    stored = np.asarray(adata.varm[token_genes_key(key)], dtype=np.float32)
    per_gene = np.nan_to_num(stored, nan=0.0)
    rows, concepts = np.nonzero(per_gene > 0)
    table = pd.DataFrame({"concept": concepts, "gene": adata.var_names[rows].astype(str),
                          "token_activation": per_gene[rows, concepts]})  # fmt: skip
    table = table.sort_values(["concept", "token_activation"], ascending=[True, False], kind="stable")
    table.to_csv(folder / TOKEN_GENES_CSV, index=False)
    names = np.asarray(adata.var_names).astype(str)
    order = np.argsort(-per_gene, axis=0, kind="stable")[:N_TOP_TOKEN_GENES]
    top = [";".join(names[r] for r in order[:, c] if per_gene[r, c] > 0) for c in range(per_gene.shape[1])]
    info = adata.uns[params_key(key)]
    concept_table = info.get("table")
    if isinstance(concept_table, pd.DataFrame) and len(concept_table) == len(top):
        concept_table = concept_table.copy()
        concept_table["top_token_genes"] = top
        info["table"] = concept_table
    logger.info("token concepts: per-gene token activations of %d genes with a token written to %s",
                int(np.isfinite(stored).any(axis=1).sum()), TOKEN_GENES_CSV)  # fmt: skip
