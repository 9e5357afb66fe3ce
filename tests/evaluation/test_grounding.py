"""Grounding end to end: attribution through a planted encoder, then enrichment of every method's components."""

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from scconcepts import tl
from scconcepts.models import TorchEncoder

from ._typed import program_counts

N_PROGRAMS, PROGRAM_SIZE, N_GENES, CELLS_PER_GROUP = 3, 20, 90, 100


def _program(p: int) -> list[int]:
    return list(range(p * PROGRAM_SIZE, (p + 1) * PROGRAM_SIZE))


class _ProgramEncoder(nn.Module):
    """Embedding dimension p reads only the genes of program p (log1p, then a non-linear layer)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.hidden, self.out = nn.Linear(N_GENES, 3 * N_PROGRAMS), nn.Linear(3 * N_PROGRAMS, N_PROGRAMS)
        with torch.no_grad():
            self.hidden.weight.zero_()
            self.out.weight.zero_()
            for p in range(N_PROGRAMS):
                units = list(range(3 * p, 3 * p + 3))
                self.hidden.weight[np.ix_(units, _program(p))] = torch.rand(3, PROGRAM_SIZE) * 0.1 + 0.05
                self.out.weight[p, units] = torch.rand(3) + 0.5
            self.hidden.bias.fill_(-1.0)
            self.out.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(self.hidden(torch.log1p(x))))


def _write_gmt(path, sets: dict[str, list[int]]) -> str:
    lines = [f"{name}\tplanted\t" + "\t".join(f"G{g}" for g in genes) for name, genes in sets.items()]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    rng = np.random.default_rng(0)
    adata = program_counts(
        rng, n_programs=N_PROGRAMS, program_size=PROGRAM_SIZE, n_genes=N_GENES, cells_per_group=CELLS_PER_GROUP
    )
    encoder = TorchEncoder(_ProgramEncoder(), list(adata.var_names), name="programs")
    adata.obsm["X_programs"] = encoder.embed(adata)
    tl.train_sae(  # 20% test cells: the held-out cells this test was designed with
        adata, use_rep="X_programs", regime="sae", k=1, expansion=2, epochs=40, patience=10, lr=1e-2, input_noise=0.0,
        test_fraction=0.2,
    )  # fmt: skip
    folder = tmp_path_factory.mktemp("gmt")
    decoys = {f"DECOY_{i}": sorted(rng.choice(N_GENES, PROGRAM_SIZE, replace=False).tolist()) for i in range(6)}
    planted_gmt = _write_gmt(folder / "planted.gmt", {f"PROGRAM_{p}": _program(p) for p in range(N_PROGRAMS)} | decoys)
    decoy_gmt = _write_gmt(folder / "decoys.gmt", decoys)
    return adata, encoder, planted_gmt, decoy_gmt


def _grounding(adata, encoder, gmt) -> pd.Series:
    result = tl.evaluate(
        adata, seeds=(0,), methods=("neurons", "pca"), run_sweep=False, encoder=encoder, grounding_sources=[gmt]
    )
    return result["table"]["grounding"]


def test_components_reading_a_program_are_grounded_in_it(planted):
    adata, encoder, planted_gmt, _ = planted
    grounding = _grounding(adata, encoder, planted_gmt)
    assert grounding["neurons"] == pytest.approx(1.0)  # each dimension reads exactly one program
    assert grounding["sae"] >= 0.8  # concepts fire in one group each, driven by its program
    assert set(adata.obsm) == {"X_programs", "X_concepts"}, "grounding leaves no temporary keys behind"


def test_random_gene_sets_ground_nothing(planted):
    adata, encoder, _, decoy_gmt = planted
    grounding = _grounding(adata, encoder, decoy_gmt)
    assert (grounding <= 1 / 6).all(), grounding.to_dict()
