"""Where do concepts win? Representation x n_latent x expansion x k on the FACS-sorted PBMC, beside neurons and chance.

For each representation of the 3,500 sorted PBMC (scVI latent of 10 or 30 dimensions, the scVI
encoder's hidden layer) and each (expansion, k), SAEs are trained over three seeds on the same 80%
of cells and measured on the other 20%: monosemanticity of the top cells (purity, share >= 80% one
type, AMI; chance: permuted cell types), stability across seeds (matched |cosine|, share > 0.9;
chance: random unit atoms of the same count and dimension), the explanation score (top specific
training-cell genes scored on held-out cells: AUROC of the top cells, Spearman; chance: random gene
sets) and the cell-type balanced accuracy of the concepts against the embedding's own. The neurons
of each representation (both signs) are measured the same way. ``python -m benchmarks regime``
prints the table; embeddings are cached under ``.cache/regime/`` (``SCCONCEPTS_REGIME_CACHE``).
Set ``SCCONCEPTS_REGIME_QUICK=1`` for a one-seed, two-point smoke run.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np

logger = logging.getLogger("benchmarks.regime")

SEEDS = (0, 1, 2)
#: (expansion, k) points per representation dimension class: small latents and the wide hidden layer.
GRID_SMALL = [(4, 2), (4, 5), (8, 5)]
GRID_WIDE = [(2, 8), (2, 32)]
#: Training budget per SAE: the run's settings stop early around epoch 15-30 on 2,800 cells, so 80 epochs with
#: patience 15 keeps the sweep within minutes on two shared cores without cutting training short.
EPOCHS, PATIENCE = 80, 15
#: Representations: name -> (scVI n_latent, layer of the encoder).
REPRESENTATIONS = {"scvi_latent10": (10, "latent"), "scvi_hidden10": (10, "hidden"), "scvi_latent30": (30, "latent")}


def _cache() -> Path:
    path = Path(os.environ.get("SCCONCEPTS_REGIME_CACHE", Path(__file__).resolve().parents[1] / ".cache" / "regime"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _hidden_layer(encoder, adata) -> np.ndarray:
    """The scVI encoder's last hidden layer (what its latent mean reads), for every cell (``tl.embed(layer=)``)."""
    from scconcepts import tl

    tl.embed(adata, model=encoder, layer="hidden", key_added="X_scvi_hidden")
    return np.asarray(adata.obsm.pop("X_scvi_hidden"))


def load_representation(adata, name: str) -> np.ndarray:
    """One representation of the sorted PBMC, trained once and cached (scVI models and arrays)."""
    from scconcepts import tl
    from scconcepts.models import load_encoder

    cache = _cache()
    n_latent, layer = REPRESENTATIONS[name]
    array = cache / f"{name}.npy"
    if not array.is_file():
        model = cache / f"scvi{n_latent}"
        start = time.perf_counter()
        if (model / "encoder.json").is_file():
            encoder = load_encoder(model)
        else:
            encoder = tl.embed(adata, model="scvi", n_latent=n_latent, key_added="X_tmp")
            encoder.save(model)
        values = encoder.embed(adata) if layer == "latent" else _hidden_layer(encoder, adata)
        np.save(array, np.asarray(values, dtype=np.float32))
        logger.info("%s: %.0f s", name, time.perf_counter() - start)
    return np.load(array)


def _point(embedding, expression, labels, rows, *, expansion: int, k: int, seeds) -> dict[str, float]:
    """An SAE setting over seeds: monosemanticity, stability, explanation and accuracy, each beside its chance."""
    from scconcepts.evaluation import stability
    from scconcepts.evaluation._sae_runs import fit_sae, with_settings
    from scconcepts.evaluation._stability import stability_chance
    from scconcepts.sae import SAEConfig, encode_csr, informativeness

    train_rows = rows[0]
    per_seed, decoders = [], []
    for seed in seeds:
        config = with_settings(SAEConfig(), k=k, expansion=expansion, seed=int(seed), epochs=EPOCHS, patience=PATIENCE)
        sae = fit_sae(embedding, train_rows, config)
        activations = encode_csr(sae, np.asarray(embedding, dtype=np.float32))
        decoders.append(sae.W_dec.detach().cpu().numpy())
        per_seed.append(_measure(activations, expression, labels, rows, signed=False, seed=seed))
        per_seed[-1]["accuracy"] = informativeness(activations, labels, seed=seed)[0]
    summary = {name: float(np.nanmean([m[name] for m in per_seed])) for name in per_seed[0]}
    stable = stability(decoders)
    chance = stability_chance(len(decoders[0]), embedding.shape[1])
    summary.update(
        matched_cosine=stable["matched_cosine"],
        reproduced=stable["reproduced"],
        matched_cosine_chance=chance["matched_cosine"],
        reproduced_chance=chance["reproduced"],
    )
    return summary


