"""tl.evaluate and `scconcepts evaluate DIR` on a small labelled embedding."""

import json

import pytest

from scconcepts import pl, tl
from scconcepts._errors import InputError
from scconcepts.cli import main
from scconcepts.results import new_results_folder

from ._typed import toy_cells, typed_embeddings

METHODS = ["sae", "neurons", "pca", "ica", "nmf", "dictionary"]


@pytest.fixture(scope="module")
def adata():
    cells = toy_cells(*typed_embeddings(n_cells=400, dim=6, n_atoms=6)[::2])
    tl.train_sae(cells, use_rep="X_toy", regime="sae", k=1, expansion=2, epochs=8, patience=3, lr=1e-2, input_noise=0.0)
    return cells


def test_evaluate_table_has_every_method_and_metric_with_spread(adata):
    result = tl.evaluate(adata, seeds=(0, 1), sweep_k=[1, 2], sweep_expansion=[2], epochs=8)
    table = result["table"]
    assert list(table.index) == METHODS
    for metric in ("r2", "l0", "dead_fraction", "accuracy", "purity", "ami", "pure_share"):
        assert table[metric].notna().all() and f"{metric}_std" in table
    assert (table["n_seeds"] == 2).all()
    assert table.loc["neurons", "r2"] == pytest.approx(1.0)
    assert table.loc["pca", "n_components"] == 6 and table.loc["nmf", "n_components"] == 12
    assert table.loc["sae", "l0"] <= 1 and table.loc["dictionary", "l0"] <= 1
    assert table.loc["sae", "r2"] > 0.8
    # held-out cells are the SAE run's test cells: every method measured on the same 15%
    assert result["params"]["n_cells_heldout"] == len(adata.uns["concepts"]["test_cells"]) == 60
    assert set(result["stability"]) == {"sae", "ica", "nmf", "dictionary"}
    assert 0 <= result["stability"]["sae"]["matched_cosine"] <= 1
    assert sorted(zip(result["sweep"]["k"], result["sweep"]["expansion"], strict=True)) == [(1, 2), (2, 2)]
    assert adata.uns["concepts_evaluation"] is result
    # every monosemanticity figure beside its chance level (permuted labels): 6 balanced types
    for metric in ("purity", "ami", "pure_share"):
        assert table[f"{metric}_chance"].notna().all()
    assert table["purity_chance"].between(1 / 6 - 0.05, 0.45).all()
    assert table["ami_chance"].abs().max() < 0.02
    assert table.loc["sae", "purity"] > table.loc["sae", "purity_chance"] + 0.3
    assert 0 < result["stability"]["sae"]["matched_cosine_chance"] < 1  # random atoms: 12 in 6 dimensions
    # selectivity: per cell type every method's best component (the same fits), the run's concepts, the chance
    selectivity = result["selectivity"]["table"]
    assert list(selectivity.index) == [f"type{t}" for t in range(6)]
    assert {*METHODS, "run", "chance"} <= set(selectivity.columns)
    assert selectivity["chance"].between(0.5, 0.7).all()
    assert (selectivity["sae"] > selectivity["chance"] + 0.25).all()  # one planted atom per type
    assert result["selectivity"]["mean"]["sae"] == pytest.approx(selectivity["sae"].mean())
    assert len(result["selectivity"]["concepts"]) == adata.obsm["X_concepts"].shape[1]

    import matplotlib

    matplotlib.use("Agg")
    ax = pl.evaluation(adata, metrics=("r2", "purity"))
    heights = [patch.get_height() for patch in ax.patches]
    assert len(heights) == 2 * len(METHODS)
    assert heights[0] == pytest.approx(table.loc["sae", "r2"])  # bars drawn method by method
    ax = pl.sweep(result, metric="l0")
    assert ax.images[0].get_array().shape == (2, 1)


def test_evaluate_refuses_a_missing_run(adata):
    with pytest.raises(InputError, match="train_sae"):
        tl.evaluate(adata, key="other")
    with pytest.raises(InputError, match="unknown baselines"):
        tl.evaluate(adata, methods=("pca", "umap"))


