"""Planted programs on real cells: does a program shared across cell types get a concept of its own?

The FACS-sorted PBMC counts get two planted gene programs (see ``benchmarks/_planted_programs.py``): 30 genes
raised to an expected ``3 x count + 0.5`` in a random half of the cells of every type (shared), and 30 other
genes in a random half of one type (CD4TN). The genes are moderately detected ones (5-50% of cells), so the
shared genes go from 0.15 to 0.94 counts per cell on average, detected in 10% then 45% of the cells. The model
is then trained as users would (``scconcepts run --dataset pbmc_sorted --model scvi``: ``tl.embed`` with
scVI's defaults, ``tl.train_sae`` and ``tl.attribute`` with theirs) and, for each planted program and each
sorted type, the table gives the best concept's AUROC beside its chance level (the same maximum against
permuted labels), the best neuron's, PC's and IC's (either sign), a cross-validated logistic-regression probe
on the embedding (the linear ceiling) and, for the programs, the projection on the planted shift (the mean of
the per-type planted-minus-unplanted shifts, learnt on half of the cells and scored on the other half) and how
many planted genes are in the best concept's top-20 attributed genes. The type-restricted program is scored
within its type (planted against unplanted cells of that type: a concept marking the whole type scores 0.5
there) and over all cells.

``python -m benchmarks programs`` prints the table and writes it as JSON to ``SCCONCEPTS_PROGRAMS_OUT``
(default ``.cache/programs/programs.json``; ``python -m benchmarks.bench_programs --out PATH`` also works).
The scVI model trained on the planted cells is cached under ``.cache/programs/`` (``SCCONCEPTS_PROGRAMS_CACHE``);
torch uses ``OMP_NUM_THREADS`` threads (default 2 here).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._best_auroc import best_auroc, column_aurocs, linear_components, permuted_best, probe_auroc
from benchmarks._planted_programs import PlantingSettings, plant_programs

logger = logging.getLogger("benchmarks.programs")

KEY = "concepts"
LABELS_KEY = "cell_type"
TOP_GENES = 20
#: What issue 21 asks of the default regime (for the pass/fail column).
TARGETS = {"shared": 0.95, "type": 0.9, "cell type": 0.85}


def _cache() -> Path:
    default = Path(__file__).resolve().parents[1] / ".cache" / "programs"
    path = Path(os.environ.get("SCCONCEPTS_PROGRAMS_CACHE", default))
    path.mkdir(parents=True, exist_ok=True)
    return path


def trained(settings: PlantingSettings) -> tuple[Any, Any, Any]:
    """Plant the programs, then embed (scVI defaults, cached), train the SAE and attribute, as ``scconcepts run``."""
    from scconcepts import ds, tl
    from scconcepts._device import resolve_device
    from scconcepts.models import load_encoder

    adata = plant_programs(ds.pbmc_sorted(), labels_key=LABELS_KEY, settings=settings)
    device = str(resolve_device("auto"))
    folder = _cache() / f"scvi_planted_seed{settings.seed}_fold{settings.fold:g}_floor{settings.floor:g}"
    start = time.perf_counter()
    if (folder / "encoder.json").is_file():
        encoder = load_encoder(folder)
        tl.embed(adata, model=encoder, device=device)
    else:
        encoder = tl.embed(adata, model="scvi", n_latent=10, device=device)
        encoder.save(folder)
    logger.info("scVI: %.0f s", time.perf_counter() - start)
    start = time.perf_counter()
    result = tl.train_sae(adata, use_rep=encoder.obsm_key, key_added=KEY, labels_key=LABELS_KEY, device=device)
    logger.info("SAE: %.0f s", time.perf_counter() - start)
    start = time.perf_counter()
    tl.attribute(adata, encoder=encoder, sae=result.sae, key=KEY)
    logger.info("attribution: %.0f s", time.perf_counter() - start)
    return adata, encoder, result


def shift_projection(embedding: np.ndarray, target: np.ndarray, groups: np.ndarray, seed: int = 0) -> dict:
    """AUROC of the projection on the planted shift, learnt on half of the cells and scored on the other half.

    The shift is the mean over ``groups`` (cell types) of each group's unit planted-minus-unplanted mean
    difference; ``cosine`` is the mean pairwise cosine of the per-group shifts (all cells; NaN for one group).
    """
    rng = np.random.default_rng(seed)
    fit = rng.random(len(target)) < 0.5

    def shifts(rows: np.ndarray) -> np.ndarray:
        out = []
        for group in np.unique(groups):
            on, off = rows & (groups == group) & target, rows & (groups == group) & ~target
            if on.any() and off.any():
                delta = embedding[on].mean(axis=0) - embedding[off].mean(axis=0)
                out.append(delta / np.linalg.norm(delta))
        return np.asarray(out)

    direction = shifts(fit).mean(axis=0)
    auroc = float(column_aurocs((embedding[~fit] @ direction)[:, None], target[~fit])[0])
    every = shifts(np.ones(len(target), dtype=bool))
    pairs = (every @ every.T)[np.triu_indices(len(every), k=1)]
    return {"auroc": auroc, "cosine": float(pairs.mean()) if len(pairs) else float("nan")}


def measure(
    name: str, target: np.ndarray, rows: np.ndarray, representations: dict, embedding: np.ndarray, seed: int = 0
) -> dict[str, Any]:
    """Best concept / neuron / PC / IC AUROC, the concepts' chance level and the probe for one target on ``rows``."""
    target = np.asarray(target, dtype=bool)[rows]
    concepts = representations["concept"][rows]
    record: dict[str, Any] = {"target": name, "n_positive": int(target.sum()), "n_cells": len(target)}
    record["concept"], record["concept_index"] = best_auroc(concepts, target, signed=False)
    record["chance"] = permuted_best(concepts, target, seed=seed)
    for kind in ("neuron", "PC", "IC"):
        record[kind] = best_auroc(representations[kind][rows], target, signed=True)[0]
    record["probe"] = probe_auroc(embedding[rows], target, seed=seed)
    return record


