import decoupler as dc
import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from scipy import stats as st

from scconcepts.genesets import GeneSets, UlmState, bh_rows, ora, ora_one, ulm, ulm_one


def random_sets(rng, n_genes, n_sets, size=(15, 60)):
    genes = [f"G{i}" for i in range(n_genes)]
    sets = {f"S{j}": list(rng.choice(genes, rng.integers(*size), replace=False)) for j in range(n_sets)}
    return genes, GeneSets.from_dict("random", sets)


def test_ulm_equals_decoupler_ulm():
    rng = np.random.default_rng(0)
    genes, sets = random_sets(rng, 400, 30)
    y = rng.normal(size=(5, 400))
    membership, kept = sets.membership(genes, min_size=1, max_size=400)
    t, p = ulm(UlmState.of(y), membership)
    es, padj = dc.mt.ulm(pd.DataFrame(y, columns=genes), sets.to_frame(), tmin=1)
    es = es[[sets.term_ids[k] for k in kept]].to_numpy()
    padj_dc = padj[[sets.term_ids[k] for k in kept]].to_numpy()
    np.testing.assert_allclose(t, es, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(bh_rows(p), padj_dc, rtol=1e-6, atol=1e-12)


def test_ulm_one_equals_the_matrix_form():
    rng = np.random.default_rng(1)
    y = rng.normal(size=(3, 200))
    rows = np.array([1, 5, 9, 40, 77, 120])
    membership = sparse.csc_matrix((np.ones(rows.size), (rows, np.zeros(rows.size, int))), shape=(200, 1))
    t, p = ulm(UlmState.of(y), membership)
    for c in range(3):
        assert ulm_one(UlmState.of(y), c, rows) == pytest.approx((t[c, 0], p[c, 0]))


def test_planted_set_found_and_random_rankings_stay_nominal():
    rng = np.random.default_rng(2)
    genes, sets = random_sets(rng, 2000, 200)
    membership, _ = sets.membership(genes, min_size=15, max_size=500)
    planted = membership[:, 7].toarray().ravel() > 0
    y = rng.normal(size=(1, 2000))
    y[0, planted] += 0.8
    _, p = ulm(UlmState.of(y), membership)
    padj = bh_rows(p)
    assert padj[0, 7] < 0.05
    assert (padj[0] < 0.05).sum() <= 3  # the planted set, maybe a few sets sharing its genes
    # null: many random rankings, the share of raw p < 0.05 is near 5% and BH rarely reports anything
    null = rng.normal(size=(200, 2000))
    _, p0 = ulm(UlmState.of(null), membership)
    share = (p0 < 0.05).mean()
    assert 0.035 < share < 0.065, share
    any_hit = (bh_rows(p0) < 0.05).any(axis=1).mean()
    assert any_hit < 0.1, any_hit


def test_ora_matches_fisher_exact_and_finds_planted_set():
    rng = np.random.default_rng(3)
    genes, sets = random_sets(rng, 1000, 40)
    membership, _ = sets.membership(genes, min_size=15, max_size=500)
    members = membership[:, 3].toarray().ravel() > 0
    selected = np.zeros((2, 1000), dtype=bool)
    selected[0, np.flatnonzero(members)[:12]] = True
    selected[0, rng.choice(np.flatnonzero(~members), 20, replace=False)] = True
    selected[1, rng.choice(1000, 30, replace=False)] = True
    fold, p = ora(selected, membership)
    for j in (3, 10):
        a = int((selected[0] & (membership[:, j].toarray().ravel() > 0)).sum())
        k = int(membership[:, j].sum())
        table = [[a, selected[0].sum() - a], [k - a, 1000 - k - selected[0].sum() + a]]
        assert p[0, j] == pytest.approx(st.fisher_exact(table, alternative="greater").pvalue, rel=1e-6)
    assert bh_rows(p)[0, 3] < 0.05 and fold[0, 3] > 5
    assert ora_one(selected, 0, membership[:, 3].indices)[1] == pytest.approx(p[0, 3])


def test_bh_rows_matches_scipy_and_keeps_nan():
    rng = np.random.default_rng(4)
    p = rng.uniform(size=(3, 50)) ** 3
    p[1, 4] = np.nan
    out = bh_rows(p)
    np.testing.assert_allclose(out[0], st.false_discovery_control(p[0]))
    assert np.isnan(out[1, 4])
    ok = ~np.isnan(p[1])
    np.testing.assert_allclose(out[1, ok], st.false_discovery_control(p[1, ok]))


def test_hypergeom_sf_matches_scipy_in_both_tails():
    from scconcepts.genesets._ora import hypergeom_sf

    rng = np.random.default_rng(5)
    sizes, drawn = rng.integers(1, 300, 5000), rng.integers(1, 200, 5000)
    overlap = rng.integers(0, 60, 5000)
    ours = hypergeom_sf(overlap, 4000, sizes, drawn)
    ref = st.hypergeom.sf(overlap - 1, 4000, sizes, drawn)
    np.testing.assert_allclose(ours, ref, rtol=1e-8, atol=1e-12)
    from scconcepts.genesets._ora import hypergeom_sf_one

    for i in range(0, 5000, 97):
        one = hypergeom_sf_one(int(overlap[i]), 4000, int(sizes[i]), int(drawn[i]))
        assert one == pytest.approx(ref[i], rel=1e-8, abs=1e-12)
