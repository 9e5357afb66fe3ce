"""`run` / `attribute` with `--workers N`: embedding and attribution on a local dask cluster equal one process's."""

import shutil

import anndata as ad
import numpy as np
import pytest

import scconcepts
from scconcepts.cli import main

from ..models._checkpoints import make_tiny_scgpt


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    genes = list(scconcepts.ds.pbmc68k().var_names[:600])
    return make_tiny_scgpt(tmp_path_factory.mktemp("scgpt") / "ckpt", genes)


def _run(checkpoint, out, *extra):
    args = [
        "run",
        "--dataset",
        "pbmc68k",
        "--model",
        "scgpt",
        "--checkpoint",
        str(checkpoint),
        "--regime",
        "sae",
        "--k",
        "4",
    ]
    args += ["--expansion", "2", "--epochs", "3", "--no-attribution", "--out", str(out), *extra]
    assert main(args) == 0
    return ad.read_h5ad(out / "results.h5ad")


@pytest.mark.slow
def test_run_and_attribute_on_two_workers_equal_one_process(checkpoint, tmp_path):
    there = _run(checkpoint, tmp_path / "there", "--workers", "2", "--seeds", "2")
    here = scconcepts.ds.pbmc68k()
    scconcepts.tl.embed(here, model="scgpt", checkpoint=checkpoint)
    np.testing.assert_allclose(there.obsm["X_scgpt"], here.obsm["X_scgpt"], atol=1e-6, rtol=0)
    # the consensus seed runs went to the workers: the same concepts as training them here, on the same embedding
    here.obsm["X_scgpt"] = there.obsm["X_scgpt"]
    scconcepts.tl.train_sae(
        here, use_rep="X_scgpt", regime="sae", k=4, expansion=2, epochs=3, n_seeds=2, labels_key="cell_type"
    )
    # 1e-6 of the activations' scale: float32 training in another process may round a few ulps differently
    scale = max(1.0, abs(here.obsm["X_concepts"]).max())
    assert abs(there.obsm["X_concepts"] - here.obsm["X_concepts"]).max() <= 1e-6 * scale
    mine, theirs = here.uns["concepts"]["table"], there.uns["concepts"]["table"]
    np.testing.assert_allclose(theirs["matched_cosine"], mine["matched_cosine"], atol=1e-6)
    assert there.uns["concepts"]["params"]["n_seeds"] == 2

    shutil.copytree(tmp_path / "there", tmp_path / "here")
    attribute = ["attribute", "--method", "mask", "--n-cells", "10"]
    assert main([*attribute[:1], str(tmp_path / "here"), *attribute[1:]]) == 0
    assert main([*attribute[:1], str(tmp_path / "there"), *attribute[1:], "--workers", "2"]) == 0
    single = ad.read_h5ad(tmp_path / "here" / "results.h5ad").varm["concepts_attribution"]
    spread = ad.read_h5ad(tmp_path / "there" / "results.h5ad").varm["concepts_attribution"]
    assert np.abs(single).max() > 0
    # chunks batch the perturbed cells differently, so float32 forwards round differently (~1e-6 of a score)
    np.testing.assert_allclose(spread, single, atol=1e-5, rtol=0)


def test_scheduler_and_workers_together_are_refused(checkpoint, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        _run(checkpoint, tmp_path / "both", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1")
    assert exit_info.value.code == 2
    assert "not allowed with" in capsys.readouterr().err
    assert not (tmp_path / "both").exists()
