"""The evaluation's seeds, baselines, grounding and second-dataset fits on two dask workers equal one process's."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from scconcepts import tl
from scconcepts.cli import main
from scconcepts.models import TorchEncoder
from scconcepts.results import new_results_folder

from ..evaluation._typed import program_counts, toy_cells, typed_embeddings

N_PROGRAMS, PROGRAM_SIZE, N_GENES, CELLS_PER_GROUP = 3, 20, 90, 80


def _program(p):
    return list(range(p * PROGRAM_SIZE, (p + 1) * PROGRAM_SIZE))


def _program_encoder(genes):
    """Embedding dimension p reads only the genes of program p (torch's own modules: they pickle by name)."""
    torch.manual_seed(0)
    hidden, out = nn.Linear(N_GENES, 3 * N_PROGRAMS), nn.Linear(3 * N_PROGRAMS, N_PROGRAMS)
    with torch.no_grad():
        hidden.weight.zero_()
        out.weight.zero_()
        for p in range(N_PROGRAMS):
            units = list(range(3 * p, 3 * p + 3))
            hidden.weight[np.ix_(units, _program(p))] = torch.rand(3, PROGRAM_SIZE) * 0.02 + 0.01
            out.weight[p, units] = torch.rand(3) + 0.5
        hidden.bias.fill_(-1.0)
        out.bias.zero_()
    return TorchEncoder(nn.Sequential(hidden, nn.Tanh(), out), genes, name="programs")


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """Three groups of cells, each expressing one gene program; a GMT holding the programs and decoys."""
    rng = np.random.default_rng(0)
    adata = program_counts(
        rng, n_programs=N_PROGRAMS, program_size=PROGRAM_SIZE, n_genes=N_GENES, cells_per_group=CELLS_PER_GROUP
    )
    encoder = _program_encoder(list(adata.var_names))
    adata.obsm["X_programs"] = encoder.embed(adata)
    tl.train_sae(adata, use_rep="X_programs", regime="sae", k=1, expansion=2, epochs=20, lr=1e-2, input_noise=0.0)
    sets = {f"PROGRAM_{p}": _program(p) for p in range(N_PROGRAMS)}
    sets |= {f"DECOY_{i}": sorted(rng.choice(N_GENES, PROGRAM_SIZE, replace=False).tolist()) for i in range(4)}
    gmt = tmp_path_factory.mktemp("gmt") / "planted.gmt"
    gmt.write_text(
        "".join(f"{name}\tplanted\t" + "\t".join(f"G{g}" for g in genes) + "\n" for name, genes in sets.items())
    )
    return adata, encoder, str(gmt)


def _numbers(frame):
    return frame.select_dtypes("number").to_numpy(dtype=float)


@pytest.mark.slow
def test_evaluate_with_grounding_on_two_workers_equals_one_process(planted, cluster_client):
    adata, encoder, gmt = planted
    # a deterministic method grounded once (neurons, pca) and a seeded one grounded every seed (ica)
    # the second dataset (every other cell) gets its own fits on the workers as well
    options = {"seeds": (0, 1), "methods": ("neurons", "pca", "ica"), "run_sweep": False, "encoder": encoder,
               "grounding_sources": [gmt], "epochs": 10, "other": adata[::2].copy()}  # fmt: skip
    here = tl.evaluate(adata.copy(), **options)
    there = tl.evaluate(adata.copy(), **options, client=cluster_client)
    assert list(there["table"].index) == list(here["table"].index) == ["sae", "neurons", "pca", "ica"]
    assert list(there["table"].columns) == list(here["table"].columns)
    np.testing.assert_allclose(_numbers(there["table"]), _numbers(here["table"]), atol=1e-6, rtol=0, equal_nan=True)
    np.testing.assert_allclose(
        _numbers(there["per_seed"]), _numbers(here["per_seed"]), atol=1e-6, rtol=0, equal_nan=True
    )
    assert there["grounding"] == here["grounding"]
    assert set(here["cross_dataset"]["methods"]) == {"sae", "ica", "pca"}
    for method, measures in here["cross_dataset"]["methods"].items():
        assert there["cross_dataset"]["methods"][method] == pytest.approx(measures, abs=1e-6), method
    assert next(iter(there["grounding"])) == "random_directions"  # the null is grounded too, on a worker
    for method, measures in here["stability"].items():
        assert there["stability"][method] == pytest.approx(measures, abs=1e-6)
    # the figures are not degenerate: grounding found the programs, and seeds differ for the seeded methods
    assert here["table"].loc["neurons", "grounding"] == pytest.approx(1.0)
    assert here["table"].loc["sae", "r2_std"] > 0
    assert set(adata.obsm) == {"X_programs", "X_concepts"}, "grounding leaves no temporary keys behind"


@pytest.mark.slow
def test_cli_evaluate_on_a_scheduler_writes_the_same_evaluation(tmp_path, cluster_client):
    cells = toy_cells(*typed_embeddings(n_cells=200, dim=6, n_atoms=6)[::2])
    tl.train_sae(cells, use_rep="X_toy", regime="sae", k=1, expansion=2, epochs=8, patience=3, lr=1e-2, input_noise=0.0)
    figures = {}
    for name, extra in (("here", []), ("there", ["--scheduler", cluster_client.scheduler.address])):
        with new_results_folder(tmp_path / name) as folder:
            cells.write_h5ad(folder / "results.h5ad")
        args = ["evaluate", str(tmp_path / name), "--seeds", "2", "--no-sweep", "--no-grounding", "--epochs", "5"]
        assert main([*args, *extra]) == 0
        figures[name] = json.loads((tmp_path / name / "evaluation.json").read_text())
    here, there = figures["here"], figures["there"]
    assert [row["method"] for row in there["table"]] == [row["method"] for row in here["table"]]
    for mine, theirs in zip(here["table"] + here["per_seed"], there["table"] + there["per_seed"], strict=True):
        assert theirs.keys() == mine.keys()
        for name, value in mine.items():
            if isinstance(value, float):
                assert theirs[name] == pytest.approx(value, abs=1e-6, nan_ok=True), name
    for method, measures in here["stability"].items():
        assert there["stability"][method] == pytest.approx(measures, abs=1e-6), method
