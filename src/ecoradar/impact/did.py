"""Difference-in-differences against the average of the controls: a simple, assumption-light cross-check."""

from __future__ import annotations

import numpy as np
from statsmodels.regression.linear_model import OLS

from ecoradar.impact.base import Counterfactual, ImpactEstimator


class DiD(ImpactEstimator):
    """Effect = (post - pre change of the target) - (post - pre change of the control group).

    The control group is the plain average of the controls, so they should be in the target's units (the same metric
    in untouched slices): classic parallel trends in levels. The standard error of the mean gap comes from a
    Newey-West regression of the gap on a post-period dummy, so autocorrelated noise does not shrink the interval.
    With no controls this is the plain pre/post difference.
    """

    name = "did"
    min_pre = 3

    def __init__(self, *, seed: int = 1, n_draws: int = 1000) -> None:
        """Args:
        seed (int): random seed of the draws.
        n_draws (int): number of draws of the counterfactual (the estimate itself is closed-form).
        """
        self.seed = seed
        self.n_draws = n_draws

    def counterfactual(self, y: np.ndarray, controls: np.ndarray | None, n_pre: int) -> Counterfactual:
        rng = np.random.default_rng(self.seed)
        n = len(y)
        has_controls = controls is not None and controls.shape[1]
        control = controls.mean(axis=1) if has_controls else np.zeros(n)
        gap = y - control
        post = (np.arange(n) >= n_pre).astype(float)
        ok = ~np.isnan(gap)
        ols = OLS(gap[ok], np.column_stack([np.ones(ok.sum()), post[ok]]))
        lags = int(np.floor(4 * (ok.sum() / 100) ** (2 / 9)))
        fit = ols.fit(cov_type="HAC", cov_kwds={"maxlags": lags})
        resid_sd = float(np.sqrt(fit.scale))
        level = control + fit.params[0]
        se = float(fit.bse[1]) if n > n_pre else 0.0
        # split the variance of the average effect into a shared shift and per-point noise
        h = max(n - n_pre, 1)
        shift_sd = np.sqrt(max(se**2 - resid_sd**2 / h, 0.0))
        shift = rng.standard_normal((self.n_draws, 1)) * shift_sd * post
        draws = level + shift + rng.standard_normal((self.n_draws, n)) * resid_sd
        return Counterfactual(draws=draws, noise_sd=resid_sd)
