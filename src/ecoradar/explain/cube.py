"""Explain one day of a metric in one slice of the cube: root causes, the mix/rate split and related events."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.optimize

from ecoradar.data.schema import DIMENSIONS
from ecoradar.detect.cube import ROLLOUT_DIMS
from ecoradar.errors import InputError, unknown
from ecoradar.explain.events import parse_scope, related_events
from ecoradar.explain.mixrate import mix_rate_split, segment_parts
from ecoradar.explain.records import Explanation, MixRateSplit, RootCause
from ecoradar.metrics.model import CONCENTRATION_KINDS, Metric

#: A further root cause must beat its succinctness price by this much (in squared noise units, ~ 3 sigma).
EXTRA_SCORE = 9.0
#: Most root causes returned.
MAX_CAUSES = 5
#: Marks "all" in a slice key while scanning (NULL cannot be matched).
ALL = "\x00all"
#: Fewest baseline days a slice needs before its expected value means anything.
MIN_BASELINE_DAYS = 2
#: Days before the change start a calendar event may lie and still name a hypothesis in advance.
EVENT_LEAD_DAYS = 2
#: Evidence (z squared) a slice a calendar event names must show on its own to skip the scan's price: the 90%
#: quantile of chi square(1), a one-hypothesis test at 10%.
NAMED_EVIDENCE = 2.71


def _baseline_dates(dates: list[dt.date], ref: dt.date, baseline_days: int, weekly: bool) -> list[dt.date]:
    """Same weekday in the weeks before `ref` (for a one-day change, when there are enough), else every day of
    the baseline window before it."""
    have = set(dates)
    same_day = [d for k in range(1, baseline_days // 7 + 1) if (d := ref - dt.timedelta(days=7 * k)) in have]
    if weekly and len(same_day) >= MIN_BASELINE_DAYS:
        return same_day
    return [d for d in dates if ref - dt.timedelta(days=baseline_days) <= d < ref]


def _slices(frame: pd.DataFrame, dims: list[str], scope: dict[str, str], lowest: int = 1) -> pd.DataFrame:
    """Rows of the scope's children: scope dimensions fixed, `lowest` (1) or two more set, the rest NULL ('all')."""
    inside = np.ones(len(frame), dtype=bool)
    for k, v in scope.items():
        inside &= (frame[k] == v).fillna(False).to_numpy(bool)
    others = [d for d in DIMENSIONS if d in frame.columns and d not in scope]
    extra = frame[others].notna().to_numpy().sum(axis=1)
    free = frame[[d for d in others if d not in dims]].notna().to_numpy().any(axis=1) if others else False
    return frame[inside & (extra >= lowest) & (extra <= 2) & ~free]


