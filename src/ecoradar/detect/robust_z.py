"""Generic detector for any single series: robust z-scores at several window lengths plus mean-shift evidence."""

from __future__ import annotations

from typing import Self

import numpy as np
import pandas as pd
from scipy import stats

from ecoradar.detect.base import (
    DIP,
    LEVEL_SHIFT,
    MAD_TO_SD,
    SPIKE,
    Detector,
    Scores,
    apply_mask,
    as_panel,
    nanmedian,
    p_to_score,
    robust_scale,
    scale_floor,
)


class RobustZ(Detector):
    """An ensemble of robust z-scores (median/MAD over trailing windows of several lengths) and a short-run mean test.

    The p-value of a point is the smallest over the ensemble members, Bonferroni-corrected. On a panel, `fit`
    takes each window's statistics from the end of the history; `stream` scores a single series row by row
    from the rows before it only (causal, for online use).

    Args:
        windows (tuple[int, ...]): trailing window lengths, in points.
        run (int): length of the recent run whose mean is tested against the longest window (change evidence).
        min_rel_scale (float): scale floor as a share of the median, so constant series do not divide by 0.
        refractory (float): after an alarm the next refractory x (rows so far) rows score 0 (stream only):
            a detector that has just raised an alarm should not raise copies of it.
        alarm_score (float): score at or above which a row is an alarm.
        surprise_short (int): stream only, 0 = off: each member's surprisal (-log10 p), averaged over this many
            rows, is re-judged against that member's own past surprisals (an anomaly likelihood), so members that
            are always surprised on a series (a level z on a strongly periodic one) stop counting.
        surprise_long (int): rows of past surprisals that judgement uses.
        seasonal_cycles (int): stream only, 0 = off: add a member comparing each row with the median of the same
            phase in this many previous cycles (period estimated from the first `period_probe` rows).
        period_probe (int): rows used to estimate the period; the seasonal member is silent before them.

    `stream` also scores the first rows of `Novelty` (novelty.py), the default `detect-series` detector.
    """

    name = "robust_z"
    min_history = 8

    def __init__(
        self,
        *,
        windows: tuple[int, ...] = (128, 512),
        run: int = 3,
        min_rel_scale: float = 0.001,
        refractory: float = 0.04,
        alarm_score: float = 0.5,
        surprise_short: int = 5,
        surprise_long: int = 500,
        seasonal_cycles: int = 3,
        period_probe: int = 600,
    ):
        self.windows = tuple(windows)
        self.run = run
        self.min_rel_scale = min_rel_scale
        self.refractory = refractory
        self.alarm_score = alarm_score
        self.surprise_short = surprise_short
        self.surprise_long = surprise_long
        self.seasonal_cycles = seasonal_cycles
        self.period_probe = period_probe

    def fit(
        self, history: np.ndarray, *, denominators: np.ndarray | None = None, calendar_mask: np.ndarray | None = None
    ) -> Self:
        """Median and robust scale of the trailing part of each window length."""
        panel = apply_mask(as_panel(history), calendar_mask)
        with np.errstate(all="ignore"):
            self.medians_ = np.stack([nanmedian(panel[:, -w:], axis=1) for w in self.windows], axis=1)
            self.scales_ = np.stack(
                [
                    robust_scale(panel[:, -w:], floor=scale_floor(self.medians_[:, i], self.min_rel_scale))
                    for i, w in enumerate(self.windows)
                ],
                axis=1,
            )
        self.tail_ = panel[:, -self.run :]
        self.valid_ = np.isfinite(panel).sum(axis=1) >= self.min_history
        return self

    def score(
        self, new: np.ndarray, *, denominators: np.ndarray | None = None, calendar_mask: np.ndarray | None = None
    ) -> Scores:
        """Smallest Bonferroni p over the window z-scores (the run test uses history + new)."""
        new = as_panel(new, "new")
        z = (new[:, :, None] - self.medians_[:, None, :]) / self.scales_[:, None, :]
        run_z = _run_z(np.concatenate([self.tail_, new], axis=1), self.run)[:, -new.shape[1] :]
        run_z = (run_z - self.medians_[:, None, -1:][..., 0]) / self.scales_[:, None, -1] * np.sqrt(self.run)
        valid = self.valid_[:, None] & np.isfinite(new)
        return self._combine(
            z,
            run_z,
            new,
            self.medians_[:, None, -1].repeat(new.shape[1], 1),
            self.scales_[:, None, -1].repeat(new.shape[1], 1),
            valid,
        )

    def stream(self, values: np.ndarray, *, causal: bool = True) -> Scores:
        """Score one series: causal (row t judged from rows before t only) or, offline, from centred windows.

        Returns:
            Scores of shape [1, n].
        """
        x = pd.Series(np.asarray(values, dtype=float))
        zs, med, sc = [], None, None
        for w in self.windows:
            past = x.shift(1) if causal else x
            med = past.rolling(w, min_periods=self.min_history, center=not causal).median()
            mad = (past - med).abs().rolling(w, min_periods=self.min_history, center=not causal).median() * MAD_TO_SD
            sc = np.maximum(mad.to_numpy(), scale_floor(med.to_numpy(), self.min_rel_scale))
            zs.append(((x - med) / sc).to_numpy())
        if self.seasonal_cycles:
            zs.append(self._seasonal_z(x, causal))
        z = np.stack(zs, axis=1)[None]  # [1, n, n_members]
        run_mean = x.rolling(self.run, min_periods=self.run).mean().to_numpy()
        base = x.shift(self.run).rolling(self.windows[-1], min_periods=self.min_history).median().to_numpy()
        run_z = ((run_mean - base) / sc * np.sqrt(self.run))[None]
        valid = np.isfinite(x.to_numpy()) & np.isfinite(med.to_numpy())
        if self.surprise_short:
            members = np.concatenate([z, run_z[..., None]], axis=2)[0]
            z = _relative_surprise(members, self.surprise_short, self.surprise_long)[None]
            run_z = np.zeros_like(run_z)
        scores = self._combine(z, run_z, x.to_numpy()[None], med.to_numpy()[None], sc[None], valid[None])
        if self.refractory:
            scores = damp_after_alarms(scores, self.refractory, self.alarm_score)
        return scores

    def _seasonal_z(self, x: pd.Series, causal: bool) -> np.ndarray:
        """Robust z of the residual from the median of the same phase in the last cycles (period from the start).

        The period is estimated from the first `period_probe` rows only, so rows after them are still judged
        causally; before that (or with no clear period) the member is silent.
        """
        n = len(x)
        period = estimate_period(x.to_numpy()[: self.period_probe])
        if period is None:
            return np.zeros(n)
        lags = [x.shift(k * period) for k in range(1, self.seasonal_cycles + 1)]
        if not causal:
            lags += [x.shift(-k * period) for k in range(1, self.seasonal_cycles + 1)]
        resid = x - pd.concat(lags, axis=1).median(axis=1, skipna=True)
        w = self.windows[-1]
        past = resid.shift(1) if causal else resid
        med = past.rolling(w, min_periods=self.min_history, center=not causal).median()
        mad = (past - med).abs().rolling(w, min_periods=self.min_history, center=not causal).median() * MAD_TO_SD
        scale = np.maximum(
            mad.to_numpy(), scale_floor(x.rolling(w, min_periods=1).median().to_numpy(), self.min_rel_scale)
        )
        z = ((resid - med) / scale).to_numpy(copy=True)
        if causal:
            z[: self.period_probe] = 0.0
        return np.nan_to_num(z)

    def _combine(self, z, run_z, observed, expected, scale, valid) -> Scores:
        """Bonferroni-combined p-value of all members; kind from the strongest member."""
        z = np.nan_to_num(z)
        run_z = np.nan_to_num(run_z)
        members = np.concatenate([z, run_z[..., None]], axis=2)
        strongest = np.take_along_axis(members, np.abs(members).argmax(axis=2)[..., None], axis=2)[..., 0]
        p = np.minimum(1.0, 2.0 * stats.norm.sf(np.abs(members).max(axis=2)) * members.shape[2])
        p = np.where(valid, p, 1.0)
        shift = np.abs(run_z) >= np.abs(z).max(axis=2)
        kind = np.where(shift, LEVEL_SHIFT, np.where(strongest > 0, SPIKE, DIP))
        expected = np.where(valid, expected, np.nan)
        return Scores(
            score=np.where(valid, p_to_score(p), 0.0),
            p_value=p,
            expected=expected,
            lower=expected - 4.0 * scale,
            upper=expected + 4.0 * scale,
            kind=np.where(valid & (strongest != 0), kind, 0).astype(np.int8),
            valid=valid,
        )


