"""tl.token_activations on Dask workers: parts of cells written on workers, joined in cell order, equal one process."""

from __future__ import annotations

import numpy as np
import pytest

import scconcepts
from scconcepts import tl
from scconcepts.models._registry import build_encoder

from ..models._checkpoints import make_tiny_geneformer, make_tiny_scgpt

N_CELLS = 40


@pytest.fixture(scope="module")
def pbmc():
    return scconcepts.ds.pbmc68k()[:N_CELLS].copy()


@pytest.mark.parametrize(("model", "sample"), [("scgpt", 30), ("geneformer", None)])
def test_worker_store_equals_the_in_process_store(model, sample, pbmc, cluster_client, tmp_path):
    make = make_tiny_scgpt if model == "scgpt" else make_tiny_geneformer
    encoder = build_encoder(model, pbmc, checkpoint=make(tmp_path / model, list(pbmc.var_names)))
    options = {"layer": "layer_1", "max_tokens_per_cell": sample, "batch_size": 8}
    here = tl.token_activations(pbmc, encoder, path=tmp_path / "here", **options)
    there = tl.token_activations(pbmc, encoder, path=tmp_path / "stores" / "there", client=cluster_client,
                                 chunk_size=15, **options)  # fmt: skip
    assert there.n_tokens == here.n_tokens > N_CELLS and there.n_cells == N_CELLS
    np.testing.assert_array_equal(there.cells, here.cells)
    np.testing.assert_array_equal(there.genes, here.genes)
    np.testing.assert_allclose(there.states, here.states, rtol=1e-5, atol=1e-5)
    assert (there.cls is None) == (here.cls is None)
    if here.cls is not None:
        np.testing.assert_allclose(there.cls, here.cls, rtol=1e-5, atol=1e-5)
    assert there.info == here.info and there.gene_names == here.gene_names
    assert [p.name for p in (tmp_path / "stores").iterdir()] == ["there"]  # the parts are gone
    assert encoder.layer == encoder.default_layer


def test_run_tokens_with_workers_reads_the_same_token_store(token_run, tmp_path):
    """`run --tokens --workers 2` reads the token states on the workers: the store equals the one-process run's."""
    from tests._token_run import MAX_TOKENS_PER_CELL

    from scconcepts.cli import main
    from scconcepts.models._token_store import open_store

    root, out = token_run.parent, tmp_path / "out"
    args = ["run", "--input", str(root / "cells.h5ad"), "--model", "scgpt", "--checkpoint", str(root / "ckpt"),
            "--tokens", "--layer", "layer_1", "--max-tokens-per-cell", str(MAX_TOKENS_PER_CELL), "--regime", "sae",
            "--seeds", "1", "--k", "4", "--expansion", "2", "--epochs", "3", "--no-enrichment", "--no-attribution",
            "--workers", "2", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    there, here = open_store(out / "tokens"), open_store(token_run / "tokens")
    assert there.n_tokens == here.n_tokens
    np.testing.assert_array_equal(np.asarray(there.cells), np.asarray(here.cells))
    np.testing.assert_array_equal(np.asarray(there.genes), np.asarray(here.genes))
    np.testing.assert_allclose(np.asarray(there.states), np.asarray(here.states), atol=1e-5)