def _leaves(today: pd.DataFrame, base: pd.DataFrame, keys: list[str], metric: Metric, days: int) -> pd.DataFrame:
    """One row per child slice: observed value over the change window, its expected value (baseline median per
    day, times the window's days for a count) and its noise (the baseline's relative spread)."""
    base = base.copy()
    agg = {"numerator": "sum", "denominator": "sum", "value": "sum" if metric.is_additive else "mean"}
    today = today.groupby(keys, as_index=False).agg(agg)
    today = today.merge(base.groupby(keys)["date"].nunique().rename("seen").reset_index(), on=keys, how="left")
    today["seen"] = today["seen"].fillna(0)
    if metric.is_ratio:
        # a ratio is judged with its denominator: the baseline rate is pooled over the baseline days (a median of
        # daily rates is biased for sparse counts), shrunk to the table's rate by one event's worth of traffic
        pooled = base.groupby(keys)[["numerator", "denominator"]].sum()
        overall = pooled["numerator"].sum() / max(pooled["denominator"].sum(), 1e-12)
        prior = 1.0 / overall if overall > 0 else 0.0
        pooled["rate"] = (pooled["numerator"] + prior * overall) / (pooled["denominator"] + prior).where(
            pooled["denominator"] + prior > 0
        )
        out = today.merge(pooled[["rate"]].reset_index(), on=keys, how="left")
        out["real"] = out["numerator"].fillna(0.0)
        out["den"] = out["denominator"].fillna(0.0)
        out["predict"] = out["rate"].fillna(overall) * out["den"]
        base = base.merge(pooled[["rate"]].reset_index(), on=keys, how="left")
        a, b = _count_noise(base)
        # a slice's own history may be noisier than the model (clustered events, drift): its dispersion index
        # sum(dev^2) / sum(expected) over the baseline days covers both the count and the drift part
        base["e"] = base["rate"] * base["denominator"]
        base["dev2"] = (base["numerator"] - base["e"]) ** 2
        disp = base.groupby(keys)[["dev2", "e"]].sum()
        disp["phi"] = disp["dev2"] / disp["e"].where(disp["e"] > 0)
        out = out.merge(disp[["phi"]].reset_index(), on=keys, how="left")
        model = a * out["predict"].abs() + b * out["predict"] ** 2 / days
        out["noise"] = np.sqrt(np.maximum(model, out["phi"].fillna(0.0) * out["predict"].abs()))
        return out
    med = base.groupby(keys)["value"].transform("median")
    base["resid"] = ((base["value"] - med) / med.where(med != 0).abs()).abs()
    stats = base.groupby(keys).agg(expected=("value", "median"), mad=("resid", "median"), worst=("resid", "max"))
    # a sparse slice (a p90 over a handful of items) has heavy tails that a MAD misses: its worst baseline day
    # counts as a 3-sigma day
    stats["spread"] = np.maximum(stats["mad"], stats["worst"] / (3 * 1.4826))
    out = today.merge(stats[["expected", "spread"]].reset_index(), on=keys, how="left")
    out["real"] = out["value"].fillna(0.0)
    out["den"] = out["denominator"].fillna(0.0)
    out["predict"] = out["expected"].fillna(0.0) * (days if metric.is_additive else 1)
    # relative spread from the slice's own history, never below a quarter of the typical slice's; a window of
    # several days averages day-to-day noise down
    rel = 1.4826 * out["spread"].fillna(out["spread"].median())
    rel = rel.clip(lower=0.25 * rel.median()).fillna(0.01).clip(lower=1e-4) / np.sqrt(days)
    out["noise"] = rel * out["predict"].abs()
    return out


def _count_noise(base: pd.DataFrame, bands: int = 10) -> tuple[float, float]:
    """Noise of a ratio's numerator from the baseline days: variance = a * expected + b * expected**2 per day.

    `a` is the count noise (1 for Poisson, more for clustered events such as a creator's many impressions), `b`
    the squared relative day-to-day drift of large slices; fitted by non-negative least squares to the median
    squared deviation of each size band (robust to the issue-free outliers a baseline still has).
    """
    e = (base["rate"] * base["denominator"]).to_numpy(float)
    r = base["numerator"].to_numpy(float) - e
    ok = np.isfinite(e) & np.isfinite(r) & (e > 0)
    e, r = e[ok], r[ok]
    if len(e) < bands:
        return 1.0, 0.0
    chunks = np.array_split(np.argsort(e), bands)
    size = np.array([np.median(e[c]) for c in chunks])
    var = np.array([np.median(r[c] ** 2) / 0.4549 for c in chunks])  # median of chi-square(1)
    # relative fit: every band counts alike, whatever its size
    coef = scipy.optimize.nnls(np.column_stack([size, size**2]) / var[:, None].clip(1e-12), np.ones(bands))[0]
    return max(float(coef[0]), 1.0), float(coef[1])