def _measure(activations, expression, labels, rows, *, signed: bool, seed: int) -> dict[str, float]:
    from scconcepts.evaluation import monosemanticity
    from scconcepts.evaluation._explanation import (
        both_signs,
        explanation_scores,
        specific_genes,
        summarise_explanation,
    )

    mono = monosemanticity(activations, labels, signed=signed, n_permutations=5, seed=seed)
    dense = activations.toarray() if hasattr(activations, "toarray") else np.asarray(activations)
    sides = both_signs(dense) if signed else dense
    sets = specific_genes(expression, sides, rows[0])
    explained = summarise_explanation(explanation_scores(expression, sides, sets, rows[1], seed=seed))
    names = ("purity", "pure_share", "ami", "purity_chance", "pure_share_chance", "ami_chance")
    return {
        **{name: mono[name] for name in names},
        **{name: explained[name] for name in explained if name != "explanation_n_scored"},
    }


def regime_table(quick: bool = False):
    """Measure every grid point and the neurons of every representation; return the table."""
    import pandas as pd
    from tqdm.auto import tqdm

    from scconcepts import ds
    from scconcepts.evaluation._explanation import log_normalise
    from scconcepts.sae import informativeness

    adata = ds.pbmc_sorted()
    labels = adata.obs["cell_type"].astype(str).to_numpy()
    expression = log_normalise(adata.X)
    rng = np.random.default_rng(0)
    val_rows = np.sort(rng.choice(adata.n_obs, adata.n_obs // 5, replace=False))
    rows = (np.setdiff1d(np.arange(adata.n_obs), val_rows), val_rows)
    seeds = SEEDS[:1] if quick else SEEDS
    records = []
    for name in REPRESENTATIONS:
        values = load_representation(adata, name)
        dim = values.shape[1]
        embedding_accuracy = informativeness(values, labels)[0]
        neurons = _measure(values, expression, labels, rows, signed=True, seed=0)
        records.append({"representation": name, "dim": dim, "method": "neurons", "n_components": 2 * dim, **neurons})
        records[-1]["accuracy"] = embedding_accuracy
        grid = GRID_SMALL if dim <= 32 else GRID_WIDE
        for expansion, k in tqdm(grid[:2] if quick else grid, desc=name, unit="setting"):
            start = time.perf_counter()
            point = _point(values, expression, labels, rows, expansion=expansion, k=k, seeds=seeds)
            records.append(
                {
                    "representation": name,
                    "dim": dim,
                    "method": f"sae x{expansion} k{k}",
                    "n_components": expansion * dim,
                    **point,
                    "accuracy_gap": point["accuracy"] - embedding_accuracy,
                    "seconds": time.perf_counter() - start,
                }
            )
            logger.info("%s %s: %s", name, records[-1]["method"], {n: round(v, 3) for n, v in point.items()})
        if quick:
            break
    return pd.DataFrame.from_records(records)


COLUMNS = [
    ("purity", "purity_chance"),
    ("pure_share", "pure_share_chance"),
    ("ami", "ami_chance"),
    ("matched_cosine", "matched_cosine_chance"),
    ("reproduced", "reproduced_chance"),
    ("explanation_auroc", "explanation_auroc_chance"),
    ("explanation_spearman", "explanation_spearman_chance"),
]


def main() -> None:
    """Print the regime table: every figure with its chance level in parentheses."""
    import pandas as pd

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    quick = os.environ.get("SCCONCEPTS_REGIME_QUICK") == "1"
    start = time.perf_counter()
    table = regime_table(quick=quick)
    shown = table[["representation", "method", "n_components"]].copy()
    for value, chance in COLUMNS:
        if value in table:
            shown[value] = [
                "-" if not np.isfinite(v) else f"{v:.3f} ({c:.3f})" if np.isfinite(c) else f"{v:.3f}"
                for v, c in zip(table[value], table.get(chance, np.nan), strict=True)
            ]
    shown["accuracy"] = table["accuracy"].map(lambda v: f"{v:.3f}")
    shown["acc. gap"] = table.get("accuracy_gap", pd.Series(np.nan, index=table.index)).map(
        lambda v: "" if not np.isfinite(v) else f"{v:+.3f}"
    )
    load = os.getloadavg()[0]
    logger.info(
        "regime sweep: %.0f s, load average %.1f on %d cores", time.perf_counter() - start, load, os.cpu_count()
    )
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.max_colwidth", 30):
        print(shown.to_string(index=False))
    path = _cache() / "regime_table.csv"
    table.to_csv(path, index=False)
    logger.info("raw table: %s", path)
