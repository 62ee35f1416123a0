"""Metrics computed straight from a simulated world's Parquet with DuckDB, independent of ecoradar.metrics."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import duckdb

from ecoradar.data.io import register_tables
from ecoradar.simulate import simulate

#: Seed of the small worlds the effect-size and realism tests read.
SMALL_SEED = 3


@cache
def small_world(root: Path, issues: bool) -> Path:
    """60 days at scale small (~50k impressions a day), with the default scenarios or none; built once per run.

    (A cached helper rather than a conftest fixture: a tests/simulate/conftest.py would shadow the root
    `conftest` module that test files import run_cli from.)
    """
    out = root / ("small" if issues else "small_clean")
    simulate(out, scale="small", seed=SMALL_SEED, issues=issues)
    return out


#: SQL per metric over the views imp / upl / mod (which carry tier and creator_age): (view, value, count), where
#: count is the number of events the value rests on (its sampling error is about 1/sqrt(count)). Ratios are pooled
#: over the rows of the window; `uploads` and `impressions` are per day.
METRIC_SQL = {
    "like_rate": ("imp", "avg(liked::int)", "sum(liked::int)"),
    "share_rate": ("imp", "avg(shared::int)", "sum(shared::int)"),
    "comment_rate": ("imp", "avg(commented::int)", "sum(commented::int)"),
    "not_interested_rate": ("imp", "avg(not_interested::int)", "sum(not_interested::int)"),
    "report_rate": ("imp", "avg(reported::int)", "sum(reported::int)"),
    "completion_rate": ("imp", "avg((watch_ms >= duration_ms)::int)", "sum((watch_ms >= duration_ms)::int)"),
    # exposure clusters by creator: count the new creators seen per day, not their impressions
    "new_creator_share": (
        "imp",
        "avg((creator_age = 'new')::int)",
        "count(DISTINCT (date, creator_id)) FILTER (WHERE creator_age = 'new')",
    ),
    "uploads": ("upl", "count(*) / count(DISTINCT date)", "count(*)"),
    "removal_rate": ("mod", "avg((decision = 'removed')::int)", "sum((decision = 'removed')::int)"),
    "appeal_overturn_rate": (
        "mod",
        "avg((appeal_outcome = 'overturned')::int) FILTER (WHERE appeal_outcome IS NOT NULL)",
        "sum((appeal_outcome = 'overturned')::int)",
    ),
    "review_latency_p90_h": ("mod", "quantile_cont(review_ms, 0.9) / 3.6e6", "count(*) / 4"),
}


def connect(world: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB views of a world, with tier and creator_age joined from creators."""
    con = duckdb.connect()
    register_tables(con, world)
    age = "CASE WHEN t.date - c.join_date < 30 THEN 'new' ELSE 'established' END AS creator_age"
    for view, table in (("imp", "impressions"), ("upl", "uploads"), ("mod", "moderation")):
        con.execute(
            f"CREATE VIEW {view} AS SELECT t.*, c.tier, {age} FROM {table} t JOIN creators c USING (creator_id)"
        )
    return con


def where(scope: dict[str, str], start: str, end: str, negate: bool = False, extra: str = "TRUE") -> str:
    """SQL filter: the date window, and rows inside (or, negated, outside) the scope."""
    inside = " AND ".join(f"{d} = '{v}'" for d, v in scope.items()) or "TRUE"
    if negate:
        inside = f"NOT ({inside})"
    return f"date BETWEEN DATE '{start}' AND DATE '{end}' AND {inside} AND {extra}"


def metric(con, name: str, scope: dict[str, str], start: str, end: str, negate: bool = False, extra: str = "TRUE"):
    """(value, count) of one metric over a window, inside or outside a scope."""
    if name == "format_share":
        fmt = scope["format"]
        rest = {d: v for d, v in scope.items() if d != "format"}
        cond = where(rest, start, end, negate, extra)
        sql = f"SELECT avg((format = '{fmt}')::int), sum((format = '{fmt}')::int) FROM imp WHERE {cond}"
    elif name == "top1pct_creator_share":
        # per day: the top 1% of the creators seen that day, by impressions; averaged over days
        sql = f"""
            WITH c AS (SELECT date, creator_id, count(*) AS n FROM imp WHERE {where(scope, start, end, negate, extra)}
                       GROUP BY ALL),
                 r AS (SELECT date, n, row_number() OVER (PARTITION BY date ORDER BY n DESC) AS rk,
                              count(*) OVER (PARTITION BY date) AS k FROM c),
                 d AS (SELECT date, sum(n) FILTER (WHERE rk <= ceil(k * 0.01)) AS top, sum(n) AS n,
                              max(ceil(k * 0.01)) AS tops FROM r GROUP BY 1)
            SELECT avg(top / n), sum(tops) FROM d
        """
    else:
        view, value, count = METRIC_SQL[name]
        sql = f"SELECT {value}, {count} FROM {view} WHERE {where(scope, start, end, negate, extra)}"
    value, count = con.execute(sql).fetchall()[0]
    return float(value or 0.0), float(count or 0.0)
