"""Seeded single-series generators with known answers (in the style of ruptures' pw_constant).

Each returns (series, truth): series is a float array; truth lists the indices where the injected change is
(empty for clean series). Used by detector tests and benchmarks.
"""

from __future__ import annotations

import numpy as np


def _base(n: int, level: float, noise_std: float, seed: int, weekly_amplitude: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    season = weekly_amplitude * np.sin(2 * np.pi * np.arange(n) / 7.0)
    return level + season + rng.normal(0.0, noise_std, n)


def flat(n: int = 120, *, level: float = 100.0, noise_std: float = 0.0, seed: int = 0) -> tuple[np.ndarray, list[int]]:
    """A clean series: constant level plus optional noise; truth is empty."""
    return _base(n, level, noise_std, seed), []


def spike(
    n: int = 120, at: int = 100, size: float = 10.0, *, level: float = 100.0, noise_std: float = 1.0, seed: int = 0
) -> tuple[np.ndarray, list[int]]:
    """One point at `at` lifted by `size` (negative: a dip); truth = [at]."""
    x = _base(n, level, noise_std, seed)
    x[at] += size
    return x, [at]


def level_shift(
    n: int = 120, at: int = 80, size: float = 3.0, *, level: float = 100.0, noise_std: float = 0.5, seed: int = 0
) -> tuple[np.ndarray, list[int]]:
    """Every point from `at` on moves by `size`; truth = [at]."""
    x = _base(n, level, noise_std, seed)
    x[at:] += size
    return x, [at]


def trend(
    n: int = 120, at: int = 80, slope: float = 0.5, *, level: float = 100.0, noise_std: float = 0.5, seed: int = 0
) -> tuple[np.ndarray, list[int]]:
    """From `at` on the level drifts by `slope` per point; truth = [at]."""
    x = _base(n, level, noise_std, seed)
    x[at:] += slope * np.arange(1, n - at + 1)
    return x, [at]


def weekly(
    n: int = 120,
    *,
    amplitude: float = 20.0,
    level: float = 100.0,
    noise_std: float = 1.0,
    spike_at: int | None = None,
    size: float = 0.0,
    seed: int = 0,
) -> tuple[np.ndarray, list[int]]:
    """A weekly season (period 7) with optional spike; truth = [spike_at] or []."""
    x = _base(n, level, noise_std, seed, amplitude)
    if spike_at is None:
        return x, []
    x[spike_at] += size
    return x, [spike_at]


def binomial_rate(
    n: int = 120,
    *,
    trials: int = 1000,
    rate: float = 0.1,
    at: int | None = None,
    new_rate: float | None = None,
    overdispersion: float = 0.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Daily successes/trials of a rate that moves to `new_rate` from `at` on.

    Returns:
        (rate series, trials series, truth); overdispersion > 0 draws each day's true rate from a beta with that
        intra-class correlation.
    """
    rng = np.random.default_rng(seed)
    p = np.full(n, rate, dtype=float)
    if at is not None and new_rate is not None:
        p[at:] = new_rate
    if overdispersion > 0:
        m = 1.0 / overdispersion - 1.0
        p = rng.beta(p * m, (1 - p) * m)
    t = np.full(n, trials, dtype=float)
    k = rng.binomial(trials, p)
    return k / t, t, ([] if at is None else [at])
