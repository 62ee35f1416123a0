"""CLI commands of the detect stage: `detect` over a data folder's cube, `detect-series` over one CSV column."""

# Heavy imports live inside the commands, to keep `ecoradar --help` fast.
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from ecoradar.errors import DataError, InputError, unknown

if TYPE_CHECKING:
    import pandas as pd

_out = Console(highlight=False, soft_wrap=True)

#: Days of history before each judged day.
HISTORY_DAYS = 56


def _parse_date(text: str | None, what: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{what} {text!r} is not a date; use YYYY-MM-DD") from None


def _read_events(data: Path) -> pd.DataFrame | None:
    import pyarrow.dataset as ds

    path = Path(data) / "events"
    return ds.dataset(path, format="parquet").to_table().to_pandas() if path.is_dir() else None


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the main app."""

    @app.command()
    def detect(
        data: Annotated[Path, typer.Option("--data", help="Data folder holding cube/ (and events/).")],
        date: Annotated[
            str | None, typer.Option("--date", help="Judge this day (default: last day of the cube).")
        ] = None,
        date_from: Annotated[str | None, typer.Option("--from", help="First day judged.")] = None,
        date_to: Annotated[str | None, typer.Option("--to", help="Last day judged.")] = None,
        metric: Annotated[list[str] | None, typer.Option("--metric", help="Only these metrics (repeatable).")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the anomalies as JSON.")] = False,
        limit: Annotated[int, typer.Option("--limit", help="Rows shown in the table.")] = 50,
    ) -> None:
        """Find anomalies in every slice of the metric cube and print them ranked."""
        from ecoradar.detect.cube import detect_cube
        from ecoradar.metrics.cube import read_cube
        from ecoradar.metrics.loader import load_catalog

        if date and (date_from or date_to):
            raise InputError("give either --date or --from/--to, not both")
        catalog = load_catalog()
        for name in metric or []:
            if name not in catalog:
                raise unknown("metric", name, catalog)
        d_from = _parse_date(date or date_from, "--date/--from")
        d_to = _parse_date(date or date_to, "--date/--to")
        if d_from is None or d_to is None:
            days = sorted(p.name.removeprefix("date=") for p in (Path(data) / "cube").glob("date=*"))
            if not days:
                raise DataError(f"no metric cube at {str(Path(data) / 'cube')!r}; run `ecoradar metrics compute` first")
            d_to = d_to or dt.date.fromisoformat(days[-1])
            d_from = d_from or d_to
        if d_to < d_from:
            raise InputError(f"--to {d_to} is before --from {d_from}")
        cube = read_cube(data, metrics=metric, date_from=d_from - dt.timedelta(days=HISTORY_DAYS), date_to=d_to)
        names = metric or sorted(set(cube.column("metric").to_pylist()) & set(catalog))
        result = detect_cube(
            cube,
            {n: catalog[n] for n in names},
            date_from=d_from,
            date_to=d_to,
            events=_read_events(data),
            history_days=HISTORY_DAYS,
        )
        if as_json:
            rows = result.table.to_pylist()  # dates stay dates (printed YYYY-MM-DD), NULL dims stay null
            print(
                json.dumps(
                    {
                        "anomalies": rows,
                        "skipped": result.skipped,
                        "tested": result.tested,
                    },
                    indent=1,
                    default=str,
                )
            )
            return
        table = Table(title=f"{len(result.anomalies)} anomalies, {d_from}..{d_to} ({result.tested} slice-days tested)")
        for col in ("#", "metric", "slice", "date", "kind", "observed", "expected", "q", "score"):
            table.add_column(col, justify="right" if col in ("#", "observed", "expected", "q", "score") else "left")
        for i, a in enumerate(result.anomalies[:limit], 1):
            scope = ", ".join(f"{k}={v}" for k, v in a.scope.items()) or "(all)"
            table.add_row(
                str(i),
                a.metric,
                scope,
                str(a.date),
                a.kind,
                f"{a.observed:.4g}",
                f"{a.expected:.4g}",
                f"{a.q_value:.2g}",
                f"{a.score:.2f}",
            )
        _out.print(table)
        if result.skipped:
            _out.print("skipped slice-days: " + ", ".join(f"{k}={v}" for k, v in sorted(result.skipped.items())))

    @app.command("detect-series")
    def detect_series_cmd(
        csv: Annotated[Path, typer.Option("--csv", help="CSV file holding the series.")],
        value_col: Annotated[str, typer.Option("--value-col", help="Numeric column to judge.")],
        time_col: Annotated[
            str | None, typer.Option("--time-col", help="Timestamp column (rows sorted by it).")
        ] = None,
        online: Annotated[bool, typer.Option("--online", help="Judge each row from the rows before it only.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help='Print [{"row","time","score","alarm"}].')] = False,
    ) -> None:
        """Score each row of one series with the default detector: anomaly score in [0, 1] and alarm flag."""
        from ecoradar.detect.series import detect_series, read_series_csv

        frame = read_series_csv(csv, value_col, time_col)
        out = detect_series(frame, value_col=value_col, time_col=time_col, online=online)
        if as_json:
            records = [
                {"row": int(r.row), "time": r.time, "score": round(float(r.score), 6), "alarm": bool(r.alarm)}
                for r in out.itertuples()
            ]
            print(json.dumps(records))
            return
        table = Table(title=f"{csv.name}: {int(out['alarm'].sum())} alarms in {len(out)} rows")
        for col in ("row", "time", "score", "alarm", "note"):
            table.add_column(col)
        for r in out.itertuples():
            table.add_row(str(r.row), r.time, f"{r.score:.3f}", "ALARM" if r.alarm else "", r.reason)
        _out.print(table)
        notes = out.loc[out["reason"] != "", "reason"].value_counts()
        if len(notes):
            _out.print("not scored: " + ", ".join(f"{k}={v}" for k, v in notes.items()))
