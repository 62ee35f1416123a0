"""Benjamini-Hochberg control and the sensitivity rescaling."""

from __future__ import annotations

import numpy as np
from scipy import stats

from ecoradar.detect.multitest import bh_qvalues, rescale_p


def test_bh_matches_statsmodels_within_groups():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(0)
    p = rng.random(300) ** 3
    groups = np.repeat([0, 1, 2], 100)
    q = bh_qvalues(p, groups)
    for g in range(3):
        ref = multipletests(p[groups == g], method="fdr_bh")[1]
        np.testing.assert_allclose(q[groups == g], ref)


def test_bh_with_dropped_large_p_values_keeps_the_family_size():
    rng = np.random.default_rng(1)
    p = rng.random(1000) ** 4
    full = bh_qvalues(p)
    small = p <= 0.01
    np.testing.assert_allclose(bh_qvalues(p[small], n_tests={0: 1000}), full[small])


def test_bh_controls_false_discoveries():
    rng = np.random.default_rng(2)
    alpha, fdp = 0.05, []
    for _ in range(200):
        truth = rng.random(500) < 0.1
        z = rng.normal(size=500) + np.where(truth, 3.5, 0.0)
        q = bh_qvalues(2 * stats.norm.sf(np.abs(z)))
        found = q <= alpha
        fdp.append((found & ~truth).sum() / max(found.sum(), 1))
    assert np.mean(fdp) <= alpha
    # all nulls: almost never any discovery
    nulls = [(bh_qvalues(rng.random(2000)) <= 1e-3).any() for _ in range(100)]
    assert sum(nulls) <= 2


def test_rescale_p_is_monotone_and_neutral_at_one():
    p = np.array([1e-12, 1e-6, 1e-3, 0.05, 0.5, 1.0])
    np.testing.assert_allclose(rescale_p(p, 1.0), p, rtol=1e-6)
    assert (rescale_p(p, 2.0) >= p).all() and (rescale_p(p, 0.5) <= p).all()
    assert (np.diff(rescale_p(p, 2.0)) >= 0).all()
