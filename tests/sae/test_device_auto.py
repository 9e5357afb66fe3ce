"""``device="auto"`` works from Python as from the command line: training and evaluation resolve it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scconcepts import tl
from scconcepts._errors import InputError
from scconcepts.sae import SAEConfig, train

from ._planted import planted_embeddings


def test_auto_device_trains_where_torch_runs():
    data = planted_embeddings(n_cells=300)[0]
    result = train(data, SAEConfig(k=2, expansion=2, epochs=3, device="auto"))
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert result.sae.W_dec.device.type == expected
    with pytest.raises(InputError, match="unknown device"):
        train(data, SAEConfig(k=2, expansion=2, epochs=3, device="tpu9"))


def test_evaluate_accepts_auto():
    import anndata as ad

    data = planted_embeddings(n_cells=300)[0]
    cells = ad.AnnData(np.zeros((len(data), 1), dtype=np.float32))
    cells.obsm["X_toy"] = data
    tl.train_sae(cells, use_rep="X_toy", regime="sae", k=2, expansion=2, epochs=3, n_seeds=1)
    result = tl.evaluate(cells, seeds=(0,), methods=("neurons",), device="auto", epochs=3, run_sweep=False)
    assert np.isfinite(result["table"].loc["sae", "r2"])
