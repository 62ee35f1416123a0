"""Explain one day of a metric in one slice of the cube: root causes, the mix/rate split and related events."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.optimize

from ecoradar.data.schema import DIMENSIONS
from ecoradar.errors import InputError, unknown
from ecoradar.explain.events import related_events
from ecoradar.explain.localize.base import LeafCube, leaf_cube, root_causes
from ecoradar.explain.localize.ripple import Ripple
from ecoradar.explain.mixrate import mix_rate_split, segment_parts
from ecoradar.explain.records import Explanation, MixRateSplit, RootCause
from ecoradar.metrics.model import Metric

#: Score of "the whole scope moved": a narrower answer must explain its share of the change with at least this
#: much less cover (see _concentration) to be preferred.
WHOLE_SCORE = 0.1
#: A set of elements competes only when its evidence (its best element's net gain) is at least this share of the
#: strongest set's:
#: a table that found a sliver of noise may look concentrated, but it explains little.
EVIDENCE_SHARE = 0.25
#: Fewest baseline days a slice needs before its expected value means anything.
MIN_BASELINE_DAYS = 2


def _baseline_dates(dates: list[dt.date], ref: dt.date, baseline_days: int, weekly: bool) -> list[dt.date]:
    """Same weekday in the weeks before `ref` (for a one-day change, when there are enough), else every day of
    the baseline window before it."""
    have = set(dates)
    same_day = [d for k in range(1, baseline_days // 7 + 1) if (d := ref - dt.timedelta(days=7 * k)) in have]
    if weekly and len(same_day) >= MIN_BASELINE_DAYS:
        return same_day
    return [d for d in dates if ref - dt.timedelta(days=baseline_days) <= d < ref]


def _slices(frame: pd.DataFrame, dims: list[str], scope: dict[str, str]) -> pd.DataFrame:
    """Rows of the scope's children: scope dimensions fixed, one or two more set, the rest NULL ('all')."""
    inside = np.ones(len(frame), dtype=bool)
    for k, v in scope.items():
        inside &= (frame[k] == v).fillna(False).to_numpy(bool)
    others = [d for d in DIMENSIONS if d in frame.columns and d not in scope]
    extra = frame[others].notna().to_numpy().sum(axis=1)
    free = frame[[d for d in others if d not in dims]].notna().to_numpy().any(axis=1) if others else False
    return frame[inside & (extra >= 1) & (extra <= 2) & ~free]


