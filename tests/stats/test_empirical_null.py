"""The matched empirical null (random-effects z) and BH against independent computations and planted data."""

from __future__ import annotations

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests

from scconcepts.stats import benjamini_hochberg, matched_null_pvalues


def test_benjamini_hochberg_matches_statsmodels():
    p = np.random.default_rng(0).uniform(0, 1, 200) ** 3
    np.testing.assert_allclose(benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1])


def test_null_units_uniform_and_planted_found():
    # Units of very different scale (matched by `scale`), true effects ~ N(0, (0.1 scale)^2), sampling error on top.
    rng = np.random.default_rng(1)
    n = 3000
    scale = np.exp(rng.uniform(-3, 3, n))
    se = 0.05 * scale * rng.uniform(0.5, 2, n)
    effect = rng.normal(0, 0.1 * scale) + rng.normal(0, se)
    effect[:10] += 2 * scale[:10]  # planted
    valid = np.ones((n, 1), dtype=bool)
    _, p = matched_null_pvalues(effect[:, None], se[:, None], scale, valid)
    null = p[10:, 0]
    assert stats.kstest(null, "uniform").statistic < 0.05
    assert (benjamini_hochberg(p[:, 0])[:10] < 0.05).all()
    # Without matching by scale the same units give too many discoveries in the tails.
    _, unmatched = matched_null_pvalues(effect[:, None], se[:, None], np.ones(n), valid)
    assert (unmatched[10:, 0] < 0.01).mean() > 3 * (null < 0.01).mean()


def test_noisy_units_are_not_significant_and_invalid_get_one():
    rng = np.random.default_rng(2)
    effect = rng.normal(0, 1, (500, 1))
    se = np.ones((500, 1))
    effect[0] = 4.0
    se[0] = 10.0  # one large estimate from few or disagreeing replicates
    valid = np.ones((500, 1), dtype=bool)
    valid[1] = False
    z, p = matched_null_pvalues(effect, se, np.ones(500), valid)
    assert p[0, 0] > 0.3
    assert p[1, 0] == 1 and z[1, 0] == 0


def test_zero_spread_and_zero_error_give_no_signal():
    effect = np.zeros((50, 1))
    effect[:3, 0] = [1.0, 2.0, 3.0]
    se = np.zeros((50, 1))
    se[:3, 0] = 0.1
    z, p = matched_null_pvalues(effect, se, np.ones(50), np.ones((50, 1), dtype=bool))
    assert (p[:3, 0] < 1e-6).all()  # consistent effects where comparable units have none
    assert (z[3:, 0] == 0).all() and (p[3:, 0] == 0.5).all()


def test_few_replicates_read_against_t_keep_the_level():
    # Null units whose only variation is sampling error from n replicates: se has n - 1 degrees of freedom.
    for n in (4, 6, 10):
        rng = np.random.default_rng(n)
        x = rng.normal(0, 1, (20000, n))
        effect, se = x.mean(axis=1)[:, None], (x.std(axis=1, ddof=1) / np.sqrt(n))[:, None]
        valid = np.ones((20000, 1), dtype=bool)
        _, normal = matched_null_pvalues(effect, se, np.ones(20000), valid)
        _, t = matched_null_pvalues(effect, se, np.ones(20000), valid, dof=np.array([[n - 1]]))
        assert (normal < 0.01).mean() > 0.015  # the normal reading: about twice the level
        assert (t < 0.01).mean() < 0.0105
    # With many replicates the two readings agree.
    _, normal = matched_null_pvalues(effect, se, np.ones(20000), valid)
    _, t = matched_null_pvalues(effect, se, np.ones(20000), valid, dof=np.array([[1000]]))
    assert np.abs(normal - t).max() < 1e-3


def test_few_replicates_lose_nothing_where_the_spread_between_units_dominates():
    # True effects spread widely, 4 precise replicates each: the variance is nearly known, the t nearly normal.
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (5000, 1)) + rng.normal(0, 0.2, (5000, 4))
    effect, se = x.mean(axis=1)[:, None], (x.std(axis=1, ddof=1) / 2)[:, None]
    valid = np.ones((5000, 1), dtype=bool)
    _, normal = matched_null_pvalues(effect, se, np.ones(5000), valid)
    _, t = matched_null_pvalues(effect, se, np.ones(5000), valid, dof=np.array([[3]]))
    assert np.abs(np.log10(t) - np.log10(normal)).max() < 0.05
