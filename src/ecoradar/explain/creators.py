"""Is a change one creator's doing? The share of a slice's change that its few largest creators account for.

On a platform whose popularity is heavy-tailed, one viral newcomer, one prolific uploader who stops, or one
creator leaving the "new" cohort can move a slice's metric as much as a broken ranking rule does. The first
is a creator event, not an ecosystem issue, and only the raw rows can tell them apart: the cube has no creator
dimension. This module reads the metric's source rows for the slice (through the metric compiler's own source
query, so derived columns such as tier and creator_age mean the same as in the cube) and splits the change of
the metric's numerator by creator. Metrics computed from per-creator totals that do not add up (a top share, a
Gini, uploads per active creator) are split by a counterfactual instead: the metric recomputed with the few
creators who moved most put back at their baseline.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
from sqlglot import exp, parse_one

from ecoradar.explain.records import CreatorDrivers
from ecoradar.metrics.compiler import dim_column, get_compiler
from ecoradar.metrics.model import Metric
from ecoradar.metrics.sources import columns_of

#: Metric kinds whose numerator is a sum over rows, so that a change splits exactly into per-creator parts, and
#: distinct counts (of viewers, say), which split approximately (one viewer may watch several creators).
SPLIT_KINDS = ("count", "sum", "ratio", "share", "distinct_count")
#: Metric kinds computed from per-creator totals (entity creator_id) that do not add up by creator: split by the
#: leave-out counterfactual.
LEAVE_OUT_KINDS = ("top_share", "gini")
#: Creators counted as "a few".
TOP_CREATORS = 3
#: Fewer creators than this in the slice and there is no verdict: a few creators are all there is.
MIN_CREATORS = 10
#: A change is a creator event when the few make at least this share of it ...
DRIVEN_SHARE = 0.5
#: ... while the rest of the slice moved, relatively, less than this share of the slice's own relative change: a
#: change that the other creators share is systemic even where a few creators hold most of the slice ...
REST_SHARE = 0.5
#: ... and the largest mover moved at least this much (numerator units): when a change is a handful of rare events
#: (overturned appeals), each is some creator's, and that says nothing; five more in a day from one creator (a new
#: account's first burst of uploads) is no coincidence of rare events.
MIN_PART = 5.0


def creator_drivers(
    con: duckdb.DuckDBPyConnection,
    metric: Metric,
    scope: dict[str, str],
    date: dt.date,
    baseline: list[dt.date],
) -> CreatorDrivers | None:
    """Split the change of `metric`'s numerator in `scope` on `date` (vs the mean of `baseline` days) by creator.

    Each creator's part is its numerator on the day minus its baseline mean (for rates, scaled by the slice's
    traffic change, so a slice that simply grew is no creator's doing). A top share, a Gini over creators or a
    ratio over distinct creators is split by `_leave_out`. None when the metric's numerator is not a row sum, its
    table has no creator, the slice has fewer than MIN_CREATORS creators, or nothing moved.

    Raises:
        duckdb.Error: the raw tables cannot be read.
    """
    table = metric.table
    per_creator = _per_creator_kind(metric)
    if (metric.kind not in SPLIT_KINDS and not per_creator) or "creator_id" not in columns_of(table) or not baseline:
        return None
    if metric.kind == "distinct_count" and metric.numerator == "creator_id":  # one per creator: nothing to split
        return None
    compiler = get_compiler("duckdb")
    counted = metric.kind in ("count", "share") or (per_creator and not metric.numerator)
    num = exp.Literal.number(1) if counted else _parse(metric.numerator)
    den = _parse(metric.denominator) if metric.kind == "ratio" and not per_creator else exp.Literal.number(1)
    where = _parse(metric.filter) if metric.filter else None
    trees = [t for t in (num, den, where) if t is not None]
    if any(t.find(exp.AggFunc) for t in trees):  # a numerator that aggregates itself does not split by row
        return None
    needed = list(dict.fromkeys(["creator_id", *(c.name for t in trees for c in t.find_all(exp.Column))]))
    days = sorted({date, *baseline})
    # read the baseline's span and the day (a trend's baseline lies weeks before it), not every day between
    spans = [(min(baseline), max(baseline)), (date, date)]
    if days[-1] - days[0] <= dt.timedelta(days=len(baseline)):
        spans = [(days[0], days[-1])]
    parts = [
        compiler.source((table,), tuple(scope), needed, metric.date_column, date_from=lo, date_to=hi)
        for lo, hi in spans
    ]
    src = parts[0] if len(parts) == 1 else exp.union(*parts, distinct=False)
    conds = [exp.EQ(this=exp.column(dim_column(d)), expression=exp.Literal.string(v)) for d, v in scope.items()]
    conds.append(exp.column("_day").isin(*[exp.cast(exp.Literal.string(str(d)), "DATE") for d in days]))
    if where is not None:
        conds.append(where)
    query = (
        exp.select(
            exp.column("creator_id"),
            exp.column("_day"),
            exp.alias_(_total(num, distinct=metric.kind == "distinct_count"), "num"),
            exp.alias_(exp.Sum(this=exp.cast(den, "DOUBLE")), "den"),
        )
        .from_(src.subquery("s"))
        .where(exp.and_(*conds))
        .group_by(exp.column("creator_id"), exp.column("_day"))
    )
    rows = con.execute(compiler.sql(query)).df()
    if rows.empty:
        return None
    if per_creator:
        return _leave_out(rows, metric, date, len(baseline))
    today = rows["_day"].dt.date == date
    now = rows.loc[today].groupby("creator_id")[["num", "den"]].sum()
    base = rows.loc[~today].groupby("creator_id")[["num", "den"]].sum() / len(baseline)
    both = now.add_suffix("_now").join(base.add_suffix("_base"), how="outer").fillna(0.0)
    if int((both[["den_now", "den_base"]].abs().sum(axis=1) > 0).sum()) < MIN_CREATORS:
        return None
    # a rate's numerator follows the slice's traffic; counts, sums and shares are compared as they are
    scale = 1.0
    if metric.kind == "ratio" and both["den_base"].sum() > 0:
        scale = both["den_now"].sum() / both["den_base"].sum()
    part = (both["num_now"] - both["num_base"] * scale).to_numpy()
    change = float(part.sum())
    if change == 0:
        return None
    moving = part * np.sign(change)
    order = np.argsort(-moving)[:TOP_CREATORS]
    # shares of the net change: in a slice of many creators, day-to-day noise moves each a little both ways, and
    # that churn is no part of the change (the top movers' share of all movement would shrink with slice size)
    shares = np.clip(moving[order] / abs(change), 0.0, None)
    expected = both["num_base"].to_numpy() * scale
    rest = np.ones(len(part), dtype=bool)
    rest[order] = False
    relative = change / expected.sum() if expected.sum() > 0 else np.inf
    rest_relative = part[rest].sum() / expected[rest].sum() if expected[rest].sum() > 0 else 0.0
    level = both["num_base"].abs().to_numpy()
    share = float(min(shares.sum(), 1.0))
    ids = both.index.to_numpy()
    return CreatorDrivers(
        share=share,
        held=float(level[order].sum() / level.sum()) if level.sum() > 0 else 0.0,
        rest=float(rest_relative),
        creators=[(int(ids[i]), float(x)) for i, x in zip(order, shares, strict=True) if x > 0],
        change=change,
        driven=bool(
            share >= DRIVEN_SHARE
            and rest_relative * np.sign(change) < REST_SHARE * abs(relative)
            and moving[order[0]] >= MIN_PART
        ),
    )


def _per_creator_kind(metric: Metric) -> bool:
    """Whether `metric` is a function of per-creator totals that does not add up by creator: a top share or Gini
    over creators, or a ratio whose denominator counts distinct creators (uploads per active creator)."""
    if metric.kind in LEAVE_OUT_KINDS:
        return metric.entity == "creator_id"
    if metric.kind != "ratio" or not metric.denominator:
        return False
    den = _parse(metric.denominator)
    inner = den.this if isinstance(den, exp.Count) else None
    return (
        isinstance(inner, exp.Distinct)
        and len(inner.expressions) == 1
        and isinstance(inner.expressions[0], exp.Column)
        and inner.expressions[0].name == "creator_id"
        and metric.denominator_table is None
    )


def _value(metric: Metric, x: np.ndarray) -> float:
    """The metric over one day's per-creator totals (creators without any are not in the slice that day)."""
    x = np.sort(x[x > 0])[::-1]
    n, total = len(x), float(x.sum())
    if n == 0 or total <= 0:
        return float("nan")
    if metric.kind == "top_share":
        return float(x[: max(int(np.floor(metric.top_fraction * n + 1e-9)), 1)].sum() / total)
    if metric.kind == "gini":  # ascending position i of n: 2 sum(i x_i) / (n sum x) - (n + 1) / n
        position = np.arange(n, 0, -1)
        return float(2 * (position * x).sum() / (n * total) - (n + 1) / n)
    return total / n  # a ratio over distinct creators


