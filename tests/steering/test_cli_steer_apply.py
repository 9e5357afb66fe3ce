"""`scconcepts steer` and `scconcepts apply` on a real (tiny) scVI run: outputs, and one line + exit 2 on bad input."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from scconcepts.cli import main
from scconcepts.results import read_manifest

pytestmark = pytest.mark.slow


def _busy(folder):
    table = pd.read_csv(folder / "concepts.csv", index_col=0)
    return int(table["frequency"].idxmax())


def test_steer_writes_table_uns_and_report(scvi_run):
    folder, _ = scvi_run
    concept = _busy(folder)
    assert (
        main(["steer", str(folder), "--concept", str(concept), "--value", "off", "--n-null", "3", "--no-enrichment"])
        == 0
    )
    assert (
        main(["steer", str(folder), "--concept", str(concept), "--value", "x2", "--n-null", "3", "--no-enrichment"])
        == 0
    )
    table = pd.read_csv(folder / "steering.csv")
    assert set(table["value"]) == {"off", "x2"} and set(table["concept"]) == {concept}
    assert table.groupby("value").size().nunique() == 1  # one row per model gene for each run
    off, up = (table[table["value"] == v].set_index("gene")["lfc"] for v in ("off", "x2"))
    assert np.corrcoef(off, up[off.index])[0, 1] < 0  # switching off and doubling move genes in opposite ways
    adata = ad.read_h5ad(folder / "results.h5ad")
    assert adata.uns["concepts_steering"]["concept"] == concept
    assert "steering.csv" in read_manifest(folder)["files"]
    report = (folder / "report.html").read_text()
    assert 'id="steering"' in report and f"concept {concept}" in report.lower()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--concept", "999"], "unknown concept"),
        (["--concept", "0", "--value", "plenty"], "not understood"),
        (["--concept", "0", "--cells", "not a type =="], "neither a cell type"),
    ],
)
def test_steer_bad_input_one_line_exit_2(scvi_run, capsys, args, message):
    folder, _ = scvi_run
    before = (folder / "results.h5ad").stat().st_mtime_ns
    assert main(["steer", str(folder), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert (folder / "results.h5ad").stat().st_mtime_ns == before


def test_apply_training_cells_get_the_run_activations(scvi_run, tmp_path):
    folder, cells = scvi_run
    out = tmp_path / "applied"
    assert main(["apply", str(folder), "--input", str(cells), "--out", str(out)]) == 0
    run = ad.read_h5ad(folder / "results.h5ad")
    new = ad.read_h5ad(out / "results.h5ad")
    np.testing.assert_allclose(new.obsm["X_scvi"], run.obsm["X_scvi"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(new.obsm["X_concepts"].toarray(), run.obsm["X_concepts"].toarray(), atol=1e-5)
    assert list(new.uns["concepts"]["table"]["label"]) == list(run.uns["concepts"]["table"]["label"])
    assert (out / "report.html").is_file() and (out / "model").is_dir() and (out / "sae").is_dir()
    assert main(["steer", str(out), "--concept", str(_busy(folder)), "--n-null", "2", "--no-enrichment"]) == 0


def test_apply_wrong_genes_one_line_exit_2(scvi_run, tmp_path, capsys):
    folder, cells = scvi_run
    adata = ad.read_h5ad(cells)
    adata.var_names = [f"X{i}" for i in range(adata.n_vars)]
    bad = tmp_path / "bad.h5ad"
    adata.write_h5ad(bad)
    assert main(["apply", str(folder), "--input", str(bad), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "genes" in err[0]
    assert not (tmp_path / "out").exists()


def test_steer_and_apply_on_the_cpu_device(scvi_run, tmp_path):
    folder, cells = scvi_run
    concept = str(_busy(folder))
    args = ["--concept", concept, "--n-null", "2", "--no-enrichment", "--device", "cpu"]
    assert main(["steer", str(folder), *args]) == 0
    assert ad.read_h5ad(folder / "results.h5ad").uns["concepts_steering"]["concept"] == int(concept)
    out = tmp_path / "applied_cpu"
    assert main(["apply", str(folder), "--input", str(cells), "--out", str(out), "--device", "cpu"]) == 0
    run = ad.read_h5ad(folder / "results.h5ad")
    new = ad.read_h5ad(out / "results.h5ad")
    np.testing.assert_allclose(new.obsm["X_concepts"].toarray(), run.obsm["X_concepts"].toarray(), atol=1e-5)


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a CUDA GPU")
def test_steer_and_apply_refuse_an_absent_gpu_and_leave_the_run_alone(scvi_run, tmp_path, capsys):
    folder, cells = scvi_run
    before = {path.name: path.stat().st_mtime_ns for path in folder.iterdir()}
    assert main(["steer", str(folder), "--concept", str(_busy(folder)), "--device", "cuda"]) == 2
    assert main(["apply", str(folder), "--input", str(cells), "--out", str(tmp_path / "out"), "--device", "cuda"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all("no CUDA GPU" in line for line in err)
    assert {path.name: path.stat().st_mtime_ns for path in folder.iterdir()} == before
    assert not (tmp_path / "out").exists()


def test_steer_toward_writes_rows_uns_and_report(scvi_run):
    folder, _ = scvi_run
    source, target = "CD19+ B", "CD14+ Monocyte"
    args = ["--cells", source, "--toward", target, "--labels-key", "cell_type", "--n-null", "3", "--n-draws", "2"]
    assert main(["steer", str(folder), *args]) == 0
    table = pd.read_csv(folder / "steering.csv")
    toward = table[table["toward"].notna()]
    assert set(toward["value"]) == {f"toward {target}"} and set(toward["cells"]) == {source}
    assert (toward["concept"] == -1).all() and toward["de_rank"].notna().sum() == 20
    result = ad.read_h5ad(folder / "results.h5ad").uns["concepts_steering"]["toward"]
    assert result["toward"] == target and 1 <= result["n_concepts"] <= result["n_dictionary"]
    assert set(result["controls"]["control"]) == {
        "steered",
        "sign_flipped",
        "random_concepts",
        "random_directions",
        "centroid",
    }
    report = (folder / "report.html").read_text()
    assert 'id="steering-toward"' in report and "random concepts" in report


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cells", "CD19+ B", "--toward", "no such type"], "neither a cell type"),
        (["--cells", "CD19+ B", "--toward", "CD19+ B"], "same cells"),
        (["--cells", "CD19+ B", "--toward", "n_counts < 0"], "matches no cell"),
        (["--toward", "CD19+ B"], "needs --cells"),
        (["--cells", "CD19+ B"], "name a concept"),
    ],
)
def test_steer_toward_bad_input_one_line_exit_2(scvi_run, capsys, args, message):
    folder, _ = scvi_run
    before = (folder / "results.h5ad").stat().st_mtime_ns
    assert main(["steer", str(folder), "--labels-key", "cell_type", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert (folder / "results.h5ad").stat().st_mtime_ns == before
