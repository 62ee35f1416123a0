"""Seeded series with a known effect, for tests and bench/ (in the style of ruptures' pw_constant)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

Outcome = Literal["recovered", "partial", "ongoing", "worse"]


def effect_series(
    n: int = 100,
    n_pre: int = 70,
    *,
    effect: float = 3.0,
    noise_sd: float = 1.0,
    n_controls: int = 2,
    weekly: float = 0.0,
    drift: float = 0.3,
    seed: int = 0,
) -> tuple[pd.Series, pd.DataFrame, dict]:
    """A target driven by its controls plus a step of `effect` from row n_pre on.

    Controls share a random-walk factor (step sd `drift`) with the target, so a regression on them predicts it;
    `weekly` adds a day-of-week pattern of that amplitude to the target. Index: daily dates from 2024-01-01.

    Returns:
        (y, controls, truth) with truth = {"effect": ..., "post_start": date, "pre_period", "post_period"}.
    """
    rng = np.random.default_rng(seed)
    index = pd.date_range("2024-01-01", periods=n, freq="D")
    factor = np.cumsum(rng.normal(0, drift, n))
    weights = rng.uniform(0.5, 1.5, n_controls)
    controls = pd.DataFrame(
        {f"c{j}": 50 + weights[j] * factor + rng.normal(0, 0.1, n) for j in range(n_controls)}, index=index
    )
    y = 100 + factor + weekly * np.sin(2 * np.pi * np.arange(n) / 7) + rng.normal(0, noise_sd, n)
    y[n_pre:] += effect
    truth = {
        "effect": effect,
        "post_start": index[n_pre],
        "pre_period": (index[0], index[n_pre - 1]),
        "post_period": (index[n_pre], index[-1]),
    }
    return pd.Series(y, index=index, name="y"), controls, truth


def issue_scenario(
    outcome: Outcome,
    *,
    n: int = 120,
    issue_at: int = 50,
    fix_at: int = 90,
    depth: float = 6.0,
    noise_sd: float = 1.0,
    n_controls: int = 3,
    ramp: int = 3,
    drift: float = 0.3,
    seed: int = 0,
) -> tuple[pd.Series, pd.DataFrame, dict]:
    """A metric that drops by `depth` at issue_at (higher is better), then a fix at fix_at with a known outcome.

    recovered: back to the baseline over `ramp` days; partial: half of the drop comes back; ongoing: nothing
    changes; worse: it drops by another depth. Controls are untouched slices sharing the platform-wide factor (a
    random walk with step sd `drift`). The estimate fits on issue_at..fix_at-1: the counterfactual is "the issue
    goes on", and the baseline is the observed pre-issue mean.

    Returns:
        (y, controls, truth) with truth = {"outcome", "baseline" (observed pre-issue mean), "verdict", "effect",
        pre/post periods}.
    """
    rng = np.random.default_rng(seed)
    index = pd.date_range("2024-01-01", periods=n, freq="D")
    factor = np.cumsum(rng.normal(0, drift, n))
    controls = pd.DataFrame(
        {f"slice{j}": 40 + 10 * j + factor * rng.uniform(0.7, 1.3) + rng.normal(0, 0.2, n) for j in range(n_controls)},
        index=index,
    )
    t = np.arange(n)
    y = 100 + factor + rng.normal(0, noise_sd, n)
    y[issue_at:] -= depth
    share = {"recovered": 1.0, "partial": 0.5, "ongoing": 0.0, "worse": -1.0}[outcome]
    back = np.clip((t - fix_at + 1) / max(ramp, 1), 0, 1) * (t >= fix_at)
    y += share * depth * back
    verdict = {"recovered": "recovered", "partial": "partially_recovered", "ongoing": "no_effect", "worse": "worse"}
    truth = {
        "outcome": outcome,
        "baseline": float(y[:issue_at].mean()),
        "verdict": verdict[outcome],
        "effect": share * depth * back[fix_at:].mean(),
        "pre_period": (index[issue_at], index[fix_at - 1]),
        "post_period": (index[fix_at], index[-1]),
    }
    return pd.Series(y, index=index, name="y"), controls, truth
