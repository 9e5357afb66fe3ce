"""``scconcepts layers`` on the tiny Geneformer checkpoint: the table logged and written, bad input in one line."""

import logging

import pandas as pd
import pytest

from scconcepts.cli import main

from ..models._checkpoints import make_tiny_geneformer, make_tiny_scgpt


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory, pbmc_counts):
    genes = list(pbmc_counts.var_names[:600])
    folder = tmp_path_factory.mktemp("layers")
    return {"geneformer": make_tiny_geneformer(folder / "gf", genes), "scgpt": make_tiny_scgpt(folder / "sg", genes)}


def _layers(checkpoint, *args, model="geneformer"):
    return main(["layers", "--dataset", "pbmc68k", "--model", model, "--checkpoint", str(checkpoint), *args])


def _one_line(capsys, fragment):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("scconcepts layers: error:") and fragment in err, err


def test_table_logged_and_written_then_not_written_over(checkpoints, tmp_path, capsys, caplog):
    out = tmp_path / "layers.csv"
    options = ["--layers", "layer_3,layer_1", "--n-cells", "120", "--epochs", "2", "--max-tokens-per-cell", "4"]
    with caplog.at_level(logging.INFO):
        assert _layers(checkpoints["geneformer"], *options, "--out", str(out)) == 0
    table = pd.read_csv(out)
    assert table["layer"].tolist() == ["layer_1", "layer_3"]
    assert (table["n_cells"] == 120).all() and table[["probe", "probe_null", "sae_r2", "pca_r2"]].notna().all().all()
    logged = caplog.text
    assert "probe (null)" in logged and "PCA R^2 (8 comp.)" in logged and "layer_3" in logged
    written = out.read_bytes()
    assert _layers(checkpoints["geneformer"], *options, "--out", str(out)) == 2
    _one_line(capsys, "exists; pass --overwrite")
    assert out.read_bytes() == written
    assert not list(tmp_path.glob(".*partial*"))


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--layers", "layer_7"], "has no layer 'layer_7'; choose from layer_0, layer_1, layer_2, layer_3"),
        (["--layers", "7,8"], "--layers takes comma-separated layer_<i> names"),
        (["--labels-key", "tissue"], "--labels-key 'tissue' is not a column"),
        (["--out", "table.txt"], "must end in .csv"),
    ],
)
def test_bad_input_is_one_line(checkpoints, tmp_path, capsys, args, fragment):
    assert _layers(checkpoints["geneformer"], *args) == 2
    _one_line(capsys, fragment)


def test_a_model_without_token_layers_is_refused_before_reading_the_cells(capsys, monkeypatch):
    def read(args):
        raise AssertionError("the cells were read")

    monkeypatch.setattr("scconcepts.cli._layers.load_cells", read)
    assert main(["layers", "--dataset", "pbmc68k", "--model", "scvi"]) == 2
    _one_line(capsys, "--model scgpt or geneformer (got 'scvi'")


def test_scgpt_layers_by_default(checkpoints, capsys, caplog):
    with caplog.at_level(logging.INFO):
        assert _layers(checkpoints["scgpt"], "--n-cells", "60", "--epochs", "1", model="scgpt") == 0
    assert "layer_1" in caplog.text and "layer_2" in caplog.text
