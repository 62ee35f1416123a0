"""Ratio metrics judged with their denominators: beta-binomial with overdispersion learned from history."""

from __future__ import annotations

from typing import Self

import numpy as np
from scipy import stats

from ecoradar.detect.base import DIP, SPIKE, Detector, Scores, apply_mask, as_panel, nanmedian, p_to_score
from ecoradar.detect.seasonal import phase_of
from ecoradar.errors import InputError

#: Below this many expected events (or non-events) a day, large slices are judged by count tails, not the normal.
RARE_EVENTS = 30.0

#: Median of a chi-square(1) variable: median(z^2) of standard normal residuals.
_CHI2_MEDIAN = 0.4549364


class RatioBinomial(Detector):
    """Expected rate = pooled rate of the trailing window (per weekday); the day's count is judged by beta-binomial.

    The day-to-day spread of the true rate (overdispersion rho) is estimated robustly from history, so a large slice
    is not held to the pure binomial precision it never had, and a small one is held to its sampling noise:
    1/20 -> 3/20 is ordinary, while a million-impression slice moving half a point is not.

    Series of one panel (the slices of one metric) share an empirical-Bayes prior from the panel's largest series
    (the platform total): each slice's rate is shrunk toward its rate by `prior_events` events' worth of trials,
    and no slice is taken to be less overdispersed than it is (when it is well measured): a part of the platform
    is no steadier than the whole. Rare events (reports, follows) come in clumps from a
    few videos: a slice that saw 1 report in 140k impressions has not proven a rate of 7e-6, and a day with 2
    reports there is not a 1e-7 event.

    Args:
        window (int): trailing days pooled into the expected rate.
        period (int): weekly season of the rate (1: none).
        exact_below (int): denominators below this get exact beta-binomial tails, above a normal approximation.
        z_band (float): half-width of the expected band in sds.
        prior_events (float): strength of the panel prior, in events at the pooled rate (0: none).
        well_measured (float): events in the window from which the largest series' rho floors the others'.
        clustered (bool): the numerator comes in a few large clumps (a top share: the slice's few top creators), so
            rho is the mean squared residual, not the median: their swings are the noise, not outliers to look past.
    """

    name = "ratio"

    def __init__(
        self,
        *,
        window: int = 28,
        period: int = 7,
        exact_below: int = 300,
        z_band: float = 4.0,
        prior_events: float = 10.0,
        well_measured: float = 200.0,
        clustered: bool = False,
    ):
        self.clustered = clustered
        self.prior_events = prior_events
        self.well_measured = well_measured
        self.window = window
        self.period = period
        self.exact_below = exact_below
        self.z_band = z_band

    def fit(
        self, history: np.ndarray, *, denominators: np.ndarray | None = None, calendar_mask: np.ndarray | None = None
    ) -> Self:
        """Pool successes and trials per weekday; estimate the overdispersion rho from the residuals."""
        if denominators is None:
            raise InputError("the ratio detector needs denominators (the trials behind each rate)")
        rate = apply_mask(as_panel(history), calendar_mask)
        trials = as_panel(denominators, "denominators")
        rate = np.where((trials > 0) & (rate >= 0) & (rate <= 1), rate, np.nan)[:, -self.window :]
        trials = np.where(np.isfinite(rate), trials[:, -self.window :], 0.0)
        succ = np.nan_to_num(rate * trials)
        self.n_time_ = history.shape[1]
        n_total = trials.sum(axis=1)
        # the panel's prior comes from its largest series (the platform total when the panel holds the root
        # slice; all of the largest on a tie): the same whatever other slices share the panel or their order,
        # so a split panel (Spark) decides the same
        top = n_total == n_total.max() if len(n_total) else np.zeros(0, dtype=bool)
        with np.errstate(all="ignore"):
            pooled = succ[top].sum() / n_total[top].sum() if top.any() else np.nan
        self.strength_ = self.prior_events / pooled if 0 < pooled < 1 else 0.0
        self.pooled_ = float(np.nan_to_num(pooled))
        start = self.n_time_ - rate.shape[1]
        phases = phase_of(start, rate.shape[1], self.period)
        self.rate_ = self._weekday_rates(succ, trials, start)
        p_fit = self.rate_[:, phases]
        with np.errstate(all="ignore"):
            resid2 = (rate - p_fit) ** 2 / (p_fit * (1 - p_fit))
            inv_n = np.where(trials > 0, 1.0 / trials, np.nan)
            if self.clustered:
                rho = np.nanmean(resid2, axis=1) - np.nanmean(inv_n, axis=1)
            else:
                rho = nanmedian(resid2, axis=1) / _CHI2_MEDIAN - nanmedian(inv_n, axis=1)
        rho = np.clip(np.nan_to_num(rho), 0.0, 0.5)
        floor = float(np.median(rho[top])) if top.any() and succ[top].sum(axis=1).min() >= self.well_measured else 0.0
        self.rho_ = np.maximum(rho, floor)
        self.valid_ = (np.isfinite(rate).sum(axis=1) >= min(self.min_history, self.window)) & (n_total > 0)
        return self

    def _weekday_rates(self, succ: np.ndarray, trials: np.ndarray, start: int) -> np.ndarray:
        """[n_series, period] rates: each slice shrunk to the panel's pooled rate, each weekday halfway to the slice's.

        `start` is the position of the first column in the fitted history (it fixes the weekday phases).
        """
        n_total = trials.sum(axis=1)
        phases = phase_of(start, succ.shape[1], self.period)
        onehot = phases[None, :] == np.arange(max(self.period, 1))[:, None]  # [period, window]
        with np.errstate(all="ignore"):
            p_all = (succ.sum(axis=1) + self.strength_ * self.pooled_) / (n_total + self.strength_)
            # as many prior trials as one weekday's worth
            prior = n_total / max(self.period, 1)
            rate_w = ((succ @ onehot.T) + prior[:, None] * p_all[:, None]) / ((trials @ onehot.T) + prior[:, None])
        eps = 0.5 / np.maximum(n_total, 1.0)
        return np.clip(np.nan_to_num(rate_w), eps[:, None], 1 - eps[:, None])

    def score(
        self, new: np.ndarray, *, denominators: np.ndarray | None = None, calendar_mask: np.ndarray | None = None
    ) -> Scores:
        """Two-sided tail probability of each day's successes given its trials."""
        if denominators is None:
            raise InputError("the ratio detector needs denominators (the trials behind each rate)")
        rate = as_panel(new, "new")
        trials = np.round(as_panel(denominators, "denominators"))
        p = self.rate_[:, phase_of(self.n_time_, rate.shape[1], self.period)]
        rho = self.rho_[:, None]
        valid = self.valid_[:, None] & np.isfinite(rate) & (trials > 0) & (rate >= 0) & (rate <= 1)
        n = np.where(valid, trials, 1.0)
        k = np.round(np.where(valid, rate, p) * n)
        sd = np.sqrt(p * (1 - p) * (1.0 / n + rho))
        # normal approximation with continuity correction, on the scale of the rate
        dev = np.maximum(np.abs(k - n * p) - 0.5, 0.0) / n
        pval = np.minimum(1.0, 2.0 * stats.norm.sf(dev / sd))
        small = valid & (n < self.exact_below)
        if small.any():
            pval[small] = _exact_two_sided(k[small], n[small], p[small], np.broadcast_to(rho, p.shape)[small])
        # rare events in a large slice (a handful of reports expected): the normal tail would make 2 reports where
        # 0.05 were expected a 1e-17 event; count tails are right there
        rare = valid & ~small & (n * np.minimum(p, 1 - p) < RARE_EVENTS)
        if rare.any():
            pval[rare] = _count_two_sided(k[rare], n[rare], p[rare], np.broadcast_to(rho, p.shape)[rare])
        pval = np.where(valid, pval, 1.0)
        expected = np.where(valid, p, np.nan)
        up = k / n > p
        kind = np.where(valid & (k / n != p), np.where(up, SPIKE, DIP), 0).astype(np.int8)
        return Scores(
            score=np.where(valid, p_to_score(pval), 0.0),
            p_value=pval,
            expected=expected,
            lower=np.clip(expected - self.z_band * sd, 0, 1),
            upper=np.clip(expected + self.z_band * sd, 0, 1),
            kind=kind,
            valid=valid,
        )


