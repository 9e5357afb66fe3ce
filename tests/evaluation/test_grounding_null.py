"""Grounding against its null: random directions of the embedding through the same attribution and enrichment.

A linear encoder reads 12 planted gene programs (one dimension each) and 12 dimensions of genes in no
gene set. Components that read one program each are grounded far above as many random directions;
another draw of random directions is grounded as often as the null (excess ~ 0, p not small).
"""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from anndata import AnnData
from torch import nn

from scconcepts.evaluation._grounding import oriented_function
from scconcepts.evaluation._monosemanticity import orientation
from scconcepts.models import TorchEncoder
from scconcepts.stats import excess_over_null, random_unit_atoms
from scconcepts.tl._grounding import grounding

N_PROGRAMS, N_NOISE, SIZE, N_CELLS = 12, 12, 15, 400
DIM = N_PROGRAMS + N_NOISE
N_GENES = DIM * SIZE + 60


class _Linear(nn.Module):
    """Dimension d = mean log1p expression of genes d*SIZE..(d+1)*SIZE-1."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(N_GENES, DIM)
        with torch.no_grad():
            self.linear.weight.zero_()
            self.linear.bias.zero_()
            for d in range(DIM):
                self.linear.weight[d, d * SIZE : (d + 1) * SIZE] = 1.0 / SIZE

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(torch.log1p(x))


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    rng = np.random.default_rng(0)
    activity = rng.gamma(1.0, 1.0, (N_CELLS, DIM)) * (rng.random((N_CELLS, DIM)) < 0.3)
    rate = np.ones((N_CELLS, N_GENES))
    for d in range(DIM):
        rate[:, d * SIZE : (d + 1) * SIZE] += 4 * activity[:, [d]]
    adata = AnnData(sp.csr_matrix(rng.poisson(rate).astype(np.float32)))
    adata.var_names = [f"G{g}" for g in range(N_GENES)]
    adata.obs_names = [f"cell{i}" for i in range(N_CELLS)]
    encoder = TorchEncoder(_Linear(), list(adata.var_names), name="linear")
    embedding = np.asarray(encoder.embed(adata), dtype=np.float64)
    gmt = tmp_path_factory.mktemp("gmt") / "programs.gmt"
    lines = [
        f"PROGRAM_{p}\tplanted\t" + "\t".join(f"G{g}" for g in range(p * SIZE, (p + 1) * SIZE))
        for p in range(N_PROGRAMS)
    ]
    gmt.write_text("\n".join(lines) + "\n")
    return adata, encoder, embedding, str(gmt)


def _ground(planted, atoms: np.ndarray) -> dict[str, float]:
    adata, encoder, embedding, gmt = planted
    centre = embedding.mean(axis=0)
    projections = (embedding - centre) @ atoms.T
    signs = orientation(projections)
    components = oriented_function(lambda new: (new - centre) @ atoms.T, signs)
    shares = grounding(
        adata, encoder=encoder, name="test", components=components, activations=np.clip(projections * signs, 0, None),
        sources=[gmt],
    )  # fmt: skip
    (source,) = [name for name in shares if not name.endswith((" (specific)", " (distinct)"))]
    measures = {"any": "", "specific": " (specific)", "distinct": " (distinct)"}
    return {measure: shares[f"{source}{suffix}"] for measure, suffix in measures.items()}


@pytest.mark.slow
def test_program_components_are_grounded_far_above_random_directions(planted):
    null = _ground(planted, random_unit_atoms(N_PROGRAMS, DIM, seed=0))
    programs = _ground(planted, np.eye(DIM)[:N_PROGRAMS])
    assert programs["specific"] == 1.0
    assert programs["distinct"] == 1.0  # every program component has its own program's term on top
    test = excess_over_null(
        round(programs["specific"] * N_PROGRAMS), N_PROGRAMS, round(null["specific"] * N_PROGRAMS), N_PROGRAMS
    )
    assert test["excess"] >= 0.3 and test["pvalue"] < 0.05, (programs, null, test)
    # the share with any significant term cannot tell them apart: a mixing direction is significant for each program
    assert null["any"] >= 0.75


@pytest.mark.slow
def test_random_directions_get_no_excess_over_random_directions(planted):
    null = _ground(planted, random_unit_atoms(N_PROGRAMS, DIM, seed=0))
    other = _ground(planted, random_unit_atoms(N_PROGRAMS, DIM, seed=1))
    for measure in ("any", "specific"):
        test = excess_over_null(
            round(other[measure] * N_PROGRAMS), N_PROGRAMS, round(null[measure] * N_PROGRAMS), N_PROGRAMS
        )
        assert abs(test["excess"]) <= 0.34 and test["pvalue"] > 0.05, (measure, other, null, test)