def test_cli_writes_evaluation_json(adata, tmp_path, capsys):
    out = tmp_path / "run"
    with new_results_folder(out) as folder:
        adata.write_h5ad(folder / "results.h5ad")
    assert main(["evaluate", str(out), "--seeds", "2", "--no-sweep", "--no-grounding", "--epochs", "5"]) == 0
    data = json.loads((out / "evaluation.json").read_text())
    assert [row["method"] for row in data["table"]] == METHODS
    assert data["params"]["seeds"] == [0, 1]
    assert "evaluation.json" in json.loads((out / "scconcepts.json").read_text())["files"]
    assert data["selectivity"]["table"][0]["label"] == "type0" and data["selectivity"]["mean"]["sae"] > 0.5
    assert {"top_label", "mass_share", "lift"} <= set(data["selectivity"]["concepts"][0])
    printed = capsys.readouterr().out
    assert "pure_share" in printed and "selectivity: per label" in printed
    assert main(["info", str(out)]) == 0
    sae = next(row for row in data["table"] if row["method"] == "sae")
    info = capsys.readouterr().out
    assert f"evaluation (2 seeds, SAE): R2 {sae['r2']:.4g}" in info
    assert "selectivity (best single component's AUROC per cell type, mean over 6): SAE" in info


def test_cli_bad_folder_is_a_one_line_error(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_unknown_second_dataset_is_a_one_line_error(adata, tmp_path, capsys):
    out = tmp_path / "run"
    with new_results_folder(out) as folder:
        adata.write_h5ad(folder / "results.h5ad")
    assert main(["evaluate", str(out), "--cross-dataset", "pbmc99", "--no-sweep", "--no-grounding"]) == 2
    err = capsys.readouterr().err
    assert "neither a bundled dataset (pbmc_sorted, pbmc68k, immune_sample) nor an existing file" in err
    assert len(err.strip().splitlines()) == 1
    assert not (out / "evaluation.json").exists()


@pytest.fixture(scope="module")
def two_datasets():
    """Two datasets drawn from the same planted atoms, and a third from other atoms."""
    shape = {"n_cells": 600, "dim": 6, "n_atoms": 6}
    first = toy_cells(*typed_embeddings(**shape, seed=3, cell_seed=1)[::2])
    tl.train_sae(
        first, use_rep="X_toy", regime="sae", k=1, expansion=1, epochs=30, patience=8, lr=1e-2, input_noise=0.0
    )
    same = toy_cells(*typed_embeddings(**shape, seed=3, cell_seed=2)[::2])
    other = toy_cells(*typed_embeddings(**shape, seed=4, cell_seed=2)[::2])
    return first, same, other


def test_cross_dataset_stability_tells_shared_atoms_from_different_ones(two_datasets):
    first, same, other = two_datasets
    options = {"seeds": (0, 1), "methods": ("pca", "ica"), "run_sweep": False, "epochs": 30}
    shared = tl.evaluate(first, other=same, other_name="same atoms", **options)["cross_dataset"]
    assert shared["name"] == "same atoms" and shared["n_cells"] == 600
    assert set(shared["methods"]) == {"sae", "pca", "ica"}
    assert shared["methods"]["sae"]["n_pairs"] == 4 and shared["methods"]["pca"]["n_pairs"] == 1
    apart = tl.evaluate(first, other=other, **options)["cross_dataset"]["methods"]
    # atoms of another space match poorly and are rarely reproduced above 0.9
    assert shared["methods"]["sae"]["matched_cosine"] > 0.8
    assert apart["sae"]["matched_cosine"] < shared["methods"]["sae"]["matched_cosine"] - 0.2
    assert apart["sae"]["reproduced"] < shared["methods"]["sae"]["reproduced"] - 0.2
    assert shared["methods"]["pca"]["reproduced"] == 1 and apart["pca"]["reproduced"] == 0


def test_cross_dataset_needs_the_same_embedding_space(two_datasets):
    first, same, _ = two_datasets
    missing = same.copy()
    del missing.obsm["X_toy"]
    with pytest.raises(InputError, match="encoder="):
        tl.evaluate(first, other=missing, seeds=(0,), methods=(), run_sweep=False, epochs=2)
    narrow = same.copy()
    narrow.obsm["X_toy"] = narrow.obsm["X_toy"][:, :3]
    with pytest.raises(InputError, match="same model"):
        tl.evaluate(first, other=narrow, seeds=(0,), methods=(), run_sweep=False, epochs=2)