def estimate_period(values: np.ndarray, min_lag: int = 4, min_acf: float = 0.3) -> int | None:
    """Dominant cycle length: the highest local peak of the autocorrelation (None when no peak reaches min_acf)."""
    x = values[np.isfinite(values)]
    if len(x) < 4 * min_lag or np.std(x) == 0:
        return None
    x = x - x.mean()
    spec = np.fft.rfft(x, 2 * len(x))
    acf = np.fft.irfft(spec * np.conj(spec))[: len(x) // 2]
    acf = acf / acf[0]
    peak = (acf[1:-1] > acf[:-2]) & (acf[1:-1] >= acf[2:]) & (acf[1:-1] >= min_acf)
    lags = np.flatnonzero(peak) + 1
    lags = lags[lags >= min_lag]
    return int(lags[np.argmax(acf[lags])]) if len(lags) else None


def _run_z(panel: np.ndarray, run: int) -> np.ndarray:
    """Trailing mean of `run` points (NaN until enough points)."""
    c = np.cumsum(np.nan_to_num(panel), axis=1)
    out = np.full(panel.shape, np.nan)
    out[:, run - 1 :] = (c[:, run - 1 :] - np.pad(c, ((0, 0), (1, 0)))[:, : c.shape[1] - run + 1]) / run
    return out


def _relative_surprise(members: np.ndarray, short: int, long: int) -> np.ndarray:
    """Re-judge each member's surprisal against that member's own past (an anomaly likelihood), as signed z.

    A member that is surprised all the time (a level z on a strongly periodic series) stops counting; one that
    is usually calm and now is not stands out. Returns [n, n_members] z-scores with the sign of the raw member.
    """
    logp = pd.DataFrame(-np.log10(np.clip(2.0 * stats.norm.sf(np.abs(np.nan_to_num(members))), 1e-300, 1.0)))
    recent = logp.rolling(short, min_periods=1).mean()
    past = logp.shift(1).rolling(long, min_periods=short * 4)
    zz = ((recent - past.mean()) / np.maximum(past.std(), 1e-3)).to_numpy()
    return np.sign(members) * np.clip(np.nan_to_num(zz), 0.0, None)


def damp_after_alarms(scores: Scores, refractory: float, alarm_score: float) -> Scores:
    """Zero the scores of the rows after each alarm, for `refractory` x (rows seen so far) rows.

    The quiet spell grows with the history, so it is causal and scale-free: a day-level series of 120 rows stays
    quiet for a few rows, a five-minute stream of 20,000 for hundreds.
    """
    s = scores.score[0].copy()
    quiet_until = -1
    for t in np.flatnonzero(s >= alarm_score):  # alarms are rare: loop over alarms, not rows
        if t > quiet_until:
            quiet_until = t + max(1, int(refractory * t))
            s[t + 1 : quiet_until + 1] = 0.0
    return Scores(
        score=s[None],
        p_value=scores.p_value,
        expected=scores.expected,
        lower=scores.lower,
        upper=scores.upper,
        kind=scores.kind,
        valid=scores.valid,
    )
