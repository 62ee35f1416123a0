"""The daily job: cube -> detect -> explain -> issues -> notifications, for one day or a range."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from ecoradar.data.io import register_tables
from ecoradar.detect.cube import detect_cube
from ecoradar.detect.records import Anomaly
from ecoradar.errors import EcoradarError, InputError
from ecoradar.explain.creators import creator_drivers
from ecoradar.explain.cube import explain
from ecoradar.explain.records import CreatorDrivers, Explanation
from ecoradar.issues.daily import DaySummary, run_days
from ecoradar.issues.routing import load_routing
from ecoradar.metrics.cube import compute_cube, read_cube
from ecoradar.metrics.loader import Catalog, load_catalog
from ecoradar.notify.config import load_config
from ecoradar.notify.send import notify_since
from ecoradar.store import open_store, utcnow

log = logging.getLogger(__name__)

HISTORY_DAYS = 56
"""Days of cube before the first judged day that detection uses as its baseline."""
EXPLAIN_PER_DAY = 40
"""Anomalies explained per day, best first: explanation is the slow step and the tail is rarely read."""
DRIVER_BASELINE_DAYS = 7
"""Days before a change's start whose mean each creator's part of the change is measured against."""
DRIVERS_PER_DAY = 20
"""Explained anomalies per day whose creators are measured (a query of the raw rows each), best first."""


@dataclass
class RunReport:
    """What one `ecoradar run` did."""

    dates: list[dt.date]
    cube_days_computed: int
    anomalies: int
    days: list[DaySummary] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        """Summed day counts: new, ongoing, regressed, recovered, suppressed."""
        out: dict[str, int] = defaultdict(int)
        for day in self.days:
            for key, value in day.counts().items():
                out[key] += value
        return dict(out)


def read_events(data_dir: Path) -> pd.DataFrame | None:
    """The events calendar of a data folder as a DataFrame (None when the folder has none)."""
    con = duckdb.connect()
    try:
        if "events" not in register_tables(con, data_dir, tables=("events",)):
            return None
        return con.execute("SELECT * FROM events ORDER BY ts").df()
    finally:
        con.close()


def data_days(data_dir: Path) -> list[dt.date]:
    """Days with a partition in any daily table of the folder, sorted."""
    from ecoradar.data.schema import DAILY_TABLES

    days = {
        dt.date.fromisoformat(part.name.removeprefix("date="))
        for table in DAILY_TABLES
        for part in (Path(data_dir) / table).glob("date=*")
    }
    if not days:
        raise InputError(f"the data folder {str(data_dir)!r} has no daily partitions (impressions/date=YYYY-MM-DD/)")
    return sorted(days)


def cube_days(cube: pa.Table) -> list[dt.date]:
    """Distinct days present in a cube table, sorted."""
    return sorted(set(cube.column("date").to_pylist()))


def _platform_totals(cube: pd.DataFrame, dims: list[str]) -> dict[tuple[str, dt.date], float]:
    """(metric, date) -> the platform-wide denominator (or value for counts), for exposure shares."""
    top = cube.loc[cube[dims].isna().all(axis=1)]
    size = top["denominator"].where(top["denominator"].notna(), top["value"])
    return {(m, d): float(s) for m, d, s in zip(top["metric"], top["date"], size, strict=True)}


def _explain_all(
    anomalies: list[Anomaly],
    cube: pa.Table,
    catalog: Catalog,
    events: pd.DataFrame | None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> list[Explanation]:
    """Explain the day's strongest anomalies (with their creators when `con` reads the raw tables).

    A slice too small to explain gets no root causes (and, without `con`, no explanation at all).
    """
    out = []
    for rank, anomaly in enumerate(anomalies[:EXPLAIN_PER_DAY]):
        metric = catalog[anomaly.metric]
        try:
            found = explain(
                cube, metric, date=anomaly.date, scope=anomaly.scope, events=events, change_start=anomaly.start
            )
        except EcoradarError as exc:
            log.info("no explanation for %s %s on %s: %s", anomaly.metric, anomaly.scope, anomaly.date, exc)
            if con is None:
                continue
            found = Explanation(anomaly.metric, dict(anomaly.scope), anomaly.date)
        if con is not None and rank < DRIVERS_PER_DAY:
            found = replace(found, drivers=measure_drivers(con, catalog, anomaly, anomaly.scope))
        out.append(found)
    return out


def measure_drivers(
    con: duckdb.DuckDBPyConnection, catalog: Catalog, anomaly: Anomaly, scope: Mapping[str, str]
) -> CreatorDrivers | None:
    """The creators behind `anomaly`'s change in `scope`, against the DRIVER_BASELINE_DAYS before it started."""
    metric = catalog[anomaly.metric]
    start = anomaly.start or anomaly.date
    baseline = [start - dt.timedelta(days=k) for k in range(1, DRIVER_BASELINE_DAYS + 1)]
    try:
        return creator_drivers(con, metric, dict(scope), anomaly.date, baseline)
    except duckdb.Error as exc:  # a diagnostic: the issue is still worth opening without it
        log.warning("creators of %s %s on %s not measured: %s", metric.name, dict(scope), anomaly.date, exc)
        return None


