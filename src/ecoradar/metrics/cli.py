"""CLI commands of the metrics stage: metrics list/show/compute and the `sql` console."""

# Heavy imports live inside the commands, to keep `ecoradar --help` fast.
from __future__ import annotations

import datetime as dt
import io
import json
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

from ecoradar.errors import InputError
from ecoradar.progress import progress

if TYPE_CHECKING:
    import pyarrow as pa

metrics_app = typer.Typer(help="The metric catalog and the metric cube.", no_args_is_help=True)

CatalogOpt = Annotated[
    list[Path] | None, typer.Option("--catalog", help="Folder of extra metric YAML files (repeatable).")
]
_out = Console(highlight=False, soft_wrap=True)

#: Rows the console prints as a table before it stops (all rows go to csv/json/parquet).
TABLE_ROWS = 200


class Format(StrEnum):
    """Output formats of the SQL console."""

    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} {value!r} is not a date (use YYYY-MM-DD)") from None


@metrics_app.command("list")
def list_metrics(catalog: CatalogOpt = None) -> None:
    """List the metrics of the catalog (built-ins plus your own)."""
    from ecoradar.metrics.loader import load_catalog

    cat = load_catalog(catalog)
    table = Table(title=f"{len(cat)} metrics")
    for col in ("name", "kind", "category", "direction", "owner"):
        table.add_column(col)
    for m in cat.values():
        table.add_row(m.name, m.kind, m.category, m.direction, m.owner)
    _out.print(table)


@metrics_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Metric name.")],
    catalog: CatalogOpt = None,
    depth: Annotated[int, typer.Option(help="Largest number of dimensions in a slice.")] = 2,
    dialect: Annotated[str, typer.Option(help="SQL dialect of the generated query.")] = "duckdb",
) -> None:
    """Print a metric's definition and the SQL that computes its cube."""
    from ecoradar.metrics.compiler import get_compiler
    from ecoradar.metrics.loader import load_catalog

    cat = load_catalog(catalog)
    metric = cat.get(name)
    origin = cat.origin(name)
    _out.print(f"[bold]{metric.name}[/bold]  {metric.description}")
    if origin.path:
        _out.print(f"defined in {origin.path}:{origin.line}")
    for key, value in metric.model_dump(exclude={"name", "description"}, exclude_none=True).items():
        _out.print(f"  {key}: {', '.join(value) if isinstance(value, list) else value}", markup=False)
    sql = get_compiler(dialect).compile_metric(metric, depth=depth)
    _out.print()
    _out.print(Syntax(sql, "sql", word_wrap=True) if _out.is_terminal else sql, markup=False)


@metrics_app.command("compute")
def compute(
    data: Annotated[Path, typer.Option("--data", help="Data folder (one sub-folder per table).")],
    date_from: Annotated[
        str | None, typer.Option("--from", help="First day (YYYY-MM-DD); recomputes the range.")
    ] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last day (YYYY-MM-DD); recomputes the range.")] = None,
    depth: Annotated[int, typer.Option(help="Largest number of dimensions in a slice.")] = 2,
    out: Annotated[Path | None, typer.Option(help="Cube folder (default DATA/cube).")] = None,
    metric: Annotated[list[str] | None, typer.Option("--metric", help="Only this metric (repeatable).")] = None,
    catalog: CatalogOpt = None,
    engine: Annotated[str, typer.Option(help="Engine that runs the SQL: duckdb or spark.")] = "duckdb",
    spark_master: Annotated[
        str | None, typer.Option("--spark-master", help="Spark master URL for --engine spark (default local[*]).")
    ] = None,
    full: Annotated[bool, typer.Option("--full", help="Recompute every day, not only new ones.")] = False,
) -> None:
    """Compute the metric cube (only days not in it yet, unless --from/--to or --full)."""
    from ecoradar.metrics.cube import compute_cube
    from ecoradar.metrics.loader import load_catalog

    cat = load_catalog(catalog)
    if spark_master is not None and engine != "spark":
        raise InputError(f"--spark-master needs --engine spark (got --engine {engine})")
    start = time.perf_counter()
    with progress() as bar:
        task = bar.add_task("computing metric cube", total=None)
        result = compute_cube(
            data,
            catalog=cat,
            metrics=metric,
            date_from=_date(date_from, "--from"),
            date_to=_date(date_to, "--to"),
            depth=depth,
            out=out,
            engine=engine,
            engine_options=_spark_options(spark_master, date_from, date_to) if engine == "spark" else None,
            incremental=not full,
            on_progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    took = time.perf_counter() - start
    days = result.days_computed
    span = f" ({days[0]} to {days[-1]})" if days else ""
    _out.print(
        f"metric cube at {result.path}: {len(result.metrics)} metrics, {len(days)} days computed{span}, "
        f"{len(result.days_skipped)} days already up to date, {result.rows:,} rows written in {took:.1f} s",
        markup=False,
    )
    if result.metrics_skipped:
        _out.print(f"skipped (no source table or slice): {', '.join(result.metrics_skipped)}", markup=False)


def _spark_options(master: str | None, date_from: str | None, date_to: str | None) -> dict:
    """SparkEngine keywords: the master, and the day range so Spark reads only those date= partitions."""
    return {"master": master, "date_from": _date(date_from, "--from"), "date_to": _date(date_to, "--to")}


def sql(
    query: Annotated[str, typer.Argument(help="A SELECT over the event tables and the `cube` view.")],
    data: Annotated[Path, typer.Option("--data", help="Data folder (one sub-folder per table).")],
    format: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    out: Annotated[Path | None, typer.Option("--out", help="Write the result to this file.")] = None,
) -> None:
    """Run SQL over the data folder: tables impressions, uploads, moderation, creators, events, and cube."""
    import pyarrow.parquet as pq

    from ecoradar.metrics.console import run_sql

    result = run_sql(query, data)
    if format is Format.parquet:
        if out is None:
            raise InputError("--format parquet needs --out FILE")
        pq.write_table(result, out)
    elif format is Format.table and out is None:
        _print_table(result)
        return
    else:
        text = _render(result, format)
        if out is None:
            sys.stdout.write(text)
        else:
            out.write_text(text)
    if out is not None:
        _out.print(f"{result.num_rows:,} rows written to {out}", markup=False)


def _render(result: pa.Table, format: Format) -> str:
    import pyarrow.csv as pacsv

    if format is Format.json:
        return json.dumps(result.to_pylist(), default=str, indent=1) + "\n"
    buf = io.BytesIO()
    pacsv.write_csv(result, buf)
    return buf.getvalue().decode()


def _print_table(result: pa.Table) -> None:
    table = Table(show_lines=False)
    for name in result.column_names:
        table.add_column(name, overflow="fold")
    for row in result.slice(0, TABLE_ROWS).to_pylist():
        table.add_row(*["NULL" if v is None else str(v) for v in row.values()])
    _out.print(table)
    more = f" (showing the first {TABLE_ROWS}; use --format csv for all)" if result.num_rows > TABLE_ROWS else ""
    _out.print(f"{result.num_rows:,} rows{more}", markup=False)


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the main app."""
    app.add_typer(metrics_app, name="metrics")
    app.command("sql")(sql)