def explain(
    cube: pa.Table | pd.DataFrame,
    metric: Metric,
    *,
    date: dt.date,
    scope: dict[str, str] | None = None,
    events: pd.DataFrame | None = None,
    baseline_days: int = 28,
    change_start: dt.date | None = None,
) -> Explanation:
    """Why `metric` moved on `date` in `scope`.

    Candidates are the scope itself and its children in the cube (slices up to depth 2), each pooled over the
    change window against its baseline (median day of a count or quantile; a ratio's pooled baseline rate at the
    window's own denominator, with count noise and the slice's own dispersion). `_scan` ranks them by
    log-likelihood gain minus a succinctness price per depth (a small one for a slice a calendar event named just
    before the change, when it moved), so the slice that moved beats its diluted parent and its noisier
    children. Traffic moving between slices shows in the mix/rate split, each effect judged against its noise;
    when that split says mix_shift, the move is a step, and no slice fixing the moved dimension changed its
    rate, the segments the traffic moved to are the causes.

    Args:
        cube (pyarrow.Table | pandas.DataFrame): metric cube rows (CUBE columns; NULL dimension = all).
        metric (Metric): the metric (its name selects cube rows, its kind picks additive or ratio analysis).
        date (datetime.date): the day to explain (the last day of the change window when change_start is given).
        scope (dict[str, str] | None): the slice to explain ({} or None: the whole platform).
        events (pandas.DataFrame | None): calendar events to relate.
        baseline_days (int): how far back the baseline reaches.
        change_start (datetime.date | None): first day of the change: the baseline ends before it, and the days
            from it to `date` are pooled (more data per slice than one day).

    Returns:
        Explanation: root causes as full slices (scope included), mix/rate splits, related events.

    Raises:
        NotFound: a scope dimension the metric is not sliced by.
        InputError: no rows for the metric, a date outside the data, too deep a scope, or too little baseline.
    """
    scope = dict(scope or {})
    frame = cube.to_pandas() if isinstance(cube, pa.Table) else cube.copy()
    frame = frame[frame["metric"] == metric.name]
    if frame.empty:
        raise InputError(f"the cube has no rows for metric {metric.name!r}")
    frame["date"] = pd.to_datetime(frame["date"]).dt.date
    dims = [d for d in DIMENSIONS if d in frame.columns and d in metric.dimensions]
    for k, v in scope.items():
        if k not in dims:
            raise unknown(f"dimension of metric {metric.name!r}", k, dims)
        scope[k] = str(v)
    dates = sorted(frame["date"].unique())
    if date not in set(dates):
        raise InputError(f"date {date} is outside the data of {metric.name!r} ({dates[0]} .. {dates[-1]})")
    if len(scope) >= 2:
        raise InputError(
            f"slice {scope} is too deep: the cube holds slices up to two dimensions, so it has no children"
        )
    if change_start is not None and change_start > date:
        raise InputError(f"change start {change_start} is after the day to explain {date}")
    ref = change_start or date
    window = [d for d in dates if ref <= d <= date]
    base_dates = _baseline_dates(dates, ref, baseline_days, weekly=len(window) == 1)
    if len(base_dates) < MIN_BASELINE_DAYS:
        raise InputError(
            f"too little data before {ref} to form a baseline for {metric.name!r} (need {MIN_BASELINE_DAYS} days)"
        )
    children = _slices(frame, dims, scope)
    today = children[children["date"].isin(set(window))]
    if today.empty:
        raise InputError(f"slice {scope or 'all'} of {metric.name!r} has no children on {date}")
    free = [d for d in dims if d not in scope]
    own = _slices(frame, dims, scope, lowest=0)
    own = own[own[free].isna().all(axis=1).to_numpy(bool)]
    rows = pd.concat([own, children])
    rows[free] = rows[free].astype(object).where(rows[free].notna(), ALL)
    leaves = _leaves(
        rows[rows["date"].isin(set(window))], rows[rows["date"].isin(set(base_dates))], free, metric, len(window)
    )
    named = _named(events, ref, scope, free) if events is not None and len(events) else set()
    causes, fixing = _scan(leaves, free, scope, metric, len(window), named)
    # the rate effect is judged against the sampling noise of the scope's own rate over the window
    whole = leaves[(leaves[free] == ALL).all(axis=1)]
    noise = float((whole["noise"] / whole["den"]).iloc[0]) if metric.is_ratio and len(whole) else 0.0
    splits = _mix_rate(children, free, window, base_dates, noise) if metric.is_ratio else []
    # a mix shift moves no rate inside the segments it moved between: if a slice fixing a segment clearly moved,
    # rates changed, and the scan's slices stay the causes
    mix = splits[0][0] if splits else None
    if (
        mix
        and mix.label == "mix_shift"
        and fixing.get(mix.dimension, 0.0) <= EXTRA_SCORE
        and _unusual_mix(mix, children, free, window, base_dates)
    ):
        causes = _moved_traffic(*splits[0], scope)
    related = []
    if events is not None and len(events):
        # the scope itself too: an event inside it still relates (weakly) when the causes found miss it
        related = related_events(events, start=ref, causes=[*(rc.scope for rc in causes), scope])
    return Explanation(metric.name, scope, date, causes, [sp for sp, _ in splits], related)