def top_genes(adata, concept: int, n: int = TOP_GENES) -> list[str]:
    """The ``n`` genes with the highest (specific) attribution score for ``concept``."""
    from scconcepts._keys import attribution_key

    scores = np.asarray(adata.varm[attribution_key(KEY)])[:, concept]
    return adata.var_names[np.argsort(-scores, kind="stable")[:n]].astype(str).tolist()


def programs_table(settings: PlantingSettings | None = None) -> dict[str, Any]:
    """Run the benchmark; return the records (one per target) and the run's facts, JSON-ready."""
    from scconcepts._keys import activations_key, params_key

    settings = settings or PlantingSettings()
    start = time.perf_counter()
    adata, encoder, _ = trained(settings)
    embedding = np.asarray(adata.obsm[encoder.obsm_key], dtype=np.float64)
    activations = adata.obsm[activations_key(KEY)].tocsr()
    representations = {"concept": activations, **linear_components(embedding, seed=settings.seed)}
    labels = adata.obs[LABELS_KEY].astype(str).to_numpy()
    everyone = np.arange(adata.n_obs)
    planted = adata.uns["planted_programs"]
    in_type = np.flatnonzero(labels == settings.restricted_type)
    read = set(encoder.genes)

    shared, restricted = adata.obs["planted_shared"].to_numpy(), adata.obs["planted_type"].to_numpy()
    programs = [
        ("shared", "shared program", shared, everyone),
        ("type", f"{settings.restricted_type} program (within type)", restricted, in_type),
        ("type", f"{settings.restricted_type} program (all cells)", restricted, everyone),
    ]
    records = []
    for program, name, target, rows in programs:
        record = measure(name, target, rows, representations, embedding, seed=settings.seed)
        genes = top_genes(adata, record["concept_index"])
        record["planted_in_top20"] = len(set(genes) & set(planted[program]))
        record["planted_read_by_model"] = len(read & set(planted[program]))
        shift = shift_projection(embedding[rows], np.asarray(target, bool)[rows], labels[rows], seed=settings.seed)
        record["shift_projection"], record["shift_cosine"] = shift["auroc"], shift["cosine"]
        record["top20"] = genes
        record["required"] = TARGETS[program]
        records.append(record)
    for cell_type in sorted(set(labels)):
        record = measure(cell_type, labels == cell_type, everyone, representations, embedding, seed=settings.seed)
        record["required"] = TARGETS["cell type"]
        records.append(record)

    info = adata.uns[params_key(KEY)]
    firing = np.diff(activations.tocsc().indptr) / adata.n_obs
    return {
        "records": records,
        "planted": {name: _plain(value) for name, value in planted.items()},
        "sae": {
            "n_concepts": int(activations.shape[1]),
            "params": {name: _plain(value) for name, value in info["params"].items()},
            "metrics": {name: _plain(value) for name, value in info["metrics"].items()},
            "median_firing_share": float(np.median(firing)),
        },
        "seconds": time.perf_counter() - start,
    }


