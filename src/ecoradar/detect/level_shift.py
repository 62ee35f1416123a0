"""Level shift: the last few points sit together on one side of the level before them (a vectorized mean-shift test)."""

from __future__ import annotations

from typing import Self

import numpy as np
from scipy import stats

from ecoradar.detect.base import (
    LEVEL_SHIFT,
    Detector,
    Scores,
    as_panel,
    binomial_floor,
    nanmedian,
    p_to_score,
    point_sd,
    robust_scale,
    scale_floor,
)
from ecoradar.detect.seasonal import deseasonalize, diff_scale, phase_of, robust_slope


def _take(panel: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """panel[:, idx] for an index array of any shape; indices before the first column give NaN, past the last the
    last column (run points past the end are masked by the caller)."""
    out = panel[:, np.clip(idx, 0, panel.shape[1] - 1)]
    out[:, idx < 0] = np.nan
    return out


def lag1_autocorrelation(panel: np.ndarray) -> np.ndarray:
    """Lag-1 autocorrelation of each row's residual from its least-squares line, clipped to [0, 0.9] (NaN -> 0).

    Organic drifts (cohorts ageing, slow mix changes) leave runs on one side of any reference; this measures how
    much, from the slice's own history, so a run of `a` days counts as a * (1 - rho) / (1 + rho) independent ones.
    """
    x = np.where(np.isfinite(panel), panel, np.nan)
    t = np.arange(x.shape[1], dtype=float)
    ok = np.isfinite(x)
    n = np.maximum(ok.sum(axis=1), 1)
    with np.errstate(all="ignore"):
        tm = (t * ok).sum(axis=1) / n
        xm = np.nansum(x, axis=1) / n
        dt_ = np.where(ok, t - tm[:, None], 0.0)
        beta = np.nansum(dt_ * (x - xm[:, None]), axis=1) / (dt_**2).sum(axis=1)
        r = np.where(ok, x - xm[:, None] - beta[:, None] * dt_, np.nan)
        rho = np.nansum(r[:, 1:] * r[:, :-1], axis=1) / np.nansum(r * r, axis=1)
    return np.clip(np.nan_to_num(rho, nan=0.0, posinf=0.0, neginf=0.0), 0.0, 0.9)


class LevelShift(Detector):
    """For every split a = min_after..max_after points back, test whether all `a` points sit beyond the level before.

    The evidence of a run is its smallest deviation: all `a` points beyond m sds on one side has probability
    2 * sf(m)^a without a shift, so one spike (with ordinary neighbours) is no shift. That bound treats the points
    as independent, but they share the reference's error, so the run's mean must also stand out from the reference
    with both errors counted (the larger of the two p-values: an intersection-union test). The smallest p-value
    over splits is Bonferroni-corrected for the number of splits tried.

    Args:
        period (int): weekly season removed before testing (1: none).
        before (int): points before the split that give the reference level.
        min_after (int): shortest run that can make a shift (2: a single point is a spike, not a shift).
        max_after (int): longest run tested.
        z_band (float): half-width of the expected band in noise sds.
        min_rel_scale (float): noise sd floor as a share of the level.
        df (float): degrees of freedom of the Student t tails (the level and sd are estimated).
        shared_growth (bool): the panel is a volume's slices, growing with the total (see `robust_slope`).
    """

    name = "level_shift"

    def __init__(
        self,
        *,
        period: int = 7,
        before: int = 28,
        min_after: int = 2,
        max_after: int = 7,
        z_band: float = 4.0,
        min_rel_scale: float = 0.005,
        df: float = 10.0,
        shared_growth: bool = False,
    ):
        self.df = df
        self.shared_growth = shared_growth
        self.period = period
        self.before = before
        self.min_after = min_after
        self.max_after = max_after
        self.z_band = z_band
        self.min_rel_scale = min_rel_scale

    def fit(
        self,
        history: np.ndarray,
        *,
        denominators: np.ndarray | None = None,
        calendar_mask: np.ndarray | None = None,
        units: np.ndarray | None = None,
    ) -> Self:
        """Remember the deseasonalized history and its noise sd.

        `units`, given when a proportion's numerator comes in lumps (a creator's impressions), are the independent
        events behind each point, fewer than its denominator: a run's points are then no more precise than their own
        units make them. Without them the run is judged by the history's noise (the null's, not the run's own rate:
        reports rising from 0.01% to 0.1% are not made noisier by the rise).
        """
        panel, self.offsets_, self.deseason_ = deseasonalize(history, calendar_mask, self.period)
        self.n_time_ = panel.shape[1]
        with np.errstate(all="ignore"):
            level = nanmedian(self.deseason_, axis=1)
        floor = np.maximum(scale_floor(level, self.min_rel_scale), binomial_floor(panel, denominators))
        self.scale_ = np.maximum(diff_scale(self.deseason_), floor)
        self.point_sd_ = None if units is None else point_sd(panel, units)
        self.valid_ = np.isfinite(panel).sum(axis=1) >= max(self.min_history, self.before // 2 + self.max_after)
        rho = lag1_autocorrelation(self.deseason_)
        self.run_weight_ = (1.0 - rho) / (1.0 + rho)
        return self

    def score(
        self,
        new: np.ndarray,
        *,
        denominators: np.ndarray | None = None,
        calendar_mask: np.ndarray | None = None,
        units: np.ndarray | None = None,
    ) -> Scores:
        """Shift evidence at each new point, from runs that end at that point (`units`: as in `fit`)."""
        new = as_panel(new, "new")
        n_series, n_new = new.shape
        offsets = self.offsets_[:, phase_of(self.n_time_, n_new, self.period)]
        series = np.concatenate([self.deseason_, new - offsets], axis=1)
        afters = np.arange(self.min_after, self.max_after + 1)
        # every (new point i, run length a) pair at once: the run is series[end-a:end], end = n_time + i + 1,
        # and its reference is the median of the `before` points preceding it; references depend on end - a only
        ends = self.n_time_ + np.arange(n_new) + 1
        split = ends[:, None] - afters[None, :]  # [n_new, n_afters] first index of each run
        uniq, inv = np.unique(split, return_inverse=True)
        ref_idx = uniq[:, None] - self.before + np.arange(self.before)[None, :]  # [n_uniq, before]
        refs = _take(series, ref_idx)
        # reference: the before-median carried along the before-window's steady slope (growth is not a shift)
        base_u = nanmedian(refs, axis=2)  # [n_series, n_uniq]
        base = base_u[:, inv.reshape(split.shape)]  # [n_series, n_new, n_afters]
        slope = robust_slope(refs, self.scale_, base_u if self.shared_growth else None)[:, inv.reshape(split.shape)]
        n_before = np.isfinite(refs).sum(axis=2)[:, inv.reshape(split.shape)]
        # noise: day-to-day sd, or the before-window's own spread when the level wanders more than that
        spread = robust_scale(refs, axis=2)[:, inv.reshape(split.shape)]
        noise = np.maximum(self.scale_[:, None, None], spread)
        run_idx = split[:, :, None] + np.arange(self.max_after)[None, None, :]  # [n_new, n_afters, max_after]
        in_run = run_idx < ends[:, None, None]
        if self.point_sd_ is not None and units is not None:
            # a proportion's run is no more precise than its own points' sampling noise (a run of days when one
            # creator holds a slice's numerator is a handful of events, however quiet the weeks before)
            sd = np.concatenate([self.point_sd_, point_sd(new, as_panel(units, "units"))], axis=1)
            run_sd = _take(sd, run_idx)
            noise = np.maximum(noise, nanmedian(np.where(in_run, run_sd, np.nan), axis=3))
            # nor than the reference's (a creator who held the numerator before the run may simply have left)
            noise = np.maximum(noise, nanmedian(_take(sd, ref_idx), axis=2)[:, inv.reshape(split.shape)])
        scale = noise * np.sqrt(1.0 + np.pi / 2.0 / np.maximum(n_before, 1))
        run = _take(series, run_idx)  # [n_series, n_new, n_afters, max_after]
        ahead = (self.before + 1) / 2.0 + np.arange(self.max_after)  # run points from the before-window centre
        level = base[..., None] + slope[..., None] * ahead
        dev = np.where(in_run, (run - level) / scale[..., None], np.nan)
        up = np.all((dev > 0) | ~in_run, axis=3)
        down = np.all((dev < 0) | ~in_run, axis=3)
        with np.errstate(all="ignore"):
            # no shift: P(all a points beyond m on one side) = 2 * sf(m)^a, m = smallest |dev| (t tails)
            m = np.min(np.where(in_run, np.abs(np.nan_to_num(dev, nan=0.0)), np.inf), axis=3)
            # a points of a series that wanders (autocorrelated noise) are worth fewer independent ones
            runs = afters[None, None, :] * self.run_weight_[:, None, None]
            lp_run = np.log(2.0) + runs * stats.t.logsf(m, self.df)
            # and the run's mean beyond the reference, whose own error all run points share (an intersection-union
            # test: a shift needs both, so one lucky reference cannot make a week of ordinary points a shift)
            mean = np.nansum(dev, axis=3) / np.isfinite(dev).sum(axis=3) * scale  # the run's mean gap
            se = noise * np.sqrt(1.0 / np.maximum(runs, 1.0) + np.pi / 2.0 / np.maximum(n_before, 1))
            # a mean of several points has lighter tails than one point: t with the reference window's df
            df_mean = np.maximum(n_before - 1, self.df)
            lp = np.maximum(lp_run, np.log(2.0) + stats.t.logsf(np.abs(mean) / se, df_mean))
        ok = (up | down) & np.isfinite(lp) & (n_before >= self.before // 2)
        lp = np.where(ok, lp, 0.0)
        best = lp.argmin(axis=2)
        take = best[..., None]
        log_p = np.take_along_axis(lp, take, axis=2)[..., 0]
        best_a = afters[best]
        sign = np.where(log_p < 0, np.where(np.take_along_axis(up, take, axis=2)[..., 0], 1.0, -1.0), 0.0)
        now = base + slope * ((self.before + 1) / 2.0 + afters - 1)  # reference at the scored point
        ref = np.take_along_axis(now, take, axis=2)[..., 0]
        valid = self.valid_[:, None] & np.isfinite(new)
        p = np.where(valid, np.minimum(1.0, np.exp(log_p) * len(afters)), 1.0)
        expected = np.where(valid, ref + offsets, np.nan)
        band = self.z_band * self.scale_[:, None]
        fired = valid & (sign != 0)
        return Scores(
            score=np.where(valid, p_to_score(p), 0.0),
            p_value=p,
            expected=expected,
            lower=expected - band,
            upper=expected + band,
            kind=np.where(fired, LEVEL_SHIFT, 0).astype(np.int8),
            valid=valid,
            start=np.arange(n_new)[None, :] - best_a + 1,
        )