def _named(events: pd.DataFrame, ref: dt.date, scope: dict[str, str], free: list[str]) -> set[tuple[str, ...]]:
    """Keys (over `free`) of the children of `scope` that calendar events up to EVENT_LEAD_DAYS before the change
    start name (an event's scope is a slice: it must hold `scope` and set one or two free dimensions)."""
    days = pd.to_datetime(events["ts"]).dt.date
    near = ((days >= ref - dt.timedelta(days=EVENT_LEAD_DAYS)) & (days <= ref)).to_numpy(bool)
    out = set()
    for text in events.loc[near, "scope"]:  # a calendar holds a handful of events, not a hot path
        named = parse_scope(text)
        extra = set(named) - set(scope)
        if all(named.get(k) == v for k, v in scope.items()) and 1 <= len(extra) <= 2 and extra <= set(free):
            out.add(tuple(named.get(d, ALL) for d in free))
    return out


def _mix_rate(
    children: pd.DataFrame, free: list[str], window: list[dt.date], base_dates: list[dt.date], noise: float = 0.0
) -> list[tuple[MixRateSplit, pd.DataFrame]]:
    """Mix/rate split along every free dimension with its segments, the dimension whose mix moved most first.

    The rate effect is judged against `noise`, the sampling noise of the scope's rate over the window; the mix
    effect against how much the mix effect wanders between stretches of the baseline as long as the window.
    """
    out = []
    for d in free:
        others = [x for x in free if x != d]
        rows = children[children[d].notna() & (children[others].isna().all(axis=1) if others else True)]
        seg = _segments(rows, d, window, base_dates)
        if seg is None:
            continue
        rates = pd.concat([seg["num_before"] / seg["den_before"], seg["num_after"] / seg["den_after"]]).dropna()
        if rates.isin([0.0, 1.0]).all():
            continue  # the dimension defines the numerator (creator_age for a new-creator share): all mix, no news
        mix_noise = _mix_noise(rows, d, len(window), base_dates)
        out.append((mix_rate_split(seg, d, noise=noise, mix_noise=mix_noise), seg))
    return sorted(out, key=lambda x: -abs(x[0].mix_effect))


def _mix_noise(rows: pd.DataFrame, d: str, days: int, base_dates: list[dt.date]) -> float:
    """Root mean square of the mix effect along `d` of each stretch of `days` baseline days (counted back from
    the start) against the whole baseline: how far the mix of a window that long wanders on ordinary days (0:
    unknown, a single stretch)."""
    base = rows[rows["date"].isin(set(base_dates))]
    daily = base.groupby(["date", d])[["numerator", "denominator"]].sum().unstack(d, fill_value=0.0).sort_index()
    block = (len(daily) - 1 - np.arange(len(daily))) // days
    if block.max(initial=0) < 1:
        return 0.0
    nb, db = (daily[c].groupby(block).sum().to_numpy(float) for c in ("numerator", "denominator"))
    n0, d0 = nb.sum(axis=0), db.sum(axis=0)
    r0 = np.divide(n0, d0, out=np.zeros_like(n0), where=d0 > 0)
    rb = np.where(db > 0, nb / np.where(db > 0, db, 1.0), r0)
    w0, wb = d0 / max(d0.sum(), 1e-12), db / np.maximum(db.sum(axis=1, keepdims=True), 1e-12)
    return float(np.sqrt(np.mean(((wb - w0) * (r0 + rb) / 2).sum(axis=1) ** 2)))


