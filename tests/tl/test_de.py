import numpy as np
import scipy.sparse as sp
from scipy import stats

from scconcepts.tl._de import wilcoxon_scores


def test_sparse_ranking_equals_dense_ranking_with_ties_and_stored_zeros():
    x = sp.random(300, 40, density=0.3, random_state=1, format="csr")
    x.data = np.round(x.data * 3) / 3  # many ties among non-zeros
    x.data[::17] = 0  # explicitly stored zeros tie with the implicit ones
    rng = np.random.default_rng(0)
    groups = rng.random((300, 5)) < 0.3
    groups[:, 4] = False  # an empty group scores 0
    dense = wilcoxon_scores(x.toarray(), groups)
    np.testing.assert_allclose(wilcoxon_scores(x, groups), dense, atol=1e-10)
    np.testing.assert_allclose(wilcoxon_scores(x, sp.csr_matrix(groups)), dense, atol=1e-10)
    assert (dense[:, 4] == 0).all()
    column = x.toarray()[:, 3]
    result = stats.mannwhitneyu(column[groups[:, 0]], column[~groups[:, 0]], method="asymptotic", use_continuity=False)
    assert abs(abs(dense[3, 0]) - stats.norm.isf(result.pvalue / 2)) < 1e-8


def test_negative_values_take_the_dense_path_and_still_match_scipy():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(80, 6))
    groups = np.zeros((80, 1), dtype=bool)
    groups[:25, 0] = True
    z = wilcoxon_scores(sp.csr_matrix(x), groups)
    for gene in range(6):
        result = stats.mannwhitneyu(x[:25, gene], x[25:, gene], method="asymptotic", use_continuity=False)
        assert abs(abs(z[gene, 0]) - stats.norm.isf(result.pvalue / 2)) < 1e-8


def test_dense_ranking_in_small_blocks_gives_the_same_scores(monkeypatch):
    from scconcepts.tl import _de

    rng = np.random.default_rng(5)
    x = rng.normal(size=(120, 9))
    groups = sp.csr_matrix(rng.random((120, 3)) < 0.4)
    whole = wilcoxon_scores(x, groups)
    monkeypatch.setattr(_de, "_DENSE_BLOCK_BYTES", 1)  # one gene per block
    np.testing.assert_allclose(wilcoxon_scores(x, groups), whole, rtol=0, atol=1e-12)


def test_unsorted_sparse_input_is_left_as_it_was():
    x = sp.random(50, 4, density=0.5, random_state=3, format="csc")
    x.indices[: x.indptr[1]] = x.indices[: x.indptr[1]][::-1].copy()  # first column's rows out of order
    x.data[: x.indptr[1]] = x.data[: x.indptr[1]][::-1].copy()
    x.has_sorted_indices = False
    before = (x.indices.copy(), x.data.copy())
    groups = np.random.default_rng(1).random((50, 2)) < 0.5
    np.testing.assert_allclose(wilcoxon_scores(x, groups), wilcoxon_scores(x.toarray(), groups), atol=1e-10)
    np.testing.assert_array_equal(x.indices, before[0])
    np.testing.assert_array_equal(x.data, before[1])
