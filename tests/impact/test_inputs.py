"""Bad input to the Python API: one clear InputError before any fitting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecoradar.errors import InputError
from ecoradar.impact import estimate_impact
from ecoradar.impact.synthetic import effect_series


@pytest.fixture
def data():
    return effect_series(n=60, n_pre=40, seed=0)


def test_row_bounds_on_a_dated_series(data):
    y, controls, _ = data
    with pytest.raises(InputError, match="row numbers but the series is dated"):
        estimate_impact(y, controls, pre_period=(0, 39), post_period=(40, 59))


def test_periods_out_of_order(data):
    y, controls, _ = data
    with pytest.raises(InputError, match="pre_start <= pre_end < post_start <= post_end"):
        estimate_impact(y, controls, pre_period=("2024-01-01", "2024-02-15"), post_period=("2024-02-10", "2024-02-29"))


def test_fix_after_the_data(data):
    y, controls, _ = data
    with pytest.raises(InputError, match="post-period start 2024-05-01 is after the data end 2024-02-29"):
        estimate_impact(y, controls, pre_period=("2024-01-01", "2024-02-15"), post_period=("2024-05-01", "2024-05-02"))


def test_missing_target_in_post_period(data):
    y, controls, truth = data
    y = y.copy()
    y.iloc[45] = np.nan
    with pytest.raises(InputError, match="missing values in the post-period .first at 2024-02-15"):
        estimate_impact(y, controls, pre_period=truth["pre_period"], post_period=truth["post_period"])


def test_non_numeric_target():
    y = pd.Series(["1", "2", "x"] * 10)
    with pytest.raises(InputError, match="target column 'y' is not numeric: value 'x' at 2"):
        estimate_impact(y, None, pre_period=(0, 19), post_period=(20, 29))


def test_too_short_a_pre_period_names_the_need():
    y = pd.Series(np.arange(12.0))
    with pytest.raises(InputError, match="5 observed points, the estimator needs at least 8"):
        estimate_impact(y, None, pre_period=(0, 4), post_period=(5, 11))
    # DiD needs fewer
    assert estimate_impact(y, None, pre_period=(0, 4), post_period=(5, 11), estimator="did").n_pre == 5