def _segments(rows: pd.DataFrame, d: str, window: list, base_dates: list) -> pd.DataFrame | None:
    """Per value of `d`: numerator and denominator on an average baseline day and an average window day."""
    after = rows[rows["date"].isin(set(window))].groupby(d)[["numerator", "denominator"]].sum() / len(window)
    before = rows[rows["date"].isin(set(base_dates))].groupby(d)[["numerator", "denominator"]].sum() / len(base_dates)
    seg = before.join(after, how="outer", suffixes=("_b", "_a")).fillna(0.0)
    if seg.empty or seg["denominator_b"].sum() <= 0 or seg["denominator_a"].sum() <= 0:
        return None
    seg.columns = ["num_before", "den_before", "num_after", "den_after"]
    return seg


def _unusual_mix(split: MixRateSplit, children: pd.DataFrame, free: list[str], window: list, base_dates: list) -> bool:
    """Whether a mix shift is news: at least half of its mix effect shows against the days just before the window
    (a step), not only against the whole baseline (traffic that always drifts, such as app versions rolling out)."""
    d = split.dimension
    others = [x for x in free if x != d]
    rows = children[children[d].notna() & (children[others].isna().all(axis=1) if others else True)]
    seg = _segments(rows, d, window, base_dates[-len(window) :])
    return seg is None or abs(mix_rate_split(seg, d).mix_effect) >= 0.5 * abs(split.mix_effect)


def _moved_traffic(split: MixRateSplit, seg: pd.DataFrame, scope: dict[str, str]) -> list[RootCause]:
    """For a mix shift: the segments whose share of traffic moved most (at least half the largest move).

    observed/expected are the segment's traffic (denominator) on the day and on an average baseline day.
    """
    parts = segment_parts(seg, split.dimension)
    moved = (parts["w_after"] - parts["w_before"]).abs()
    keep = moved[moved >= 0.5 * moved.max()].sort_values(ascending=False).index
    total = split.total_change or 1.0
    return [RootCause({**scope, split.dimension: str(value)}, float(parts.loc[value, "mix"]) / total) for value in keep]