def _plain(value: Any) -> Any:
    """A JSON-ready copy of a numpy scalar or array (other values as they are)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def format_table(records: list[dict[str, Any]]) -> str:
    """One line per target: concept (chance), neuron, PC, IC, probe, shift projection, planted genes in top-20."""
    import pandas as pd

    def fig(value: Any) -> str:
        return "" if value is None or (isinstance(value, float) and not np.isfinite(value)) else f"{value:.3f}"

    rows = []
    for record in records:
        genes = record.get("planted_in_top20")
        rows.append(
            {
                "target": record["target"],
                "cells +/all": f"{record['n_positive']}/{record['n_cells']}",
                "concept (chance)": f"{fig(record['concept'])} ({fig(record['chance'])})",
                "c#": record["concept_index"],
                "neuron": fig(record["neuron"]),
                "PC": fig(record["PC"]),
                "IC": fig(record["IC"]),
                "probe": fig(record["probe"]),
                "shift proj.": fig(record.get("shift_projection")),
                "shifts' cos": fig(record.get("shift_cosine")),
                "planted in top-20 (of read)": ""
                if genes is None
                else f"{genes} (of {record['planted_read_by_model']})",
                f">= {'/'.join(f'{v:g}' for v in sorted(set(TARGETS.values())))}": (
                    "ok" if record["concept"] >= record["required"] else f"FAIL (< {record['required']:g})"
                ),
            }
        )
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        return pd.DataFrame(rows).to_string(index=False)


def report(result: dict[str, Any]) -> None:
    """Print the table and log the run's facts (also to re-show a written JSON: ``report(json.load(...))``)."""
    sae = result["sae"]
    print(format_table(result["records"]))
    logger.info(
        "SAE defaults: %d concepts, held-out R^2 %.3f, median concept fires on %.0f%% of cells; %.0f s in all",
        sae["n_concepts"],
        sae["metrics"].get("r2", float("nan")),
        100 * sae["median_firing_share"],
        result["seconds"],
    )
    shared = result["records"][0]
    logger.info("shared program's best concept (%d), top-20 genes: %s", shared["concept_index"], shared["top20"])
    logger.info("planted shared genes: %s", result["planted"]["shared"])


def run(out: Path | None = None) -> dict[str, Any]:
    """Run, print the table and write the JSON (to ``out``, else ``SCCONCEPTS_PROGRAMS_OUT``, else the cache)."""
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    result = programs_table()
    report(result)
    path = out or Path(os.environ.get("SCCONCEPTS_PROGRAMS_OUT", _cache() / "programs.json"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=_plain))
    logger.info("JSON: %s", path)
    return result


def main() -> None:
    """Entry point of ``python -m benchmarks programs``."""
    run()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="JSON file to write (default: SCCONCEPTS_PROGRAMS_OUT or the cache)")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    run(parser.parse_args().out)
