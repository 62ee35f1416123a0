"""Placebo fix dates inside the pre-period: intervals cover 0 about as often as they claim."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecoradar.errors import InputError
from ecoradar.impact import estimate_impact, placebo_check


def test_placebo_coverage_on_a_small_synthetic_set():
    # local level + regression on one control, the model's own assumptions: coverage near 95%
    covered = []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        x = np.cumsum(rng.normal(0, 1, 60))
        y = pd.Series(5 + 0.8 * x + rng.normal(0, 0.5, 60))
        summary = placebo_check(y, pd.DataFrame({"x": x}), n=4, estimator_options={"niter": 500})
        assert len(summary.runs) == 4
        covered += [run.covers_zero for run in summary.runs]
    assert 0.75 <= np.mean(covered) <= 1.0


def test_placebo_finds_no_effect_where_a_real_step_is():
    # the real step is far larger than any placebo effect: the placebo p-value is the smallest possible
    rng = np.random.default_rng(3)
    y = pd.Series(np.r_[rng.normal(0, 1, 60), rng.normal(5, 1, 20)])
    r = estimate_impact(y, None, pre_period=(0, 59), post_period=(60, 79), placebo=5)
    assert r.placebo is not None and len(r.placebo.runs) == 5
    assert r.placebo.p_value == pytest.approx(1 / 6)
    assert all(run.fake_start.isdigit() and int(run.fake_start) < 60 for run in r.placebo.runs)


def test_too_short_for_placebos():
    with pytest.raises(InputError, match="too short for placebo"):
        placebo_check(pd.Series(np.arange(9.0)), None, n=3)