def _scan(
    leaves: pd.DataFrame,
    free: list[str],
    scope: dict[str, str],
    metric: Metric,
    days: int,
    named: set[tuple[str, ...]] = frozenset(),
) -> tuple[list[RootCause], dict[str, float]]:
    """Root causes by a scan over the scope and its children (`_leaves` rows): the slice whose pooled change is
    largest in noise units (z squared) beyond a succinctness price of 2 ln(number of slices of its depth), then,
    on what the chosen slices leave unexplained, further slices that still beat the price by EXTRA_SCORE.

    A slice's z squared is its log-likelihood gain from one factor: a parent of the moved slice sees the change
    diluted by its other traffic, a child sees only part of the data, so in expectation the moved slice scores
    highest; the price stops a deeper level's many slices from winning by chance. The slices calendar events name
    (`named`, keys over `free`) are hypotheses stated before looking: one that moved on its own (NAMED_EVIDENCE)
    pays only the price of the few named ones. A slice without enough baseline days (a new app version) has no
    expected value unless the metric is a count, and a quantile or mean over fewer items a day than the
    metric's `min_denominator` is too thin to judge. The residual of a slice is the slice minus its overlap with
    the chosen ones (looked up in the cube, which holds slices up to depth 2); a slice whose overlap is deeper
    than the cube holds is no longer a candidate. Also returns, per free dimension, the best score (evidence
    minus price) of a slice that fixes it.
    """
    vals = leaves[free].to_numpy(object)
    real, predict = leaves["real"].to_numpy(float), leaves["predict"].to_numpy(float)
    var = leaves["noise"].to_numpy(float) ** 2
    var = np.maximum(var, np.quantile(var[var > 0], 0.1) if (var > 0).any() else 1e-12)
    depth = (vals != ALL).sum(axis=1)
    price = np.where(depth > 0, 2 * np.log(np.maximum(np.bincount(depth, minlength=3)[depth], 1)), 0.0)
    index = pd.MultiIndex.from_arrays(vals.T)
    # a named slice is tested on its own (a family of the few named ones) and must pass that test
    hit = index.isin(list(named)) & (depth > 0)
    hit &= _evidence(real, predict, var, metric.is_ratio) >= NAMED_EVIDENCE
    price[hit] = 2 * np.log(max(int(index.isin(list(named)).sum()), 1))
    r_real, r_pred, r_var = real.copy(), predict.copy(), var.copy()
    alive = (depth == 0) | metric.is_additive | (leaves["seen"].to_numpy(float) >= MIN_BASELINE_DAYS)
    if metric.kind in CONCENTRATION_KINDS:  # a version's concentration follows its adoption (as in detection)
        alive &= ~(vals[:, [i for i, d in enumerate(free) if d in ROLLOUT_DIMS]] != ALL).any(axis=1)
    if not metric.is_ratio and not metric.is_additive and leaves["den"].gt(0).any():
        alive &= (depth == 0) | (leaves["den"].to_numpy(float) >= metric.min_denominator * days)
    chosen: list[int] = []
    fixing: dict[str, float] = {}
    while alive.any() and len(chosen) < MAX_CAUSES:
        # the whole scope is only ever the first answer, and only when its own change is clear
        whole = depth == 0
        alive &= ~whole if chosen else ~whole | (_evidence(real, predict, var, metric.is_ratio) > EXTRA_SCORE)
        score = np.where(alive, _evidence(r_real, r_pred, r_var, metric.is_ratio) - price, -np.inf)
        j = int(np.argmax(score))
        if chosen and score[j] <= EXTRA_SCORE:
            break
        if not chosen:
            fixing = {d: float(score[vals[:, i] != ALL].max(initial=-np.inf)) for i, d in enumerate(free)}
        j = _widen(j, vals, index, r_real, r_pred, r_var, price)
        # residuals: minus the overlap with the chosen slice, plus back its overlap with earlier ones
        for sign, key in [(1.0, vals[j])] + [(-1.0, _merge(vals[j], vals[k])) for k in chosen]:
            if key is None:
                continue
            merged, ok = _merge_all(vals, key)
            pos = np.where(ok, index.get_indexer(pd.MultiIndex.from_arrays(merged.T)), -1)
            hit = pos >= 0
            r_real[hit] -= sign * real[pos[hit]]
            r_pred[hit] -= sign * predict[pos[hit]]
            r_var[hit] = np.maximum(r_var[hit] - sign * var[pos[hit]], 1e-12)
            # a slice whose overlap the cube lacks (deeper than 2) can't be judged any more
            alive &= ~ok | hit
            if sign > 0:
                alive &= ~(hit & (pos == np.arange(len(pos))))  # a slice inside the chosen one is explained
        chosen.append(j)
    total = float(real[depth == 0].sum() - predict[depth == 0].sum())
    moves = real[chosen] - predict[chosen]
    if metric.kind == "share" or abs(total) < 1e-12:  # shares of an entity cancel: weigh the moves unsigned
        total = float(np.abs(moves).sum()) * np.sign(moves[0]) or 1.0
    # observed/expected in the metric's own units: a rate for ratios, a per-day amount for additive metrics
    per = (
        leaves["den"].to_numpy(float) if metric.is_ratio else np.full(len(leaves), days if metric.is_additive else 1.0)
    )
    per = np.where(per > 0, per, np.nan)
    causes = [
        RootCause(
            {**scope, **{d: str(v) for d, v in zip(free, vals[j], strict=True) if v != ALL}},
            float(real[j] - predict[j]) / total,
            _finite(real[j] / per[j]),
            _finite(predict[j] / per[j]),
        )
        for j in chosen
    ]
    return causes, fixing


