"""Automatic control selection uses the pre-period only and finds the series that move with the target."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecoradar.errors import InputError
from ecoradar.impact import choose_controls


def panel(seed: int = 0, n: int = 90):
    rng = np.random.default_rng(seed)
    index = pd.date_range("2024-01-01", periods=n, freq="D")
    factor = np.cumsum(rng.normal(0, 1, n))
    target = pd.Series(10 + factor + rng.normal(0, 0.3, n), index=index)
    cands = {f"good{j}": 5 * j + (1 + j / 4) * factor + rng.normal(0, 0.3, n) for j in range(3)}
    cands |= {f"noise{j}": rng.normal(0, 1, n).cumsum() for j in range(6)}
    return target, pd.DataFrame(cands, index=index)


def test_picks_the_truly_correlated_controls():
    target, cands = panel()
    chosen = choose_controls(target, cands, pre_period=("2024-01-01", "2024-02-29"), k=3)
    assert sorted(chosen) == ["good0", "good1", "good2"]


def test_does_not_peek_at_the_post_period():
    target, cands = panel(seed=1)
    pre = ("2024-01-01", "2024-02-29")
    before = choose_controls(target, cands, pre_period=pre, k=3)
    broken = cands.copy()
    broken.loc["2024-03-01":, "good0"] += 50  # a control that breaks after the fix stays chosen: no peeking
    assert choose_controls(target, broken, pre_period=pre, k=3) == before


def test_skips_constant_and_gappy_candidates():
    target, cands = panel(seed=2)
    cands["flat"] = 1.0
    cands.loc[cands.index[5], "good1"] = np.nan
    chosen = choose_controls(target, cands, pre_period=("2024-01-01", "2024-02-29"), k=9)
    assert "flat" not in chosen and "good1" not in chosen


def test_no_usable_candidate_is_an_input_error():
    target, cands = panel()
    with pytest.raises(InputError, match="no usable controls"):
        choose_controls(target, pd.DataFrame({"flat": 1.0}, index=cands.index), pre_period=("2024-01-01", "2024-02-29"))