def _exact_two_sided(k: np.ndarray, n: np.ndarray, p: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Two-sided tail of k successes in n trials: beta-binomial where rho > 0, binomial where rho == 0."""
    over = rho > 1e-9
    with np.errstate(all="ignore"):
        m = np.where(over, 1.0 / np.maximum(rho, 1e-9) - 1.0, 1.0)
        a, b = p * m, (1 - p) * m
        upper = np.where(over, stats.betabinom.sf(k - 1, n, a, b), stats.binom.sf(k - 1, n, p))
        lower = np.where(over, stats.betabinom.cdf(k, n, a, b), stats.binom.cdf(k, n, p))
    return np.clip(2.0 * np.minimum(np.nan_to_num(upper, nan=1.0), np.nan_to_num(lower, nan=1.0)), 0.0, 1.0)


def _count_two_sided(k: np.ndarray, n: np.ndarray, p: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Two-sided tail of k rare events (or rare non-events) in n large trials, with the beta-binomial's variance."""
    flip = p > 0.5
    mu = n * np.where(flip, 1 - p, p)
    return _count_tails(np.where(flip, n - k, k), mu, mu * (1.0 + n * rho))


def _count_tails(k: np.ndarray, mu: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Two-sided tail of a count k with mean mu and variance var: negative binomial, Poisson where var <= mu."""
    over = var > mu * (1 + 1e-9)
    with np.errstate(all="ignore"):
        q = np.where(over, mu / var, 1.0)
        r = np.where(over, mu * q / np.maximum(1 - q, 1e-12), 1.0)
        upper = np.where(over, stats.nbinom.sf(k - 1, r, q), stats.poisson.sf(k - 1, mu))
        lower = np.where(over, stats.nbinom.cdf(k, r, q), stats.poisson.cdf(k, mu))
    return np.clip(2.0 * np.minimum(np.nan_to_num(upper, nan=1.0), np.nan_to_num(lower, nan=1.0)), 0.0, 1.0)