def _merge(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """The overlap of two slice keys (None when a value differs)."""
    both = (a != ALL) & (b != ALL)
    if (a[both] != b[both]).any():
        return None
    return np.where(b != ALL, b, a)


def _merge_all(vals: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Overlap of every slice with one key, and which slices overlap it at all."""
    ok = ~((vals != ALL) & (key != ALL) & (vals != key)).any(axis=1)
    return np.where(key != ALL, key, vals), ok


def _widen(
    j: int,
    vals: np.ndarray,
    index: pd.MultiIndex,
    real: np.ndarray,
    pred: np.ndarray,
    var: np.ndarray,
    price: np.ndarray,
) -> int:
    """Replace a slice by a parent when the change was wider than the slice that moved most: the parent's rest
    (parent minus the slice) moved the same way beyond its price (e.g. where two causes overlap), or one factor
    over the whole parent explains the slice and its rest at least as well as the slice alone does: the rest
    moved closer to the slice's factor than to none (a parent-wide change whose rest is noisier than the slice,
    so that the parent's pooled total understates it)."""
    while (vals[j] != ALL).sum() > 1:  # never up to the scope itself: that answer must win on its own
        move = real[j] - pred[j]
        alone = move**2 / max(var[j], 1e-12)
        options = []
        for d in np.flatnonzero(vals[j] != ALL):
            key = vals[j].copy()
            key[d] = ALL
            p = index.get_indexer(pd.MultiIndex.from_arrays(key[:, None]))[0]
            if p < 0:
                continue
            rest = real[p] - real[j] - (pred[p] - pred[j])
            if np.sign(rest) != np.sign(move):
                continue
            z2 = rest**2 / max(var[p] - var[j], 1e-12)
            common = _common_gain(
                np.array([real[j], real[p] - real[j]]),
                np.array([pred[j], pred[p] - pred[j]]),
                np.array([var[j], max(var[p] - var[j], 1e-12)]),
            )
            if z2 > price[p] + EXTRA_SCORE or common >= alone:
                options.append((common - price[p], p))
        if not options:
            break
        j = max(options)[1]
    return j


def _common_gain(real: np.ndarray, pred: np.ndarray, var: np.ndarray) -> float:
    """Gain in chi square of one factor f (real ~ f * pred) fitted over several parts with their own noise."""
    w = pred / var
    f = float((w * real).sum() / max((w * pred).sum(), 1e-12))
    return float((((real - pred) ** 2 - (real - f * pred) ** 2) / var).sum())


def _evidence(real: np.ndarray, pred: np.ndarray, var: np.ndarray, counts: bool) -> np.ndarray:
    """Log-likelihood gain of one factor on a slice, in noise units: z squared, or for counts (a ratio's
    numerator) the Poisson deviance scaled by the slice's dispersion (var / expected), so that 3 events where
    0.1 were expected are not 8 sigma."""
    var = np.maximum(var, 1e-12)
    if not counts:
        return (real - pred) ** 2 / var
    x, mu = np.maximum(real, 0.0), np.maximum(pred, 1e-9)
    dev = 2 * (x * np.log(np.where(x > 0, x / mu, 1.0)) - (x - mu))
    return dev * mu / np.maximum(var, mu)


def _finite(value: float) -> float | None:
    """The value, or None where it is undefined (a slice with no denominator)."""
    return float(value) if np.isfinite(value) else None
