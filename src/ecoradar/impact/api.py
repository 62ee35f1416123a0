"""Did it work? Effect estimates, verdicts, control selection and placebo checks for any series."""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
import pandas as pd

from ecoradar.errors import InputError
from ecoradar.impact.base import Counterfactual, get_estimator
from ecoradar.impact.records import (
    DiDEstimate,
    GoodDirection,
    ImpactPoint,
    ImpactResult,
    PlaceboRun,
    PlaceboSummary,
    Verdict,
)

Baseline = float | tuple[float, float] | Literal["auto"] | None


def _label(value) -> str:
    """A period bound or index value as text: ISO date for timestamps, else str."""
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    return str(value)


def _numeric(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    """Columns as float, or an InputError naming the first non-numeric column and value."""
    out = {}
    for col in frame.columns:
        values = pd.to_numeric(frame[col], errors="coerce")
        bad = values.isna() & frame[col].notna()
        if bad.any():
            row = bad.to_numpy().nonzero()[0][0]
            raise InputError(
                f"{what} column {col!r} is not numeric: value {frame[col].iloc[row]!r} at {_label(frame.index[row])}"
            )
        out[col] = values.astype(float)
    return pd.DataFrame(out, index=frame.index)


def _between(index: pd.Index, start, end) -> np.ndarray:
    """Mask of index labels in [start, end]; dates given as text are parsed on a DatetimeIndex."""
    if isinstance(index, pd.DatetimeIndex):
        start, end = pd.Timestamp(start), pd.Timestamp(end)
    return (index >= start) & (index <= end)


def _window(index: pd.Index, pre_period: tuple, post_period: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the pre- and post-period rows (bounds inclusive), checked against the data."""
    if len(pre_period) != 2 or len(post_period) != 2:
        raise InputError("pre_period and post_period must each be a (start, end) pair")
    first, last = index[0], index[-1]
    dated = isinstance(first, pd.Timestamp)
    if dated and any(isinstance(b, int | np.integer) for b in (*pre_period, *post_period)):
        raise InputError(
            f"period bounds {pre_period}, {post_period} are row numbers but the series is dated: pass dates"
        )
    try:
        bounds = [pd.Timestamp(b) if dated else b for b in (*pre_period, *post_period)]
    except (TypeError, ValueError):
        raise InputError(f"period bounds {pre_period}, {post_period} are not dates (the series is dated)") from None
    try:
        pre_start, pre_end, post_start, post_end = bounds
        if post_start < first:
            raise InputError(f"post-period start {_label(post_start)} is before the data start {_label(first)}")
        if post_start > last:
            raise InputError(f"post-period start {_label(post_start)} is after the data end {_label(last)}")
        if pre_start < first:
            raise InputError(f"pre-period start {_label(pre_start)} is before the data start {_label(first)}")
        if post_end > last:
            raise InputError(f"post-period end {_label(post_end)} is after the data end {_label(last)}")
        if not pre_start <= pre_end < post_start <= post_end:
            raise InputError(
                "periods must satisfy pre_start <= pre_end < post_start <= post_end; got "
                f"pre {_label(pre_start)}..{_label(pre_end)}, post {_label(post_start)}..{_label(post_end)}"
            )
    except TypeError as exc:
        raise InputError(f"period bounds do not match the series index ({index.dtype}): {exc}") from None
    pre = np.flatnonzero((index >= pre_start) & (index <= pre_end))
    post = np.flatnonzero((index >= post_start) & (index <= post_end))
    return pre, post


class _Data(NamedTuple):
    """Validated arrays over [history] + pre + post rows."""

    y: np.ndarray
    X: np.ndarray | None
    names: list[str]
    n_hist: int
    """Rows before the pre-period (only with history=True; else 0)."""
    n_pre: int
    labels: list[str]
    warnings: list[str]


def _prepare(y: pd.Series, controls, pre_period, post_period, min_pre: int, *, history: bool = False) -> _Data:
    """Validate and align inputs; with history, also keep every row before the pre-period (the pre-issue window)."""
    if not isinstance(y, pd.Series):
        raise InputError(f"y must be a pandas Series, got {type(y).__name__}")
    if len(y) == 0:
        raise InputError("the series is empty")
    if not y.index.is_monotonic_increasing:
        y = y.sort_index()
    yf = _numeric(y.to_frame(y.name if y.name is not None else "y"), "target").iloc[:, 0]
    pre, post = _window(yf.index, pre_period, post_period)
    warnings: list[str] = []
    n_pre_obs = int(yf.iloc[pre].notna().sum())
    if n_pre_obs < min_pre:
        raise InputError(f"pre-period too short: {n_pre_obs} observed points, the estimator needs at least {min_pre}")
    if not len(post):
        raise InputError("post-period holds no rows")
    if yf.iloc[post].isna().any():
        missing = _label(yf.index[post][yf.iloc[post].isna().to_numpy()][0])
        raise InputError(f"target has missing values in the post-period (first at {missing})")
    hist = np.arange(pre[0]) if history else np.arange(0)
    rows = np.concatenate([hist, pre, post])
    X, names = None, []
    if controls is not None and controls.shape[1]:
        cx = _numeric(controls, "control").reindex(yf.index).iloc[rows]
        usable = []
        for col in cx.columns:
            values = cx[col].to_numpy()
            if np.isnan(values).any():
                warnings.append(f"control {col!r} dropped: missing values in the window")
            elif np.nanstd(values[len(hist) : len(hist) + len(pre)]) == 0:
                warnings.append(f"control {col!r} dropped: constant in the pre-period")
            else:
                usable.append(col)
        if not usable:
            raise InputError(
                "no usable controls: every control is constant in the pre-period or has missing values ("
                + "; ".join(w.removesuffix(" in the window") for w in warnings)
                + ")"
            )
        names = [str(c) for c in usable]
        X = cx[usable].to_numpy()
    labels = [_label(v) for v in yf.index[rows]]
    return _Data(yf.iloc[rows].to_numpy(), X, names, len(hist), len(pre), labels, warnings)


def _summarise(y: np.ndarray, cf: Counterfactual, n_pre: int, alpha: float) -> dict:
    """CausalImpact's summary statistics from posterior-predictive draws."""
    q = (alpha / 2, 1 - alpha / 2)
    post = cf.draws[:, n_pre:]
    y_post = y[n_pre:]
    pred_avg = post.mean(axis=1)
    effect = y_post.mean() - pred_avg
    cum = y_post.sum() - post.sum(axis=1)
    total = y_post.sum()
    sums = np.append(post.sum(axis=1), total)
    p = min((sums >= total).sum(), (sums <= total).sum()) / sums.size
    pred_mean = float(pred_avg.mean())
    lo, hi = np.quantile(effect, q)
    rel = (lambda v: float(v / pred_mean)) if pred_mean != 0 else (lambda v: None)
    return {
        "actual_average": float(y_post.mean()),
        "predicted_average": pred_mean,
        "predicted_lower": float(np.quantile(pred_avg, q[0])),
        "predicted_upper": float(np.quantile(pred_avg, q[1])),
        "average_effect": float(effect.mean()),
        "lower": float(lo),
        "upper": float(hi),
        "average_effect_sd": float(effect.std(ddof=1)),
        "cumulative_effect": float(cum.mean()),
        "cumulative_lower": float(np.quantile(cum, q[0])),
        "cumulative_upper": float(np.quantile(cum, q[1])),
        "relative_effect": rel(effect.mean()),
        "relative_lower": rel(lo),
        "relative_upper": rel(hi),
        "p_value": float(p),
    }


def _series(y: np.ndarray, cf: Counterfactual, n_pre: int, labels: list[str], alpha: float) -> list[ImpactPoint]:
    """Per-time observed, counterfactual band, pointwise and cumulative effects (cumulative from the post start)."""
    q = (alpha / 2, 1 - alpha / 2)
    pred = cf.draws.mean(axis=0)
    pred_lo, pred_hi = np.quantile(cf.draws, q, axis=0)
    # y - draws: its quantiles are y minus the reversed quantiles of the draws
    eff, eff_lo, eff_hi = y - pred, y - pred_hi, y - pred_lo
    cum = np.cumsum(np.where(np.arange(len(y)) >= n_pre, y - cf.draws, 0.0), axis=1)
    c, (c_lo, c_hi) = cum.mean(axis=0), np.quantile(cum, q, axis=0)
    out = []
    for i, label in enumerate(labels):
        obs = None if np.isnan(y[i]) else float(y[i])
        out.append(
            ImpactPoint(
                time=label,
                period="pre" if i < n_pre else "post",
                observed=obs,
                predicted=float(pred[i]),
                predicted_lower=float(pred_lo[i]),
                predicted_upper=float(pred_hi[i]),
                point_effect=None if obs is None else float(eff[i]),
                point_lower=None if obs is None else float(eff_lo[i]),
                point_upper=None if obs is None else float(eff_hi[i]),
                cumulative_effect=float(c[i]),
                cumulative_lower=float(c_lo[i]),
                cumulative_upper=float(c_hi[i]),
            )
        )
    return out


def verdict(
    stats: dict,
    *,
    post_level: float,
    noise_sd: float,
    good_direction: GoodDirection = "up",
    baseline: Baseline = None,
) -> tuple[Verdict, str, float | None]:
    """Map an effect interval (and a baseline, when known) to a verdict, a one-line reason and the recovered share.

    Rule: the (1 - alpha) interval of the average effect covers 0 -> no_effect; it excludes 0 on the bad side ->
    worse; on the good side -> recovered when the post-fix level (mean of the last half of the post-period) is back
    in the pre-issue band, else partially_recovered. The band is (low, high) as given, or a single baseline level
    +- the larger of two observation-noise sds (the series' normal range) and a quarter of the deviation
    |baseline - counterfactual| (so "recovered" means at least three quarters of the way back). Without a
    baseline, a significant good-direction effect is 'recovered' (read: "positive effect"): there is nothing to be
    back to, so 'partially_recovered' never occurs.

    Args:
        stats (dict): output of the summary (average_effect, lower, upper, predicted_average).
        post_level (float): observed mean of the last half of the post-period.
        noise_sd (float): observation-noise sd of the counterfactual model.
        good_direction (str): "up" when higher values are better, "down" when lower are.
        baseline (float | tuple | None): pre-issue level or (low, high) band.
    """
    if good_direction not in ("up", "down"):
        raise InputError(f"unknown good_direction {good_direction!r}; allowed: down, up")
    sign = 1.0 if good_direction == "up" else -1.0
    lo, hi = stats["lower"], stats["upper"]
    share = None
    if baseline is not None:
        if isinstance(baseline, tuple):
            low, high = baseline
        else:
            tol = max(2 * noise_sd, abs(baseline - stats["predicted_average"]) / 4)
            low, high = baseline - tol, baseline + tol
        target = (low + high) / 2
        gap = target - stats["predicted_average"]
        share = float(stats["average_effect"] / gap) if gap != 0 else None
    if lo <= 0.0 <= hi:
        return "no_effect", f"the {1 - stats['alpha']:.0%} interval [{lo:.4g}, {hi:.4g}] covers 0", share
    good = (lo > 0) == (sign > 0)
    if not good:
        return "worse", f"significant effect in the bad direction ({good_direction} is good)", share
    if baseline is None:
        return (
            "recovered",
            "significant effect in the good direction; no baseline given, so the level is not checked",
            share,
        )
    back = post_level >= low if sign > 0 else post_level <= high
    if back:
        return (
            "recovered",
            f"significant, and the post-fix level {post_level:.4g} is back within [{low:.4g}, {high:.4g}]",
            share,
        )
    return (
        "partially_recovered",
        f"significant, but the post-fix level {post_level:.4g} is still outside [{low:.4g}, {high:.4g}]",
        share,
    )


def estimate_impact(
    y: pd.Series,
    controls: pd.DataFrame | None = None,
    *,
    pre_period: tuple,
    post_period: tuple,
    estimator: str = "bsts",
    good_direction: GoodDirection = "up",
    baseline: Baseline = None,
    alpha: float = 0.05,
    placebo: int = 0,
    estimator_options: dict | None = None,
) -> ImpactResult:
    """Estimate the effect of an intervention on y over post_period, against a counterfactual from controls.

    Args:
        y (pd.Series): the target series, indexed by date (DatetimeIndex) or row number.
        controls (pd.DataFrame | None): series the intervention did not touch, on the same index.
        pre_period (tuple): (start, end) index labels, inclusive, of the fitting window.
        post_period (tuple): (start, end) index labels, inclusive, of the evaluated window.
        estimator (str): registered estimator ("bsts" or "did").
        good_direction (str): "up" or "down": which way is better for this metric.
        baseline (float | tuple | str | None): pre-issue level, (low, high) band, or "auto": fit the same model on
            every row before pre_period (the pre-issue window) and use its forecast band for the post-fix level,
            which follows platform-wide drift that a fixed level cannot. Decides recovered vs partially_recovered.
        alpha (float): 1 - interval level.
        placebo (int): number of placebo fix dates in the pre-period (0 for none).
        estimator_options (dict | None): tunables of the estimator, e.g. {"nseasons": 7}.

    Returns:
        ImpactResult with the estimate, the verdict, the chart series, a DiD cross-check and placebo results.

    Raises:
        InputError: bad periods, too short a pre-period, non-numeric or unusable data.
    """
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be in (0, 1), got {alpha}")
    est = get_estimator(estimator, **(estimator_options or {}))
    d = _prepare(y, controls, pre_period, post_period, est.min_pre, history=baseline == "auto")
    yv, X, names, n_pre, labels, warnings = d.y[d.n_hist :], d.X, d.names, d.n_pre, d.labels[d.n_hist :], d.warnings
    X_all, X = X, None if X is None else X[d.n_hist :]
    cf = est.counterfactual(yv, X, n_pre)
    stats = _summarise(yv, cf, n_pre, alpha) | {"alpha": alpha}
    post_y = yv[n_pre:]
    tail = len(post_y) - len(post_y) // 2  # the post-fix level: the last half of the post-period
    post_level = float(post_y[-tail:].mean())
    if baseline == "auto":
        if d.n_hist < est.min_pre:
            raise InputError(
                f"baseline='auto' needs at least {est.min_pre} points before the pre-period (the pre-issue window); "
                f"got {d.n_hist}"
            )
        # where the series would be now had the issue never happened: fit on the pre-issue rows only
        no_issue = est.counterfactual(d.y, X_all, d.n_hist).draws[:, -tail:].mean(axis=1)
        baseline = tuple(float(v) for v in np.quantile(no_issue, (alpha / 2, 1 - alpha / 2)))
    word, reason, share = verdict(
        stats, post_level=post_level, noise_sd=cf.noise_sd, good_direction=good_direction, baseline=baseline
    )
    did = None
    if estimator != "did":
        dd = _summarise(yv, get_estimator("did").counterfactual(yv, X, n_pre), n_pre, alpha)
        did = DiDEstimate(dd["average_effect"], dd["lower"], dd["upper"], dd["p_value"])
    placebo_summary = None
    if placebo:
        cx = None if X is None else pd.DataFrame(X[:n_pre], columns=names)
        placebo_summary = placebo_check(
            pd.Series(yv[:n_pre], index=labels[:n_pre]),
            None if cx is None else cx.set_axis(labels[:n_pre]),
            n=placebo,
            post_length=len(post_y),
            estimator=estimator,
            alpha=alpha,
            estimator_options=estimator_options,
            effect=stats["average_effect"],
        )
    stats.pop("alpha")
    return ImpactResult(
        estimator=estimator,
        pre_period=(labels[0], labels[n_pre - 1]),
        post_period=(labels[n_pre], labels[-1]),
        n_pre=n_pre,
        n_post=len(post_y),
        alpha=alpha,
        **stats,
        verdict=word,
        verdict_reason=reason,
        good_direction=good_direction,
        baseline=baseline,
        recovered_share=share,
        noise_sd=cf.noise_sd,
        controls=names,
        series=_series(yv, cf, n_pre, labels, alpha),
        did=did,
        placebo=placebo_summary,
        warnings=warnings,
    )


def placebo_check(
    y: pd.Series,
    controls: pd.DataFrame | None = None,
    *,
    pre_period: tuple | None = None,
    n: int = 20,
    post_length: int | None = None,
    estimator: str = "bsts",
    alpha: float = 0.05,
    estimator_options: dict | None = None,
    effect: float | None = None,
) -> PlaceboSummary:
    """Re-run the estimate at n fake fix dates inside a pre-period, where the true effect is 0.

    Each placebo fits on the rows before its fake date and evaluates the next post_length rows (default: a quarter
    of the series, and never more), so a calibrated estimator covers 0 in about (1 - alpha) of them. Fake dates
    start half-way through, so every placebo fits on at least half of the series.

    Args:
        y (pd.Series): the series; only its pre-period is used (anything after the real fix would leak the effect).
        controls (pd.DataFrame | None): controls on the same index.
        pre_period (tuple | None): (start, end) labels of the pre-period; None when y holds only the pre-period.
        n (int): number of fake dates, spread evenly over the usable range.
        post_length (int | None): rows evaluated after each fake date.
        estimator (str): registered estimator name.
        alpha (float): 1 - interval level.
        estimator_options (dict | None): tunables of the estimator.
        effect (float | None): the real average effect, to rank among the placebos (placebo p-value).

    Raises:
        InputError: the series is too short to leave a pre- and a post-window for any fake date.
    """
    est = get_estimator(estimator, **(estimator_options or {}))
    if pre_period is not None:
        y = y[_between(y.index, *pre_period)]
        controls = None if controls is None else controls.reindex(y.index)
    total = len(y)
    if n < 1:
        raise InputError(f"placebo count must be >= 1, got {n}")
    length = max(min(post_length or total, total // 4), 1)
    min_pre = max(est.min_pre, total // 2)
    last_start = total - length
    if last_start < min_pre:
        raise InputError(
            f"pre-period too short for placebo checks: {total} points; each placebo needs {est.min_pre} points to fit "
            f"(and at least half of the series) plus {length} to evaluate"
        )
    yv = pd.to_numeric(y, errors="coerce").to_numpy(dtype=float)
    X = None if controls is None else controls.to_numpy(dtype=float)
    labels = [_label(v) for v in y.index]
    runs = []
    for start in np.unique(np.linspace(min_pre, last_start, n).round().astype(int)):
        rows = slice(0, start + length)
        Xs = None if X is None else X[rows]
        if Xs is not None:
            Xs = Xs[:, Xs[:start].std(axis=0) > 0]  # a control constant before the fake date cannot help
        cf = est.counterfactual(yv[rows], Xs, start)
        s = _summarise(yv[rows], cf, start, alpha)
        runs.append(PlaceboRun(labels[start], s["average_effect"], s["lower"], s["upper"], s["p_value"]))
    coverage = float(np.mean([r.covers_zero for r in runs]))
    p = None
    if effect is not None:
        p = (1 + sum(abs(r.average_effect) >= abs(effect) for r in runs)) / (1 + len(runs))
    return PlaceboSummary(runs=runs, coverage=coverage, p_value=p)


def choose_controls(target: pd.Series, candidates: pd.DataFrame, *, pre_period: tuple, k: int = 5) -> list[str]:
    """Pick the k candidates that best predict the target out of sample within the pre-period.

    Each candidate gets its own least-squares fit (target ~ a + b x) on the first three quarters of the pre-period
    and is scored by its error on the last quarter; nothing after the pre-period is looked at, so a control that
    breaks at the fix is not excluded by peeking. Candidates that are constant or have gaps are skipped.

    Raises:
        InputError: no candidate is usable, or the pre-period is too short to split.
    """
    if candidates is None or not candidates.shape[1]:
        raise InputError("no usable controls: no candidate series given")
    if k < 1:
        raise InputError(f"k must be >= 1, got {k}")
    yf = _numeric(target.to_frame("y"), "target").iloc[:, 0]
    mask = _between(yf.index, *pre_period)
    y = yf[mask].to_numpy()
    X = _numeric(candidates, "candidate").reindex(yf.index)[mask].to_numpy()
    cut = int(len(y) * 0.75)
    if cut < 4 or len(y) - cut < 2:
        raise InputError(f"pre-period too short to choose controls: {len(y)} points, need at least 8")
    ok_y = ~np.isnan(y)
    train = np.zeros(len(y), dtype=bool)
    train[:cut] = True
    usable = ~np.isnan(X).any(axis=0) & (X[train & ok_y].std(axis=0) > 0)
    if not usable.any():
        raise InputError("no usable controls: every candidate is constant or has missing values in the pre-period")
    # one least-squares line per candidate, all at once
    xt, yt = X[train & ok_y], y[train & ok_y]
    xm, ym = xt.mean(axis=0), yt.mean()
    slope = ((xt - xm) * (yt - ym)[:, None]).sum(axis=0) / np.where(usable, ((xt - xm) ** 2).sum(axis=0), 1.0)
    pred = ym + (X[~train & ok_y] - xm) * slope
    rmse = np.sqrt(((pred - y[~train & ok_y][:, None]) ** 2).mean(axis=0))
    rmse = np.where(usable, rmse, np.inf)
    order = np.argsort(rmse, kind="stable")[: min(k, int(usable.sum()))]
    return [str(candidates.columns[i]) for i in order]