def run_pipeline(
    data_dir: Path,
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    db: str | None = None,
    catalog_dirs: list[Path] | None = None,
    routing: Path | None = None,
    notify: Path | None = None,
) -> RunReport:
    """Run the daily job over `date_from..date_to` (default: the last day of data).

    The cube is brought up to date incrementally, detection judges the range in one pass, and each day is
    ingested into the store in its own transaction, so a day already ingested is left as it is.

    Raises:
        InputError: the range is empty or outside the data.
    """
    data_dir = Path(data_dir)
    catalog = load_catalog(catalog_dirs)
    computed = compute_cube(data_dir, catalog=catalog)
    available = cube_days(read_cube(data_dir, metrics=[next(iter(catalog))]))
    if not available:
        raise InputError(f"the data folder {str(data_dir)!r} holds no day to run on")
    date_to = date_to or available[-1]
    date_from = date_from or date_to
    if date_from > date_to:
        raise InputError(f"empty date range: --from {date_from} is after --to {date_to}")
    if date_to > available[-1] or date_from < available[0]:
        raise InputError(f"dates {date_from}..{date_to} are outside the data ({available[0]}..{available[-1]})")
    dates = [d for d in available if date_from <= d <= date_to]

    history = max(1, min(HISTORY_DAYS, (date_from - available[0]).days))
    cube = read_cube(data_dir, date_from=date_from - dt.timedelta(days=history), date_to=date_to)
    events = read_events(data_dir)
    metrics = {name: catalog[name] for name in catalog}
    found = detect_cube(cube, metrics, date_from=date_from, date_to=date_to, events=events, history_days=history)
    by_date: dict[dt.date, list[Anomaly]] = defaultdict(list)
    for anomaly in found.anomalies:
        by_date[anomaly.date].append(anomaly)
    frame = cube.to_pandas()
    dims = [c for c in frame.columns if c not in ("metric", "date", "numerator", "denominator", "value")]
    totals = _platform_totals(frame, dims)

    con = duckdb.connect()
    register_tables(con, data_dir)

    def produce(date: dt.date):
        anomalies = by_date.get(date, [])
        day_totals = {m: v for (m, d), v in totals.items() if d == date}
        return anomalies, _explain_all(anomalies, cube, catalog, events, con), day_totals

    store = open_store(db)
    started = utcnow()
    try:
        days = run_days(
            store,
            dates,
            produce,
            catalog,
            routing=load_routing(routing),
            drivers=lambda anomaly, scope: measure_drivers(con, catalog, anomaly, scope),
        )
        config = load_config(notify)
        if config.webhooks:
            with store.session() as session:
                notify_since(session, started, config)
    finally:
        store.close()
        con.close()
    return RunReport(dates, len(computed.days_computed), len(found.anomalies), days)