def _leaves(today: pd.DataFrame, base: pd.DataFrame, keys: list[str], metric: Metric, days: int) -> pd.DataFrame:
    """One row per child slice: observed value over the change window, its expected value (baseline median per
    day, times the window's days for a count) and its noise (the baseline's relative spread)."""
    base = base.copy()
    agg = {"numerator": "sum", "denominator": "sum", "value": "sum" if metric.is_additive else "mean"}
    today = today.groupby(keys, as_index=False).agg(agg)
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
        a, b = _count_noise(base.merge(pooled[["rate"]].reset_index(), on=keys, how="left"))
        out["noise"] = np.sqrt(a * out["predict"].abs() + b * out["predict"] ** 2 / days)
        return out
    med = base.groupby(keys)["value"].transform("median")
    base["resid"] = (base["value"] - med) / med.where(med != 0).abs()
    stats = base.groupby(keys).agg(
        expected=("value", "median"), spread=("resid", lambda r: (r - r.median()).abs().median())
    )
    out = today.merge(stats.reset_index(), on=keys, how="left")
    out["real"] = out["value"].fillna(0.0)
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
    localizer: Ripple | None = None,
) -> Explanation:
    """Why `metric` moved on `date` in `scope`.

    Leaves are the scope's children in the cube (the cube holds slices up to depth 2): for every pair of free
    dimensions (or single one, under a depth-1 scope) the children form one leaf table; the localizer runs on
    each, and the most concentrated answer (see `_concentration`; one factor for the whole scope counts as the
    answer "the scope itself") gives the root causes. Expected values are the baseline median (same weekday for
    a one-day change); a ratio is expected at the day's own denominator, so traffic moving between slices shows
    in the mix/rate split, and when that split says mix_shift the segments the traffic moved to are the causes.

    Args:
        cube (pyarrow.Table | pandas.DataFrame): metric cube rows (CUBE columns; NULL dimension = all).
        metric (Metric): the metric (its name selects cube rows, its kind picks additive or ratio analysis).
        date (datetime.date): the day to explain (the last day of the change window when change_start is given).
        scope (dict[str, str] | None): the slice to explain ({} or None: the whole platform).
        events (pandas.DataFrame | None): calendar events to relate.
        baseline_days (int): how far back the baseline reaches.
        change_start (datetime.date | None): first day of the change: the baseline ends before it, and the days
            from it to `date` are pooled (more data per slice than one day).
        localizer (Ripple | None): our localizer with its tunables (default settings when None).

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
    base = children[children["date"].isin(set(base_dates))]
    free = [d for d in dims if d not in scope]
    tables = list(itertools.combinations(free, 2)) if not scope and len(free) > 1 else [(d,) for d in free]
    loc = localizer or Ripple()
    answers: list[tuple[float, float, list[RootCause]]] = []  # (concentration, evidence, root causes)
    for keys in tables:
        keys = list(keys)
        extra = [d for d in free if d not in keys]
        pick = today[keys].notna().all(axis=1)
        bpick = base[keys].notna().all(axis=1)
        if extra:
            pick &= today[extra].isna().all(axis=1)
            bpick &= base[extra].isna().all(axis=1)
        t_today = today[pick.to_numpy(bool)]
        if len(t_today) < 2:
            continue
        leaves = _leaves(t_today, base[bpick.to_numpy(bool)], keys, metric, len(window))
        cols = {"real_den_col": "den", "predict_den_col": "den"} if metric.is_ratio else {}
        lc = leaf_cube(leaves, keys, noise_col="noise", **cols)
        found = loc.fit(lc)
        gain, whole = sum(g for _, g in found), loc.whole(lc)
        if whole >= gain and whole > 0:
            obs, exp = float(lc.real.sum()), float(lc.predict.sum())
            answers.append((WHOLE_SCORE, whole, [RootCause(dict(scope), 1.0, obs, exp)]))
        elif gain > 0:
            elements = [el for el, _ in found]
            # shares of an entity sum to one in every slice: their changes cancel, so they are weighed unsigned
            scale = 1.0
            if metric.kind == "share":
                total = float(lc.real.sum() - lc.predict.sum())
                scale = total / max(float(np.abs(lc.real - lc.predict).sum()), 1e-12)
            causes = [
                RootCause({**scope, **rc.scope}, rc.contribution * scale, rc.observed, rc.expected)
                for rc in root_causes(lc, elements, by_share=False)  # strongest evidence first
            ]
            top = max(g for _, g in found)  # evidence: the strongest single element, not a pile of weak ones
            answers.append((_concentration(lc, elements, loc.noise(lc)[1]), top, causes))
    # among the answers with real evidence (a good share of the strongest table's gain), the most concentrated
    strongest = max((a[1] for a in answers if a[0] != WHOLE_SCORE), default=0.0)
    best = max(
        (a for a in answers if a[0] == WHOLE_SCORE or a[1] >= EVIDENCE_SHARE * strongest),
        default=(0.0, 0.0, []),
        key=lambda a: a[0],
    )
    splits = _mix_rate(children, free, window, base_dates) if metric.is_ratio else []
    causes = best[2]
    if splits and splits[0][0].label == "mix_shift":
        causes = _moved_traffic(*splits[0], scope)
    related = []
    if events is not None and len(events):
        related = related_events(events, start=ref, causes=[rc.scope for rc in causes] or [scope])
    return Explanation(metric.name, scope, date, causes, [sp for sp, _ in splits], related)


def _mix_rate(
    children: pd.DataFrame, free: list[str], window: list[dt.date], base_dates: list[dt.date]
) -> list[tuple[MixRateSplit, pd.DataFrame]]:
    """Mix/rate split along every free dimension with its segments, the dimension whose mix moved most first."""
    out = []
    for d in free:
        others = [x for x in free if x != d]
        rows = children[children[d].notna() & (children[others].isna().all(axis=1) if others else True)]
        after = rows[rows["date"].isin(set(window))].groupby(d)[["numerator", "denominator"]].sum() / len(window)
        before = rows[rows["date"].isin(set(base_dates))].groupby(d)[["numerator", "denominator"]].sum() / len(
            base_dates
        )
        seg = before.join(after, how="outer", suffixes=("_b", "_a")).fillna(0.0)
        if seg.empty or seg["denominator_b"].sum() <= 0 or seg["denominator_a"].sum() <= 0:
            continue
        seg.columns = ["num_before", "den_before", "num_after", "den_after"]
        rates = pd.concat([seg["num_before"] / seg["den_before"], seg["num_after"] / seg["den_after"]]).dropna()
        if rates.isin([0.0, 1.0]).all():
            continue  # the dimension defines the numerator (creator_age for a new-creator share): all mix, no news
        out.append((mix_rate_split(seg, d), seg))
    return sorted(out, key=lambda x: -abs(x[0].mix_effect))


def _moved_traffic(split: MixRateSplit, seg: pd.DataFrame, scope: dict[str, str]) -> list[RootCause]:
    """For a mix shift: the segments whose share of traffic moved most (at least half the largest move).

    observed/expected are the segment's traffic (denominator) on the day and on an average baseline day.
    """
    parts = segment_parts(seg, split.dimension)
    moved = (parts["w_after"] - parts["w_before"]).abs()
    keep = moved[moved >= 0.5 * moved.max()].sort_values(ascending=False).index
    total = split.total_change or 1.0
    return [
        RootCause(
            {**scope, split.dimension: str(value)},
            float(parts.loc[value, "mix"]) / total,
            float(seg.loc[value, "den_after"]),
            float(seg.loc[value, "den_before"]),
        )
        for value in keep
    ]


def _concentration(lc: LeafCube, elements: list, sd: np.ndarray) -> float:
    """Share of the table's change beyond noise that the elements hold, minus the share of expected value they cover.

    A table blind to the dimension that moved sees the change smeared over all its leaves, so it needs broad
    elements (high cover) to explain it, and what it finds holds little of its leaves' change; the table that
    sees the cause explains most of it with a narrow slice. Each leaf's change counts unsigned and beyond its
    noise (`sd`), so neither cancelling changes (shares) nor many noisy leaves decide.
    """
    union = np.zeros(lc.n, dtype=bool)
    for el in elements:
        union |= lc.mask(el)
    excess = np.maximum(np.abs(lc.real - lc.predict) - sd, 0.0)
    size = float(np.abs(lc.predict).sum())
    if not excess.sum() or not size:
        return 0.0
    return float(excess[union].sum() / excess.sum()) - float(np.abs(lc.predict[union]).sum()) / size
