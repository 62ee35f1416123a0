"""CLI commands of the report stage: `ecoradar report --week 2026-W07`."""

# Heavy imports live inside the commands, to keep `ecoradar --help` fast.
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ecoradar.errors import InputError

_err = Console(stderr=True, highlight=False)


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the main app."""

    @app.command()
    def report(
        week: Annotated[
            str | None, typer.Option(help="ISO week, e.g. 2026-W07 (default: the cube's last full week).")
        ] = None,
        data: Annotated[Path | None, typer.Option("--data", help="Data folder with the cube.")] = None,
        db: Annotated[
            str | None, typer.Option("--db", help="Store URL (default $ECORADAR_DB, then ./ecoradar.db).")
        ] = None,
        out: Annotated[Path | None, typer.Option(help="Output file (default report-WEEK.html or .md).")] = None,
        fmt: Annotated[str | None, typer.Option("--format", help="html | md (default: from --out, else html).")] = None,
    ) -> None:
        """Write the weekly ecosystem report: self-contained HTML (opens offline) or Markdown."""
        from ecoradar.metrics.loader import load_catalog
        from ecoradar.report.ecosystem import Cube
        from ecoradar.report.weekly import build_weekly, write_report
        from ecoradar.store import open_store

        if data is not None and not data.is_dir():
            raise InputError(f"data folder {str(data)!r} does not exist")
        cube = Cube(data) if data is not None else None
        if week is None:
            span = cube.date_range() if cube is not None and cube.available else None
            if span is None:
                raise InputError("give --week YYYY-Www (no cube to pick the last full week from)")
            last_sunday = span[1] - dt.timedelta(days=(span[1].isoweekday() % 7))
            year, number, _ = last_sunday.isocalendar()
            week = f"{year}-W{number:02d}"
        fmt = fmt or (out.suffix.lstrip(".") if out is not None and out.suffix in (".html", ".md") else "html")
        out = out or Path(f"report-{week}.{fmt}")
        store = open_store(db)
        try:
            with store.session() as session:
                built = build_weekly(week, session=session, cube=cube, catalog=load_catalog())
                path = write_report(built, out, fmt)
        finally:
            store.close()
        _err.print(
            f"weekly report {week}: {len(built.new)} new, {len(built.ongoing)} ongoing, "
            f"{len(built.resolved)} resolved issues"
        )
        print(path)
