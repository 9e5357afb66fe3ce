"""A small ``scconcepts run --tokens --layer layer_1`` folder on a tiny random scGPT checkpoint, built once per session.

The views of a token run (``info``, the explorer, the report, ``evaluate``) are tested on it; tests that change the
folder work on a copy.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import anndata as ad
import numpy as np

import scconcepts
from scconcepts.cli import main

from .models._checkpoints import make_tiny_scgpt

N_CELLS = 240
MAX_TOKENS_PER_CELL = 30


def build_token_run(root: Path) -> Path:
    """Write the tiny checkpoint and the cells under ``root``, run ``run --tokens`` and return the results folder."""
    cells = scconcepts.ds.pbmc68k()[:N_CELLS].copy()
    cells.write_h5ad(root / "cells.h5ad")
    checkpoint = make_tiny_scgpt(root / "ckpt", list(cells.var_names[:600]))
    out = root / "results"
    args = ["run", "--input", str(root / "cells.h5ad"), "--model", "scgpt", "--checkpoint", str(checkpoint),
            "--tokens", "--layer", "layer_1", "--max-tokens-per-cell", str(MAX_TOKENS_PER_CELL), "--regime", "sae",
            "--seeds", "1", "--k", "4", "--expansion", "2", "--epochs", "3", "--no-enrichment",
            "--attribution-cells", "2", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    return out


def copy_token_run(folder: Path, out: Path, *, rename: dict[str, str] | None = None,
                   attribution: np.ndarray | None = None) -> Path:  # fmt: skip
    """A copy of a token run folder, with genes renamed (in ``results.h5ad`` and the token store) and, when given,
    a counterfactual attribution in place of what ``varm["concepts_attribution"]`` held."""
    shutil.copytree(folder, out)
    adata = ad.read_h5ad(out / "results.h5ad")
    if rename:
        adata.var_names = [rename.get(g, g) for g in adata.var_names]
        meta = json.loads((out / "tokens" / "store.json").read_text())
        meta["gene_names"] = [rename.get(g, g) for g in meta["gene_names"]]
        (out / "tokens" / "store.json").write_text(json.dumps(meta))
    if attribution is not None:
        adata.varm["concepts_attribution"] = attribution
        adata.uns["concepts_attribution"] = {"source": "counterfactual"}
    adata.write_h5ad(out / "results.h5ad")
    return out
