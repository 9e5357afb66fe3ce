"""Token-SAE defaults at transformer width, measured on planted programs read by a transformer trained here.

Cells carry additive gene programs (each active in about 30% of the cells, independently of the others, so a
cell mixes several) on top of three cell types. An scGPT-shaped transformer of width ``D_MODEL`` (2 layers) is
trained on their counts with scGPT's masked-value objective, saved in the official checkpoint format and read
back; its last layer's gene-token states go to a token store. Each setting of the token dictionary is then
scored on that store:

- held-out token R^2, dead concepts and wall time (the budget);
- for each planted program, the best concept's per-gene AUROC (program genes against the others, from the
  per-gene token activation) and per-cell AUROC (cells where the program is active, from the per-cell max);
  a program counts as recovered at gene AUROC >= 0.95 and cell AUROC >= 0.9;
- the same read-out on the untrained transformer (same seed): the null, since its tokens carry no learnt program.

Run alone with ``python -m benchmarks token_defaults [quick]`` (2 CPU threads; the full run trains a 256-d
transformer for 500 steps, about 25 minutes on 2 shared cores, and the two cell-default rows take longest).
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import scipy.sparse as sp
import torch
from sklearn.metrics import roc_auc_score

import scconcepts
from benchmarks._masked_values import train_masked_values
from scconcepts.models._scgpt import build_scgpt
from scconcepts.models._scgpt_model import ScgptTransformer

logger = logging.getLogger(__name__)

N_GENES, N_PROGRAMS, PROGRAM_GENES, N_TYPES, SEED = 300, 5, 12, 3, 0
ARGS = {"pad_token": "<pad>", "pad_value": -2, "mask_value": -1, "n_bins": 51, "input_style": "binned",
        "input_emb_style": "continuous", "max_seq_len": 1200, "USE_CLS": True}  # fmt: skip

#: (name, train_token_sae options); ``None`` k / expansion mean the library's defaults.
SETTINGS: list[tuple[str, dict[str, Any]]] = [
    ("token default (sae, k 8, x8, 3,000 steps of 256)", {}),
    ("  k 8, x8, 4,096 a step, 5 epochs", {"batch_size": 4096, "epochs": 5}),
    ("  k 32", {"k": 32}),
    ("  expansion 2", {"expansion": 2}),
    ("  k 8, x2, 4,096 a step, 5 epochs", {"expansion": 2, "batch_size": 4096, "epochs": 5}),
    ("cell default: sae consensus of 5", {"regime": "sae", "n_seeds": 5, "k": None, "expansion": 2, "batch_size": 256}),
    ("cell default: programs (ICA)", {"regime": "programs", "n_seeds": 5, "k": None, "expansion": 2}),
]


def planted_cells(n_cells: int, seed: int = SEED) -> tuple[ad.AnnData, np.ndarray]:
    """Counts with ``N_TYPES`` types and ``N_PROGRAMS`` independent additive programs; returns cells x programs."""
    rng = np.random.default_rng(seed)
    base = rng.lognormal(0.3, 0.9, N_GENES)
    programs = np.arange(N_PROGRAMS * PROGRAM_GENES).reshape(N_PROGRAMS, PROGRAM_GENES)
    base[programs.ravel()] = 0.05
    types = rng.integers(0, N_TYPES, n_cells)
    markers = N_PROGRAMS * PROGRAM_GENES + np.arange(N_TYPES * 10).reshape(N_TYPES, 10)
    base[markers.ravel()] = 0.05
    rates = np.tile(base, (n_cells, 1)) * rng.lognormal(0, 0.3, (n_cells, 1))
    rates[np.arange(n_cells)[:, None], markers[types]] = 5.0
    active = rng.random((n_cells, N_PROGRAMS)) < 0.3
    for p in range(N_PROGRAMS):
        rates[np.ix_(active[:, p], programs[p])] = 6.0
    adata = ad.AnnData(sp.csr_matrix(rng.poisson(rates).astype(np.float32)))
    adata.var_names = [f"G{i}" for i in range(N_GENES)]
    adata.obs_names = [f"c{i}" for i in range(n_cells)]
    adata.obs["cell_type"] = [f"type{t}" for t in types]
    return adata, active


def train_transformer(adata: ad.AnnData, folder: Path, *, d_model: int, steps: int) -> float:
    """Train an scGPT-shaped transformer (2 layers) on masked values and save it as a checkpoint; returns seconds."""
    vocab = {g: i for i, g in enumerate(adata.var_names)}
    for token in ("<pad>", "<cls>", "<eoc>"):
        vocab[token] = len(vocab)
    folder.mkdir(parents=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    heads = max(1, d_model // 64)
    (folder / "args.json").write_text(json.dumps({**ARGS, "embsize": d_model, "nheads": heads, "d_hid": d_model,
                                                  "nlayers": 2}))  # fmt: skip
    torch.manual_seed(SEED)
    model = ScgptTransformer(len(vocab), d_model, heads, d_model, 2, pad_id=vocab["<pad>"])
    start = time.perf_counter()
    train_masked_values(model, adata, folder, d_model=d_model, steps=steps, batch=32, lr=2e-3, seed=SEED)
    return time.perf_counter() - start


def planted_recovery(adata: ad.AnnData, active: np.ndarray) -> tuple[int, float, float]:
    """Programs recovered, and the median over programs of the best concept's gene and cell AUROC."""
    per_gene = np.nan_to_num(adata.varm["concepts_token_genes"], nan=0.0)
    per_cell = adata.obsm["X_concepts"].toarray()
    alive = np.flatnonzero(per_cell.max(axis=0) > 0)
    gene_aurocs, cell_aurocs, recovered = [], [], 0
    for p in range(N_PROGRAMS):
        truth = np.isin(np.arange(N_GENES), np.arange(p * PROGRAM_GENES, (p + 1) * PROGRAM_GENES))
        by_gene = np.array([roc_auc_score(truth, per_gene[:, c]) for c in alive])
        best = alive[int(np.argmax(by_gene))]
        cell = roc_auc_score(active[:, p], per_cell[:, best])
        gene_aurocs.append(by_gene.max())
        cell_aurocs.append(cell)
        recovered += int(by_gene.max() >= 0.95 and cell >= 0.9)
    return recovered, float(np.median(gene_aurocs)), float(np.median(cell_aurocs))


