"""CLI commands of the explain stage: `explain` a day of a metric in a data folder, `localize` one leaf table."""

# Heavy imports live inside the commands, to keep `ecoradar --help` fast.
from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from ecoradar.errors import DataError, InputError

if TYPE_CHECKING:
    import pandas as pd

_out = Console(highlight=False, soft_wrap=True)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"date {text!r} is not a date; use YYYY-MM-DD") from None


def _jsonable(obj):
    if isinstance(obj, (dt.date, dt.datetime)):
        return obj.isoformat()
    raise TypeError(type(obj))


def _events(data: Path) -> pd.DataFrame | None:
    import duckdb

    from ecoradar.data.io import register_tables

    con = duckdb.connect()
    if "events" not in register_tables(con, data, tables=("events",)):
        return None
    return con.execute('SELECT * FROM "events"').df()


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the main app."""

    @app.command()
    def explain(
        data: Annotated[Path, typer.Option(help="Data folder (with cube/ and events/).")],
        metric: Annotated[str, typer.Option(help="Metric name from the catalog.")],
        date: Annotated[str, typer.Option(help="Day to explain, YYYY-MM-DD.")],
        slice_: Annotated[str, typer.Option("--slice", help="Slice to explain, dim=value[,dim=value].")] = "",
        change_start: Annotated[
            str | None, typer.Option(help="First day of the change (baseline ends before).")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the explanation as JSON.")] = False,
    ) -> None:
        """Rank the root causes of a metric's change on a day, with its mix/rate split and related events."""
        from ecoradar.explain.cube import explain as run_explain
        from ecoradar.explain.events import parse_scope
        from ecoradar.metrics.cube import read_cube
        from ecoradar.metrics.loader import load_catalog

        day = _date(date)
        m = load_catalog().get(metric)
        cube = read_cube(data, metrics=[m.name])
        ex = run_explain(
            cube,
            m,
            date=day,
            scope=parse_scope(slice_),
            events=_events(data),
            change_start=_date(change_start) if change_start else None,
        )
        if as_json:
            print(json.dumps({**dataclasses.asdict(ex), "label": ex.label}, default=_jsonable, indent=2))
            return
        where = ",".join(f"{k}={v}" for k, v in ex.scope.items()) or "all"
        _out.print(f"{ex.metric} on {ex.date} in {where}: {ex.label}")
        t = Table("root cause", "contribution", "observed", "expected", title="Root causes")
        for rc in ex.root_causes:
            name = ",".join(f"{k}={v}" for k, v in rc.scope.items()) or "all"
            t.add_row(name, f"{rc.contribution:.1%}", _num(rc.observed, 4), _num(rc.expected, 4))
        _out.print(t)
        if ex.mix_rate:
            t = Table("dimension", "total change", "mix effect", "rate effect", "label", title="Mix vs rate")
            for s in ex.mix_rate:
                t.add_row(
                    s.dimension, f"{s.total_change:+.4g}", f"{s.mix_effect:+.4g}", f"{s.rate_effect:+.4g}", s.label
                )
            _out.print(t)
        if ex.events:
            t = Table("day", "kind", "name", "scope", "score", title="Related events")
            for e in ex.events:
                name = ",".join(f"{k}={v}" for k, v in e.scope.items()) or "global"
                t.add_row(str(e.ts.date()), e.kind, e.name, name, f"{e.score:.2f}")
            _out.print(t)

    @app.command()
    def localize(
        leaves: Annotated[Path, typer.Option(help="CSV leaf table: a row per combination of dimension values.")],
        dims: Annotated[str, typer.Option(help="Dimension columns, comma-separated.")],
        real_col: Annotated[str, typer.Option(help="Observed value column.")] = "real",
        predict_col: Annotated[str, typer.Option(help="Expected value column.")] = "predict",
        method: Annotated[str, typer.Option(help="Localizer: ripple (ours), riskloc, adtributor.")] = "ripple",
        as_json: Annotated[bool, typer.Option("--json", help="Print [{scope, contribution}] as JSON.")] = False,
    ) -> None:
        """Find the root-cause set of one leaf table (observed vs expected per combination of dimension values)."""
        import pandas as pd

        from ecoradar.explain.localize import get_localizer

        if not leaves.is_file():
            raise DataError(f"leaf table {str(leaves)!r} does not exist")
        loc = get_localizer(method)
        try:
            frame = pd.read_csv(leaves, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot read leaf table {str(leaves)!r}: {str(exc).splitlines()[0]}") from None
        found = loc.localize(frame, [d.strip() for d in dims.split(",") if d.strip()], real_col, predict_col)
        if as_json:
            print(json.dumps([{"scope": rc.scope, "contribution": rc.contribution} for rc in found], indent=2))
            return
        t = Table("root cause", "contribution", "observed", "expected", title=f"Root causes ({loc.name})")
        for rc in found:
            name = "&".join(f"{k}={v}" for k, v in rc.scope.items())
            t.add_row(name, f"{rc.contribution:.1%}", _num(rc.observed, 6), _num(rc.expected, 6))
        _out.print(t)


def _num(value: float | None, digits: int) -> str:
    """A value for the table; '-' where a cause has none (a mix-shift segment moves traffic, not a value)."""
    return "-" if value is None else f"{value:,.{digits}g}"
