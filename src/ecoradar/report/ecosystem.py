"""Read-side views of a data folder for people: metric series and breakdowns from the cube, format exposure
shares and creator concentration. Shared by the web app and the weekly report; every query is one DuckDB pass."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ecoradar.data.io import table_glob
from ecoradar.data.schema import DIMENSIONS, ISSUE_CATEGORIES
from ecoradar.errors import DataError, InputError, unknown


def parse_scope(text: str | None) -> dict[str, str]:
    """Parse 'dim=value,dim=value' (or '' for the whole platform) into a scope, checking dimension names.

    Example:
        >>> parse_scope("region=BR,format=photo")
        {'region': 'BR', 'format': 'photo'}
    """
    scope: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        dim, sep, value = part.partition("=")
        dim, value = dim.strip(), value.strip()
        if not sep or not value:
            raise InputError(f"bad slice part {part.strip()!r}: write dim=value, e.g. region=BR")
        if dim not in DIMENSIONS:
            raise unknown("dimension", dim, DIMENSIONS)
        scope[dim] = value
    return scope


def format_scope(scope: dict[str, str] | None) -> str:
    """The inverse of parse_scope; 'all' for the whole platform."""
    return ",".join(f"{k}={v}" for k, v in (scope or {}).items()) or "all"


class Cube:
    """The metric cube of a data folder (DIR/cube/date=.../*.parquet) behind small, parametrized queries.

    A slice is a scope: the named dimensions equal their values and every other dimension is NULL ("all").
    Thread-safe: each query runs on its own DuckDB cursor.
    """

    CACHE_SIZE = 512
    """Query results kept (oldest dropped first); all become stale when a partition changes."""

    def __init__(self, data_dir: str | Path) -> None:
        self.data_dir = Path(data_dir)
        folder = self.data_dir / "cube"
        self._con = duckdb.connect(":memory:")
        self._lock = threading.Lock()
        self._cache: dict[tuple, pd.DataFrame] = {}
        self.available = folder.is_dir() and any(folder.rglob("*.parquet"))
        if self.available:
            glob = str(folder / "**" / "*.parquet").replace("'", "''")
            self._con.execute(
                "CREATE VIEW cube AS SELECT * FROM "
                f"read_parquet('{glob}', hive_partitioning = true, union_by_name = true)"
            )
            cols = {r[0] for r in self._con.execute("DESCRIBE cube").fetchall()}
            self.dims = tuple(d for d in DIMENSIONS if d in cols)
        else:
            self.dims = ()

    def _version(self) -> float:
        """Latest modification time of the cube's partitions: a recomputed day changes it."""
        folder = self.data_dir / "cube"
        return max((p.stat().st_mtime for p in folder.iterdir()), default=0.0) if folder.is_dir() else 0.0

    def _query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        """Run a query, answering repeats from a small cache until the cube changes (pages ask the same series)."""
        if not self.available:
            raise DataError(f"data folder {str(self.data_dir)!r} has no cube (run `ecoradar metrics compute`)")
        key = (sql, repr(params), self._version())
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None:
            return hit.copy()
        cur = self._con.cursor()
        try:
            df = cur.execute(sql, params or []).df()
        finally:
            cur.close()
        with self._lock:
            if len(self._cache) >= self.CACHE_SIZE:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = df
        return df.copy()

    def _where(self, scope: dict[str, str], free: tuple[str, ...] = ()) -> tuple[str, list]:
        unknown_dims = [d for d in scope if d not in self.dims]
        if unknown_dims:
            raise unknown("dimension", unknown_dims[0], self.dims)
        parts, params = [], []
        for dim in self.dims:
            if dim in free:
                continue
            if dim in scope:
                parts.append(f'"{dim}" = ?')
                params.append(scope[dim])
            else:
                parts.append(f'"{dim}" IS NULL')
        return " AND ".join(parts) or "TRUE", params

    def metrics(self) -> list[str]:
        """Names of the metrics present in the cube."""
        return [] if not self.available else sorted(self._query("SELECT DISTINCT metric FROM cube")["metric"])

    def date_range(self) -> tuple[dt.date, dt.date] | None:
        """First and last date in the cube (None when empty)."""
        if not self.available:
            return None
        row = self._query("SELECT min(date) AS lo, max(date) AS hi FROM cube").iloc[0]
        if pd.isna(row.lo):
            return None
        return pd.Timestamp(row.lo).date(), pd.Timestamp(row.hi).date()

    def series(
        self,
        metrics: list[str],
        scope: dict[str, str] | None = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
    ) -> pd.DataFrame:
        """Daily values of metrics in one slice: columns metric, date, value, numerator, denominator."""
        where, params = self._where(scope or {})
        sql = (
            "SELECT metric, CAST(date AS DATE) AS date, value, numerator, denominator FROM cube "
            f"WHERE metric IN (SELECT unnest(?)) AND {where}"
        )
        params = [list(metrics), *params]
        if date_from:
            sql += " AND date >= ?"
            params.append(date_from)
        if date_to:
            sql += " AND date <= ?"
            params.append(date_to)
        return self._query(sql + " ORDER BY metric, date", params)

    def breakdown(
        self, metric: str, scope: dict[str, str] | None, by: str, date_from: dt.date, date_to: dt.date
    ) -> pd.DataFrame:
        """Value of a metric in each child slice along `by` over a period: columns value_of_by, value, numerator,
        denominator, days (ratios are re-derived from summed numerators and denominators)."""
        scope = dict(scope or {})
        if by not in self.dims:
            raise unknown("dimension", by, self.dims)
        if by in scope:
            raise InputError(f"cannot break down by {by!r}: the slice already fixes {by}={scope[by]}")
        where, params = self._where(scope, free=(by,))
        sql = (
            f'SELECT "{by}" AS key, sum(numerator) AS numerator, sum(denominator) AS denominator, '
            "avg(value) AS mean_value, count(*) AS days FROM cube "
            f'WHERE metric = ? AND date BETWEEN ? AND ? AND "{by}" IS NOT NULL AND {where} GROUP BY 1'
        )
        df = self._query(sql, [metric, date_from, date_to, *params])
        ratio = df["denominator"].notna() & (df["denominator"] > 0)
        df["value"] = np.where(ratio, df["numerator"] / df["denominator"].where(ratio, 1.0), df["mean_value"])
        return df.drop(columns="mean_value").sort_values("value", ascending=False, ignore_index=True)

    def children(
        self, metric: str, by: str, date_from: dt.date | None = None, date_to: dt.date | None = None
    ) -> pd.DataFrame:
        """Daily values of a metric along one dimension (every other dimension 'all'): columns date, key, value."""
        where, params = self._where({}, free=(by,))
        sql = (
            f'SELECT CAST(date AS DATE) AS date, "{by}" AS key, value, numerator, denominator FROM cube '
            f'WHERE metric = ? AND "{by}" IS NOT NULL AND {where}'
        )
        params = [metric, *params]
        if date_from:
            sql += " AND date >= ?"
            params.append(date_from)
        if date_to:
            sql += " AND date <= ?"
            params.append(date_to)
        return self._query(sql + " ORDER BY date, key", params)


def _impressions_source(data_dir: Path) -> str | None:
    located = table_glob(data_dir, "impressions")
    if located is None:
        return None
    reader, glob = located
    glob = glob.replace("'", "''")
    if reader == "parquet":
        return f"read_parquet('{glob}', hive_partitioning = true, union_by_name = true)"
    return f"read_csv('{glob}', header = true, hive_partitioning = true, union_by_name = true)"


def format_shares(data_dir: str | Path, date_from: dt.date | None = None) -> pd.DataFrame:
    """Share of impressions per format per day (columns date, format, impressions, share), from the raw table."""
    src = _impressions_source(Path(data_dir))
    if src is None:
        return pd.DataFrame(columns=["date", "format", "impressions", "share"])
    sql = (
        f"WITH d AS (SELECT CAST(ts AS DATE) AS date, format, count(*) AS impressions FROM {src} "
        "WHERE ? IS NULL OR ts >= ? GROUP BY ALL) "
        "SELECT date, format, impressions, impressions / sum(impressions) OVER (PARTITION BY date) AS share "
        "FROM d ORDER BY date, format"
    )
    with duckdb.connect(":memory:") as con:
        return con.execute(sql, [date_from, date_from]).df()


def creator_concentration(
    data_dir: str | Path, date_from: dt.date | None = None, points: int = 101
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Creator concentration of impressions.

    Returns:
        (lorenz, top1): the Lorenz curve over the whole period (columns creators, impressions: cumulative shares
        from the smallest creator up, `points` rows) and the daily share of impressions going to the top 1% of
        creators (columns date, top1_share, gini).
    """
    src = _impressions_source(Path(data_dir))
    if src is None:
        empty = pd.DataFrame(columns=["creators", "impressions"])
        return empty, pd.DataFrame(columns=["date", "top1_share", "gini"])
    with duckdb.connect(":memory:") as con:
        con.execute(
            f"CREATE TEMP TABLE per_day AS SELECT CAST(ts AS DATE) AS date, creator_id, count(*) AS n FROM {src} "
            "WHERE ? IS NULL OR ts >= ? GROUP BY ALL",
            [date_from, date_from],
        )
        totals = con.execute("SELECT sum(n) AS n FROM per_day GROUP BY creator_id ORDER BY n").fetchnumpy()["n"]
        top1 = con.execute(
            "WITH r AS (SELECT date, n, row_number() OVER (PARTITION BY date ORDER BY n DESC) AS rk, "
            "count(*) OVER (PARTITION BY date) AS m, sum(n) OVER (PARTITION BY date) AS total, "
            "row_number() OVER (PARTITION BY date ORDER BY n) AS rk_asc FROM per_day) "
            "SELECT date, sum(n) FILTER (WHERE rk <= greatest(1, ceil(m * 0.01))) / any_value(total) AS top1_share, "
            "(2 * sum(rk_asc * n) / (any_value(m) * any_value(total)) - (any_value(m) + 1) / any_value(m)) AS gini "
            "FROM r GROUP BY date ORDER BY date"
        ).df()
    if len(totals) == 0:
        return pd.DataFrame(columns=["creators", "impressions"]), top1
    cum = np.concatenate([[0.0], np.cumsum(totals, dtype=float)]) / float(totals.sum())
    x = np.linspace(0.0, 1.0, points)
    lorenz = pd.DataFrame({"creators": x, "impressions": np.interp(x, np.linspace(0, 1, len(cum)), cum)})
    return lorenz, top1


def category_health(catalog, series: pd.DataFrame, open_counts: dict[str, dict[str, int]]) -> list[dict]:
    """A scorecard row per issue category: its metrics' platform-level trend and its open issues.

    Args:
        catalog (Mapping[str, Metric]): the metric catalog.
        series (pd.DataFrame): platform-level daily values (columns metric, date, value), e.g. Cube.series(...).
        open_counts (dict): {category: {priority: open issues}}.

    Returns:
        list[dict]: per category {category, status (red/amber/green), open {P0..P3}, metrics [{name, unit,
        direction, last, change (last 7 days vs the 7 before, relative), values (for a sparkline)}]}.
    """
    by_metric = {m: part.sort_values("date")["value"].to_numpy(dtype=float) for m, part in series.groupby("metric")}
    rows = []
    for category in ISSUE_CATEGORIES:
        metrics = [m for m in catalog.values() if m.category == category]
        counts = open_counts.get(category, {})
        if not metrics and not counts:
            continue
        worst = next((p for p in ("P0", "P1", "P2", "P3") if counts.get(p)), None)
        status = {"P0": "red", "P1": "red", "P2": "amber"}.get(worst or "", "green")
        cards = []
        for m in metrics:
            values = by_metric.get(m.name, np.array([]))
            finite = values[np.isfinite(values)]
            last = float(finite[-1]) if len(finite) else None
            change = None
            if len(finite) >= 14:
                recent, before = finite[-7:].mean(), finite[-14:-7].mean()
                change = None if before == 0 else float((recent - before) / abs(before))
            cards.append(
                {
                    "name": m.name,
                    "unit": m.unit,
                    "direction": m.direction,
                    "last": last,
                    "change": change,
                    "values": values.tolist(),
                }
            )
        rows.append({"category": category, "status": status, "open": counts, "metrics": cards})
    return rows


def movers(cube: Cube, catalog, monday: dt.date, *, top: int = 10) -> pd.DataFrame:
    """Platform-level metrics that moved most between the week starting `monday` and the week before.

    Each mover carries the single-dimension child slice whose value moved most, weighted by its share of the
    denominator (or of the count), as a first hint of where the change is.

    Returns:
        pd.DataFrame: columns metric, category, direction, unit, previous, current, change (relative),
        slice (dim=value), slice_previous, slice_current; sorted by |change|, at most `top` rows.
    """
    prev, end = monday - dt.timedelta(days=7), monday + dt.timedelta(days=6)
    names = [m for m in catalog if m in set(cube.metrics())]
    if not names:
        return pd.DataFrame()
    dims = cube.dims
    one_dim = " + ".join(f'("{d}" IS NOT NULL)::INT' for d in dims)
    key = "coalesce(" + ", ".join(f"'{d}=' || \"{d}\"" for d in dims) + ")"
    df = cube._query(
        f"SELECT metric, {key} AS slice, (date >= ?) AS this_week, avg(value) AS value, "
        "sum(coalesce(denominator, numerator)) AS weight FROM cube "
        f"WHERE metric IN (SELECT unnest(?)) AND date BETWEEN ? AND ? AND ({one_dim}) <= 1 GROUP BY ALL",
        [monday, names, prev, end],
    )
    if df.empty:
        return pd.DataFrame()
    df["slice"] = df["slice"].fillna("")  # "" is the platform-level row
    wide = df.pivot_table(index=["metric", "slice"], columns="this_week", values=["value", "weight"])
    wide.columns = [f"{a}_{'cur' if b else 'prev'}" for a, b in wide.columns]
    wide = wide.reset_index()
    for col in ("value_cur", "value_prev", "weight_cur", "weight_prev"):
        if col not in wide:
            wide[col] = np.nan
    platform = wide[wide["slice"] == ""].set_index("metric")
    children = wide[wide["slice"] != ""].copy()
    total_weight = children.groupby("metric")["weight_cur"].transform("sum")
    children["score"] = (children["value_cur"] - children["value_prev"]).abs() * children["weight_cur"] / total_weight
    best = children.dropna(subset=["score"]).sort_values("score", ascending=False)
    best = best.drop_duplicates("metric").set_index("metric")
    out = pd.DataFrame({"previous": platform["value_prev"], "current": platform["value_cur"]})
    out["change"] = (out["current"] - out["previous"]) / out["previous"].abs().where(out["previous"] != 0)
    out = out.join(
        best[["slice", "value_prev", "value_cur"]].rename(
            columns={"value_prev": "slice_previous", "value_cur": "slice_current"}
        )
    )
    out = out.dropna(subset=["change"])
    out = out.reindex(out["change"].abs().sort_values(ascending=False).index).head(top).reset_index()
    meta = {m: catalog[m] for m in out["metric"]}
    out["category"] = [meta[m].category for m in out["metric"]]
    out["direction"] = [meta[m].direction for m in out["metric"]]
    out["unit"] = [meta[m].unit for m in out["metric"]]
    return out