def score(adata: ad.AnnData, active: np.ndarray, store: Any, options: dict[str, Any]) -> dict[str, float]:
    """Train one token dictionary with ``options`` and read its figures."""
    start = time.perf_counter()
    scconcepts.tl.train_token_sae(adata, store, seed=SEED, labels_key="cell_type", **options)
    seconds = time.perf_counter() - start
    metrics = adata.uns["concepts"]["metrics"]
    recovered, gene_auroc, cell_auroc = planted_recovery(adata, active)
    return {"seconds": seconds, "r2": metrics["r2"], "dead": metrics["dead_fraction_all"],
            "concepts": adata.obsm["X_concepts"].shape[1], "types": metrics.get("accuracy_concepts", np.nan),
            "recovered": recovered, "gene_auroc": gene_auroc, "cell_auroc": cell_auroc}  # fmt: skip


def _line(name: str, row: dict[str, float]) -> str:
    return (f"{name:<48} {row['concepts']:>5} {row['r2']:>6.3f} {row['dead']:>5.2f} {row['types']:>6.3f} "
            f"{row['recovered']:>3}/{N_PROGRAMS} {row['gene_auroc']:>6.3f} {row['cell_auroc']:>6.3f} "
            f"{row['seconds']:>7.1f}")  # fmt: skip


def main(quick: bool | None = None) -> None:
    """Train the planted transformer, store its token states and print one line per dictionary setting."""
    quick = "quick" in sys.argv[1:] if quick is None else quick
    torch.set_num_threads(2)
    d_model = 128 if quick else 256
    n_cells, steps = (300, 150) if quick else (800, 500)
    adata, active = planted_cells(n_cells)
    header = f"{'setting':<48} {'conc':>5} {'R2':>6} {'dead':>5} {'types':>6} {'rec':>5} {'geneAU':>6} {'cellAU':>6}"
    header += f" {'s':>7}"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        seconds = train_transformer(adata, folder / "trained", d_model=d_model, steps=steps)
        train_transformer(adata, folder / "untrained", d_model=d_model, steps=0)
        print(f"scGPT-shaped transformer, {d_model}-d, 2 layers, {n_cells} cells x {N_GENES} genes, "
              f"{N_PROGRAMS} programs: trained {steps} steps in {seconds:.0f} s")  # fmt: skip
        stores = {}
        for name in ("trained", "untrained"):
            encoder = build_scgpt(adata, checkpoint=folder / name)
            path = folder / f"{name}-store"
            stores[name] = scconcepts.tl.token_activations(adata, encoder, layer="layer_2", path=path)
        print(f"token store: {stores['trained'].n_tokens} tokens x {stores['trained'].dim}")
        print(header)
        settings = SETTINGS[:2] if quick else SETTINGS
        for name, options in settings:
            print(_line(name, score(adata, active, stores["trained"], options)), flush=True)
        name, options = SETTINGS[0]
        print(_line(f"NULL untrained: {name}", score(adata, active, stores["untrained"], options)), flush=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    main()
