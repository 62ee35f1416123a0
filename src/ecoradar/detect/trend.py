"""Slow trend: Theil-Sen slope and a Mann-Kendall test over a trailing window, for drifts no single day shows."""

from __future__ import annotations

from typing import Self

import numpy as np
from scipy import stats

from ecoradar.detect.base import (
    TREND,
    Detector,
    Scores,
    as_panel,
    binomial_floor,
    nanmedian,
    p_to_score,
    scale_floor,
)
from ecoradar.detect.level_shift import lag1_autocorrelation
from ecoradar.detect.seasonal import deseasonalize, diff_scale, phase_of, robust_slope


def theil_sen_mann_kendall(windows: np.ndarray, z_min: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slope, intercept (at index 0) and Mann-Kendall z of each row of [n, w], NaN-aware, vectorized.

    The Theil-Sen median of pairwise slopes is the costly part, so it is computed only for rows with |z| >= z_min
    (others get slope 0 and the row median as intercept).

    Returns:
        (slope, intercept, z): arrays of length n; NaN slope where fewer than 3 points are present.
    """
    n_rows, w = windows.shape
    iu, ju = np.triu_indices(w, k=1)
    diffs = windows[:, ju] - windows[:, iu]
    s = np.nansum(np.sign(diffs), axis=1)
    n = np.isfinite(windows).sum(axis=1).astype(float)
    var = n * (n - 1) * (2 * n + 5) / 18.0
    with np.errstate(all="ignore"):
        z = np.where(var > 0, (s - np.sign(s)) / np.sqrt(var), 0.0)
    slope = np.zeros(n_rows)
    rows = np.flatnonzero(np.abs(z) >= z_min)
    if rows.size:
        slope[rows] = nanmedian(diffs[rows] / (ju - iu), axis=1)
    with np.errstate(all="ignore"):
        intercept = nanmedian(windows - slope[:, None] * np.arange(w), axis=1)
    slope = np.where(n >= 3, slope, np.nan)
    return slope, intercept, z


class Trend(Detector):
    """A trend fires when Mann-Kendall is significant and the Theil-Sen drift over the window is material.

    Material means the slope differs from the steady slope of the window before by enough over the window: a
    platform that grows as it always has is not drifting; one whose concentration starts rising is.

    Args:
        period (int): weekly season removed before testing (1: none).
        window (int): trailing points tested (ending at the scored point).
        min_change_sd (float): the drift over the window must exceed this many noise sds ...
        min_rel_change (float): ... and this share of the level, so ordinary growth is not a finding.
        z_band (float): half-width of the expected band in noise sds.
        min_rel_scale (float): noise sd floor as a share of the level.
        max_p (float): Mann-Kendall p above which a window is not a trend (its slope is not even computed).
    """

    name = "trend"

    def __init__(
        self,
        *,
        period: int = 7,
        window: int = 28,
        min_change_sd: float = 4.0,
        min_rel_change: float = 0.1,
        z_band: float = 4.0,
        min_rel_scale: float = 0.005,
        max_p: float = 0.01,
    ):
        self.max_p = max_p
        self.period = period
        self.window = window
        self.min_change_sd = min_change_sd
        self.min_rel_change = min_rel_change
        self.z_band = z_band
        self.min_rel_scale = min_rel_scale

    def fit(
        self, history: np.ndarray, *, denominators: np.ndarray | None = None, calendar_mask: np.ndarray | None = None
    ) -> Self:
        """Remember the deseasonalized history and its noise sd."""
        panel, self.offsets_, self.deseason_ = deseasonalize(history, calendar_mask, self.period)
        self.n_time_ = panel.shape[1]
        self.scale_ = np.maximum(diff_scale(self.deseason_), binomial_floor(panel, denominators))
        self.valid_ = np.isfinite(panel[:, -self.window :]).sum(axis=1) >= min(self.min_history, self.window)
        return self

    def score(
        self, new: np.ndarray, *, denominators: np.ndarray | None = None, calendar_mask: np.ndarray | None = None
    ) -> Scores:
        """Trend evidence over the window ending at each new point."""
        new = as_panel(new, "new")
        n_series, n_new = new.shape
        offsets = self.offsets_[:, phase_of(self.n_time_, n_new, self.period)]
        series = np.concatenate([self.deseason_, new - offsets], axis=1)
        ends = self.n_time_ + np.arange(n_new) + 1
        # all windows of all new points at once: [n_series * n_new, window]
        idx = ends[:, None] - self.window + np.arange(self.window)[None, :]
        windows = series[:, np.clip(idx, 0, None)].reshape(n_series * n_new, self.window)
        z_min = stats.norm.isf(self.max_p / 2.0)
        slope, intercept, z = (a.reshape(n_series, n_new) for a in theil_sen_mann_kendall(windows, z_min))
        # the drift must be new: compare with the steady slope of the window before (ordinary growth continues)
        prior_idx = idx - self.window
        prior = series[:, np.clip(prior_idx, 0, None)]
        prior[:, prior_idx < 0] = np.nan
        slope_before = robust_slope(prior, np.maximum(self.scale_, 1e-12))
        # Mann-Kendall counts every pair as independent; a series that wanders (autocorrelated around its line in
        # the window before, where no drift is claimed) holds fewer independent points: n*/n = (1 - rho) / (1 + rho)
        rho = lag1_autocorrelation(prior.reshape(n_series * n_new, self.window)).reshape(n_series, n_new)
        z = z * np.sqrt((1.0 - rho) / (1.0 + rho))
        # without a measured slope before, a trend cannot be told from one that simply continues: not judged
        known_before = np.isfinite(prior).sum(axis=2) >= self.window // 2
        level = intercept
        scale = np.maximum(self.scale_[:, None], scale_floor(level, self.min_rel_scale))
        change = (slope - slope_before) * (self.window - 1)
        material = (np.abs(change) >= self.min_change_sd * scale) & (
            np.abs(change) >= self.min_rel_change * np.abs(level)
        )
        valid = self.valid_[:, None] & np.isfinite(new) & np.isfinite(slope)
        p_mk = 2.0 * stats.norm.sf(np.abs(np.nan_to_num(z)))
        fired = valid & material & known_before & (p_mk <= self.max_p)
        p = np.where(fired, p_mk, 1.0)
        expected = np.where(valid, level + offsets, np.nan)
        return Scores(
            score=np.where(valid, p_to_score(p), 0.0),
            p_value=p,
            expected=expected,
            lower=expected - self.z_band * scale,
            upper=expected + self.z_band * scale,
            kind=np.where(fired, TREND, 0).astype(np.int8),
            valid=valid,
            start=np.broadcast_to(np.arange(n_new)[None, :] - self.window + 1, (n_series, n_new)).copy(),
        )
