import numpy as np
import pytest

import scconcepts as scc


@pytest.fixture(scope="session")
def tiny_scvi():
    """A small scVI model (2 epochs) and SAE on 300 PBMC cells: ``(adata, encoder, sae)``."""
    adata = scc.ds.pbmc68k()[:300].copy()
    encoder = scc.tl.embed(adata, model="scvi", n_latent=6, n_top_genes=300, max_epochs=2, early_stopping=False)
    plain = {"n_seeds": 1, "atom_init": "random"}  # one SAE from a random start
    result = scc.tl.train_sae(adata, use_rep="X_scvi", regime="sae", k=3, expansion=2, epochs=2, seed=0, **plain)
    assert np.isfinite(adata.obsm["X_scvi"]).all()
    return adata, encoder, result.sae


@pytest.fixture(scope="session")
def scvi_run(tmp_path_factory):
    """A results folder of `scconcepts run` on 300 PBMC cells (2 scVI epochs, no attribution) and its input."""
    from scconcepts.cli import main

    folder = tmp_path_factory.mktemp("steer_run")
    cells = folder / "cells.h5ad"
    scc.ds.pbmc68k()[:300].copy().write_h5ad(cells)
    out = folder / "run"
    code = main(
        [
            "run",
            "--input",
            str(cells),
            "--out",
            str(out),
            "--n-latent",
            "6",
            "--max-epochs",
            "2",
            "--regime",
            "sae",
            "--k",
            "3",
            "--expansion",
            "2",
            "--epochs",
            "2",
            "--no-attribution",
        ]
    )
    assert code == 0
    return out, cells
