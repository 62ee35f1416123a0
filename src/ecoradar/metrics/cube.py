"""Compute the metric cube incrementally (one Parquet partition per day, written atomically) and read it back."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlglot import exp

from ecoradar.data.schema import DIMENSIONS
from ecoradar.errors import DataError, InputError
from ecoradar.metrics.compiler import CUBE_COLUMNS, metric_dims, metric_slices
from ecoradar.metrics.engine import get_engine
from ecoradar.metrics.loader import Catalog, check_metric, load_catalog
from ecoradar.metrics.model import Metric
from ecoradar.metrics.sources import CREATOR_DIMENSIONS

#: Arrow schema of every cube partition.
CUBE_SCHEMA = pa.schema(
    [("metric", pa.string()), ("date", pa.date32())]
    + [(d, pa.string()) for d in DIMENSIONS]
    + [("numerator", pa.float64()), ("denominator", pa.float64()), ("value", pa.float64())]
)
assert tuple(CUBE_SCHEMA.names) == CUBE_COLUMNS

#: Parquet metadata key holding, per metric, the fingerprint of what computed the partition.
META_KEY = b"ecoradar.cube"

#: Days computed per engine query: bounds memory and gives the progress bar steps.
BATCH_DAYS = 7


@dataclass
class CubeResult:
    """What a compute_cube run did."""

    path: Path
    days_computed: list[dt.date] = field(default_factory=list)
    days_skipped: list[dt.date] = field(default_factory=list)
    """Days already in the cube with the same definitions, left as they were."""
    rows: int = 0
    """Cube rows written in this run."""
    metrics: list[str] = field(default_factory=list)
    """Metrics computed."""
    metrics_skipped: list[str] = field(default_factory=list)
    """Metrics left out because their source table is not in the data folder."""


def _partition(out: Path, day: dt.date) -> Path:
    return out / f"date={day.isoformat()}" / "part-0.parquet"


def _run_key(metric: Metric, depth: int, dims: tuple[str, ...] | None) -> str:
    """What the rows of a metric depend on: its definition, the depth and the dimension restriction."""
    return f"{metric.fingerprint()}:{depth}:{','.join(metric_dims(metric, dims))}"


def _partition_keys(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    meta = pq.read_schema(path).metadata or {}
    return json.loads(meta.get(META_KEY, b"{}"))


def compute_cube(
    data_dir: Path,
    *,
    catalog: Catalog | None = None,
    metrics: list[str] | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    depth: int = 2,
    out: Path | None = None,
    engine: str = "duckdb",
    incremental: bool = True,
    dimensions: list[str] | None = None,
    threads: int | None = None,
    engine_options: dict | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> CubeResult:
    """Compute the cube of `metrics` over the data folder and store it as DIR/cube/date=YYYY-MM-DD/part-0.parquet.

    Incremental by default: a day whose partition already holds every metric with the same definition, depth and
    dimensions is skipped. An explicit `date_from`/`date_to` recomputes every day of that range.

    Args:
        data_dir (Path): the data folder.
        catalog (Catalog | None): metrics to choose from (None: `load_catalog()`).
        metrics (list[str] | None): names to compute (None: every metric whose tables are in the folder).
        date_from, date_to (date | None): inclusive range of days; given, those days are recomputed.
        depth (int): largest number of dimensions in one slice (GROUPING SETS up to this size).
        out (Path | None): cube folder (None: data_dir / "cube").
        engine (str): engine name (see `ecoradar.metrics.engine.get_engine`).
        incremental (bool): False recomputes every day.
        dimensions (list[str] | None): slice only by these dimensions (None: each metric's own).
        threads (int | None): engine worker threads.
        engine_options (dict | None): extra keywords of the engine, e.g. {"master": URL} or {"session": spark}.
        on_progress (callable | None): called with (days done, days to do) after each batch.

    Returns:
        CubeResult: the cube path, the days computed and skipped, and the rows written.

    Raises:
        InputError: bad arguments, an empty date range, or an invalid metric.
        DataError: the folder lacks a table or a column the metrics need.
        NotFound: an unknown metric or engine name.
    """
    data_dir = Path(data_dir)
    out = Path(out) if out is not None else data_dir / "cube"
    catalog = catalog if catalog is not None else load_catalog()
    if depth < 0:
        raise InputError(f"depth must be >= 0, got {depth}")
    if date_from and date_to and date_from > date_to:
        raise InputError(f"empty date range: --from {date_from} is after --to {date_to}")
    if dimensions is not None:
        bad = [d for d in dimensions if d not in DIMENSIONS]
        if bad:
            raise InputError(f"unknown dimension {bad[0]!r}; allowed: {', '.join(DIMENSIONS)}")
    dims = tuple(dimensions) if dimensions is not None else None
    chosen = catalog.select(metrics)
    for metric in chosen:
        check_metric(metric, catalog.origin(metric.name))
    with get_engine(engine)(data_dir, threads=threads, **(engine_options or {})) as eng:
        have = eng.columns()
        runnable, skipped = runnable_metrics(chosen, have, explicit=metrics is not None, dims=dims, depth=depth)
        days = sorted({d for t, col in _date_sources(runnable) for d in eng.days(t, col)})
        in_range = [d for d in days if (not date_from or d >= date_from) and (not date_to or d <= date_to)]
        if not in_range:
            span = f"{days[0]} to {days[-1]}" if days else "no days at all"
            asked = f"between {date_from or 'the start'} and {date_to or 'the end'}"
            raise InputError(f"empty date range: no data {asked} in {str(data_dir)!r} (the data covers {span})")
        keys = {m.name: _run_key(m, depth, dims) for m in runnable}
        forced = not incremental or date_from is not None or date_to is not None
        todo = [d for d in in_range if forced or not _up_to_date(_partition(out, d), keys)]
        result = CubeResult(
            path=out,
            days_skipped=[d for d in in_range if d not in set(todo)],
            metrics=[m.name for m in runnable],
            metrics_skipped=skipped,
        )
        compiler = eng.compiler()
        done = 0
        for batch in _batches(todo):
            sql = compiler.sql(
                compiler.cube_query(runnable, dims=dims, depth=depth, date_from=batch[0], date_to=batch[-1])
            )
            table = eng.query(sql)
            result.rows += _write_days(out, table, batch, keys)
            result.days_computed += batch
            done += len(batch)
            if on_progress:
                on_progress(done, len(todo))
    return result


def runnable_metrics(
    chosen: list[Metric], have: dict[str, set[str]], *, explicit: bool, dims: tuple[str, ...] | None, depth: int
) -> tuple[list[Metric], list[str]]:
    """Metrics whose tables and columns are in the folder (a named metric that is not fails; others are skipped)."""
    runnable, skipped = [], []
    for metric in chosen:
        missing = [t for t in metric.tables if t not in have]
        if missing:
            if explicit:
                raise DataError(
                    f"metric {metric.name!r} needs table {missing[0]!r}, which the data folder does not have"
                )
            skipped.append(metric.name)
            continue
        for table, cols in _columns_used(metric, dims).items():
            for col in sorted(cols):
                if col in CREATOR_DIMENSIONS and "creators" not in have:
                    raise DataError(
                        f"metric {metric.name!r} uses {col!r}, which needs table 'creators' in the data folder"
                    )
                if col not in CREATOR_DIMENSIONS and col not in have[table]:
                    raise DataError(f"table {table!r} is missing column {col!r} (used by metric {metric.name!r})")
        if not metric_slices(metric, dims, depth):
            skipped.append(metric.name)
            continue
        runnable.append(metric)
    if not runnable:
        raise InputError(
            "no metric to compute: " + (f"skipped {', '.join(skipped)}" if skipped else "the catalog is empty")
        )
    return runnable, skipped


def _columns_used(metric: Metric, dims: tuple[str, ...] | None) -> dict[str, set[str]]:
    """Per source table, the columns a metric reads (dimensions, expressions, entity, date column)."""
    den_table = metric.denominator_table or metric.table
    used = {t: {metric.date_column, *metric_dims(metric, dims)} for t in metric.tables}
    for fld, tree in check_metric(metric).items():
        table = den_table if fld in ("denominator", "denominator_filter") else metric.table
        used[table] |= {c.name for c in tree.find_all(exp.Column)}
    if metric.entity:
        used[metric.table].add(metric.entity)
    return used


def _date_sources(metrics: Iterable[Metric]) -> set[tuple[str, str]]:
    return {(t, m.date_column) for m in metrics for t in m.tables}


def _up_to_date(path: Path, keys: dict[str, str]) -> bool:
    have = _partition_keys(path)
    return all(have.get(name) == key for name, key in keys.items())


def _batches(days: list[dt.date]) -> list[list[dt.date]]:
    """Runs of consecutive days, cut every BATCH_DAYS (each batch is one contiguous date range)."""
    out: list[list[dt.date]] = []
    for day in days:
        if out and day - out[-1][-1] == dt.timedelta(days=1) and len(out[-1]) < BATCH_DAYS:
            out[-1].append(day)
        else:
            out.append([day])
    return out


def _write_days(out: Path, table: pa.Table, days: list[dt.date], keys: dict[str, str]) -> int:
    """Write one partition per day atomically, keeping rows of metrics this run did not compute."""
    table = table.select(list(CUBE_COLUMNS)).cast(CUBE_SCHEMA)
    table = table.sort_by([("date", "ascending"), ("metric", "ascending")])
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for day in days:
        part = table.filter(pc.equal(table["date"], pa.scalar(day, pa.date32())))
        path = _partition(out, day)
        meta = dict(keys)
        if path.exists():
            old = pq.read_table(path, schema=CUBE_SCHEMA)
            kept = old.filter(pc.invert(pc.is_in(old["metric"], pa.array(list(keys), pa.string()))))
            if kept.num_rows:
                part = pa.concat_tables([kept, part])
            meta = {k: v for k, v in _partition_keys(path).items() if k not in keys} | keys
        part = part.replace_schema_metadata({META_KEY: json.dumps(meta, sort_keys=True).encode()})
        _replace_dir(path.parent, lambda folder, t=part: pq.write_table(t, folder / "part-0.parquet"))
        written += part.num_rows
    return written


def _replace_dir(target: Path, fill: Callable[[Path], None]) -> None:
    """Fill a fresh sibling folder, then swap it in with renames, so readers never see a half-written day."""
    tmp = target.parent.parent / f".{target.parent.name}.tmp-{uuid.uuid4().hex[:8]}"
    staged = tmp / target.name
    staged.mkdir(parents=True)
    try:
        fill(staged)
        old = tmp / "old"
        if target.exists():
            os.replace(target, old)
        os.replace(staged, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def cube_dir(path_or_data_dir: Path) -> Path:
    """The cube folder for a data folder (DIR/cube) or a cube folder itself."""
    path = Path(path_or_data_dir)
    if (path / "cube").is_dir() and not any(path.glob("date=*")):
        return path / "cube"
    return path


def read_cube(
    path_or_data_dir: Path,
    *,
    metrics: list[str] | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> pa.Table:
    """Read cube rows (columns CUBE_COLUMNS), optionally only some metrics and days, sorted by metric and date.

    Raises:
        DataError: there is no cube at that path.
    """
    folder = cube_dir(path_or_data_dir)
    if not folder.is_dir():
        raise DataError(f"no metric cube at {str(folder)!r} (run `ecoradar metrics compute --data DIR`)")
    files = []
    for part in sorted(folder.glob("date=*/part-0.parquet")):
        day = dt.date.fromisoformat(part.parent.name.removeprefix("date="))
        if (date_from is None or day >= date_from) and (date_to is None or day <= date_to):
            files.append(part)
    if not files:
        return CUBE_SCHEMA.empty_table()
    filters = [("metric", "in", list(metrics))] if metrics is not None else None
    tables = [pq.read_table(f, schema=CUBE_SCHEMA, filters=filters) for f in files]
    table = pa.concat_tables(tables).replace_schema_metadata(None)
    return table.sort_by([("metric", "ascending"), ("date", "ascending")])