def _leave_out(rows, metric: Metric, date: dt.date, n_baseline: int) -> CreatorDrivers | None:
    """The counterfactual split: the metric on the day against the same with the TOP_CREATORS creators who moved
    most put back at their baseline mean (scaled as the other creators moved).

    `share` is the part of the change from the baseline days' mean metric (the mean of each day's value: the union
    of creators over several days is more unequal than any one day) that putting them back undoes; `rest` is the
    change of the metric over the other creators alone, relative to the baseline: a ranking change that favours
    the top tenth moves the top share of everybody else too, one viral video does not.
    """
    wide = rows.pivot_table(index="creator_id", columns="_day", values="num", aggfunc="sum", fill_value=0.0)
    days = [d.date() if hasattr(d, "date") else d for d in wide.columns]
    today = np.array([d == date for d in days])
    if not today.any() or today.all() or len(wide) < MIN_CREATORS:
        return None
    x = wide.to_numpy(float)
    now, before = x[:, today][:, 0], x[:, ~today]
    base = before.sum(axis=1) / n_baseline
    observed, expected = _value(metric, now), _mean_value(metric, before)
    change = observed - expected
    if not np.isfinite(change) or change == 0 or base.sum() <= 0:
        return None
    order = np.argsort(-np.abs(now - base))[:TOP_CREATORS]
    rest = np.ones(len(now), dtype=bool)
    rest[order] = False
    scale = now[rest].sum() / base[rest].sum() if base[rest].sum() > 0 else 1.0
    alternative = now.copy()
    alternative[order] = base[order] * scale
    undone = observed - _value(metric, alternative)
    share = float(np.clip(undone / change, 0.0, 1.0)) if np.isfinite(undone) else 0.0
    rest_change = _value(metric, now[rest]) - _mean_value(metric, before[rest])
    rest_relative = rest_change / abs(expected) if expected and np.isfinite(rest_change) else np.inf
    moved = np.abs(now - base)[order]
    ids = wide.index.to_numpy()
    return CreatorDrivers(
        share=share,
        held=float(base[order].sum() / base.sum()),
        rest=float(rest_relative),
        creators=[(int(ids[i]), share * float(m / moved.sum())) for i, m in zip(order, moved, strict=True) if m > 0],
        change=float(change),
        driven=bool(share >= DRIVEN_SHARE and abs(rest_change) < REST_SHARE * abs(change) and moved[0] >= MIN_PART),
    )


def _mean_value(metric: Metric, days: np.ndarray) -> float:
    """The mean over days (columns) of the metric's daily value."""
    values = np.array([_value(metric, days[:, j]) for j in range(days.shape[1])])
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def _total(expression: exp.Expression, *, distinct: bool) -> exp.Expression:
    """SUM of the row values, or COUNT(DISTINCT ...) for a distinct count."""
    if distinct:
        return exp.Count(this=exp.Distinct(expressions=[expression]))
    return exp.Sum(this=exp.cast(expression, "DOUBLE"))


def _parse(sql: str | None) -> exp.Expression | None:
    return parse_one(sql, dialect="duckdb") if sql else None
