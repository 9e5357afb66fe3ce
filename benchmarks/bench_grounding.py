"""Grounding of a run's concepts against random directions, PCA axes and neurons, at several perturbed-cell counts.

For an ``scconcepts run`` folder (``SCCONCEPTS_BENCH_RUN=DIR``, e.g. ``results/demo``; without it the demo
pipeline runs in a temporary folder first), every set of components goes through the same attribution (exact
re-encoding of its top cells) and GO BP enrichment as the run's concepts: the run's concepts, 5 draws of as
many random unit directions (oriented to their heavy tail, clipped at zero), and both sides of each PCA axis
and each neuron. Printed per set and per count of perturbed cells (``SCCONCEPTS_BENCH_CELLS``, default
``50,200``): the share with a term, the distinct top terms per component, and the calibration check (the
concepts' scores permuted over genes: the share of concepts still given a term, which should stay <= 5%).
"""

from __future__ import annotations

import logging
import os
import time

import numpy as np

logger = logging.getLogger(__name__)

N_DRAWS = 5


def _component_sets(adata, sae, n_concepts: int) -> dict:
    """Name -> (embeddings -> activations as numpy, activations of every cell)."""
    import torch
    from sklearn.decomposition import PCA

    from scconcepts.evaluation._grounding import both_sides
    from scconcepts.evaluation._monosemanticity import orientation
    from scconcepts.stats import random_unit_atoms

    embedding = np.asarray(adata.obsm[str(adata.uns["concepts"]["params"]["use_rep"])], dtype=np.float64)
    centre = embedding.mean(axis=0)

    def concepts(new: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return sae.encode(torch.as_tensor(new, dtype=torch.float32)).double().numpy()

    sets = {"concepts": concepts}
    for draw in range(N_DRAWS):
        atoms = random_unit_atoms(n_concepts, embedding.shape[1], seed=draw)
        signs = orientation((embedding - centre) @ atoms.T)
        sets[f"random directions {draw}"] = lambda new, a=atoms, s=signs: ((new - centre) @ a.T) * s
    pca = PCA().fit(embedding)
    sets["PCA, both sides"] = both_sides(pca.transform)
    sets["neurons, both sides"] = both_sides(lambda new: new - centre)
    return {name: (f, f(embedding)) for name, f in sets.items()}


def _shuffled_share(adata, key: str, seed: int) -> float:
    """Share of components given a term when their scores are permuted over the genes the model read."""
    from scconcepts import tl
    from scconcepts._keys import attribution_key

    scratch = adata.copy()
    scores = np.asarray(scratch.varm[attribution_key(key)]).copy()
    read = np.flatnonzero(np.isfinite(scores).any(axis=1))
    scores[read] = scores[np.random.default_rng(seed).permutation(read)]
    scratch.varm[attribution_key(key)] = scores
    tl.enrich(scratch, key=key, rankings=["attribution"])
    return float(next(iter(tl.enrichment_summary(scratch, key=key)["concepts_with_term"].values())))


def main() -> None:
    """Print each component set's grounding at each perturbed-cell count."""
    import scipy.sparse as sp
    import torch

    from benchmarks.bench_steering import _run_folder
    from scconcepts import tl
    from scconcepts._keys import activations_key, enrichment_key
    from scconcepts.cli._common import load_run_models
    from scconcepts.evaluation._grounding import distinct_shares, oriented_function
    from scconcepts.results import read_results

    torch.set_num_threads(1)
    folder = _run_folder()
    adata = read_results(folder)
    encoder, sae = load_run_models(folder)
    n_concepts = adata.obsm[activations_key("concepts")].shape[1]
    sets = _component_sets(adata, sae, n_concepts)
    for n_cells in [int(n) for n in os.environ.get("SCCONCEPTS_BENCH_CELLS", "50,200").split(",")]:
        logger.info("-- %d perturbed cells per component --", n_cells)
        for name, (transform, values) in sets.items():
            start = time.perf_counter()
            key = "bench_" + name.replace(" ", "_").replace(",", "")
            activations = np.clip(values, 0, None)
            scratch = adata.copy()
            scratch.obsm[activations_key(key)] = sp.csr_matrix(activations, dtype=np.float32)
            components = oriented_function(transform, np.ones(activations.shape[1]))
            tl.attribute(scratch, encoder=encoder, sae=components, key=key, engine="exact", n_cells=n_cells)
            tl.enrich(scratch, key=key, rankings=["attribution"])
            share = next(iter(tl.enrichment_summary(scratch, key=key)["concepts_with_term"].values()))
            distinct = next(iter(distinct_shares(scratch.uns[enrichment_key(key)], n_components=activations.shape[1],
                                                 alpha=0.05).values()), 0.0)  # fmt: skip
            shuffled = ""
            if name == "concepts":
                permuted = np.mean([_shuffled_share(scratch, key, seed) for seed in range(3)])
                shuffled = f"; scores permuted over genes: {permuted:.2f}"
            logger.info("%-22s %2d components: share with a term %.2f, distinct top terms per component %.2f%s "
                        "(%.0f s)", name, activations.shape[1], share, distinct, shuffled,
                        time.perf_counter() - start)  # fmt: skip
