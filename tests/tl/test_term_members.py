"""Held-out term members: a term holds when its members beyond the concept's top genes lower the concept.

A linear encoder has two dimensions. Dimension 0 reads every gene of program A (20 genes); dimension 1
reads only 3 of the 20 genes of program B. Both concepts are labelled with their program's term. Taking
away program A's members outside concept 0's top 5 genes lowers concept 0 far beyond expression-matched
random genes; program B's members outside concept 1's top genes are not read at all, so its label rests on
its top genes alone and is marked so.
"""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from anndata import AnnData
from torch import nn

from scconcepts import tl
from scconcepts._keys import activations_key, params_key
from scconcepts.models import TorchEncoder
from scconcepts.tl._term_members import HELD_OUT, LABEL_MARK, TOP_GENES_ONLY

SIZE, N_GENES, N_CELLS = 20, 100, 300
PROGRAM_A, PROGRAM_B = list(range(0, SIZE)), list(range(SIZE, 2 * SIZE))


class _TwoPrograms(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(N_GENES, 2)
        with torch.no_grad():
            self.linear.weight.zero_()
            self.linear.bias.zero_()
            self.linear.weight[0, PROGRAM_A] = 1.0 / SIZE
            self.linear.weight[1, PROGRAM_B[:3]] = 1.0 / 3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(torch.log1p(x))


def _components(embeddings: torch.Tensor) -> torch.Tensor:
    return torch.clamp(embeddings - 1.0, min=0.0)


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    rng = np.random.default_rng(0)
    rate = np.full((N_CELLS, N_GENES), 2.0)
    rate[: N_CELLS // 2, PROGRAM_A] = 12.0  # program A on in the first half, B in the second
    rate[N_CELLS // 2 :, PROGRAM_B] = 12.0
    adata = AnnData(sp.csr_matrix(rng.poisson(rate).astype(np.float32)))
    adata.var_names = [f"G{g}" for g in range(N_GENES)]
    adata.obs_names = [f"cell{i}" for i in range(N_CELLS)]
    encoder = TorchEncoder(_TwoPrograms(), list(adata.var_names), name="two_programs")
    embedding = torch.as_tensor(encoder.embed(adata))
    adata.obsm[activations_key("concepts")] = sp.csr_matrix(_components(embedding).numpy())
    tl.attribute(adata, encoder=encoder, sae=_components, engine="exact", n_cells=50)
    gmt = tmp_path_factory.mktemp("gmt") / "programs.gmt"
    gmt.write_text("".join(f"{name}\tplanted\t" + "\t".join(f"G{g}" for g in genes) + "\n"
                           for name, genes in (("PROGRAM_A", PROGRAM_A), ("PROGRAM_B", PROGRAM_B))))  # fmt: skip
    adata.uns.setdefault(params_key("concepts"), {})["table"] = pd.DataFrame(
        {"label": ["program A", "program B"], "top_term_id": ["PROGRAM_A", "PROGRAM_B"],
         "top_term_source": ["programs"] * 2},
        index=["0", "1"],
    )  # fmt: skip
    return adata, encoder, str(gmt)


def test_a_term_read_beyond_its_top_genes_holds_and_one_read_by_three_genes_does_not(labelled):
    adata, encoder, gmt = labelled
    frame = tl.term_members(adata, encoder=encoder, sae=_components, n_top=5, n_random=10, sources=[gmt])
    assert frame.loc["0", "term_support"] == HELD_OUT
    assert frame.loc["0", "n_term_held_out"] == SIZE - 5
    assert frame.loc["0", "fall_term_held_out"] > 0.3 > frame.loc["0", "fall_term_matched"] + 0.1
    assert frame.loc["1", "term_support"] == TOP_GENES_ONLY
    assert frame.loc["1", "fall_term_held_out"] == pytest.approx(0.0, abs=1e-6)  # no held-out member is read
    table = adata.uns[params_key("concepts")]["table"]
    assert table.loc["1", "label"] == "program B" + LABEL_MARK and table.loc["0", "label"] == "program A"
    assert adata.uns[params_key("concepts")]["term_members"]["share_held_out"] == 0.5


def test_matched_random_sets_follow_the_members_expression():
    from scconcepts.evaluation._term_members import matched_draws

    level = np.arange(200, dtype=float)  # gene g has level g
    members = np.array([5, 6, 150, 190])
    candidates = np.setdiff1d(np.arange(200), members)
    draws = matched_draws(members, candidates, level, n_random=20, rng=np.random.default_rng(0))
    assert all(d.size == members.size and np.intersect1d(d, members).size == 0 for d in draws)
    low = np.array([np.sort(d)[:2] for d in draws])
    assert (low < 25).all()  # the two low members are matched by genes of the lowest decile
    assert (np.array([np.sort(d)[-1] for d in draws]) >= 175).all()


def test_unlabelled_runs_are_refused_in_one_line(labelled):
    from scconcepts._errors import InputError

    adata, encoder, _ = labelled
    bare = adata.copy()
    del bare.uns[params_key("concepts")]["table"]
    with pytest.raises(InputError, match="label_concepts"):
        tl.term_members(bare, encoder=encoder, sae=_components)


def test_a_lazily_read_matrix_gives_the_loaded_result(labelled, tmp_path):
    from scconcepts import ds
    from scconcepts.ds._lazy import is_lazy

    adata, encoder, gmt = labelled
    adata.write_h5ad(tmp_path / "labelled.h5ad")
    lazy = ds.read(tmp_path / "labelled.h5ad", backed=True)  # reads obs, obsm and uns; a run adds varm in memory
    assert is_lazy(lazy)
    for name in adata.varm:
        lazy.varm[name] = adata.varm[name]
    options = {"encoder": encoder, "sae": _components, "n_top": 5, "n_random": 10, "sources": [gmt]}
    loaded = tl.term_members(adata.copy(), **options)
    pd.testing.assert_frame_equal(tl.term_members(lazy, **options), loaded)
