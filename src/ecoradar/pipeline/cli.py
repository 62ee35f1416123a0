"""`ecoradar run` (the daily job) and `ecoradar demo` (the whole loop on a simulated world)."""

# Heavy imports live inside the commands, to keep `ecoradar --help` fast.
from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from ecoradar.errors import InputError

console = Console()


def _date(value: str | None, flag: str) -> dt.date | None:
    """Parse an ISO date option, naming the flag when it is not one."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{flag} {value!r} is not a date (expected YYYY-MM-DD)") from None


def _print_run(report) -> None:
    """The summary of a run: days, anomalies and what happened to issues."""
    totals = report.totals()
    span = f"{report.dates[0]}..{report.dates[-1]}" if report.dates else "no day"
    table = Table(title=f"ecoradar run {span}", show_header=True)
    counted = ("new", "ongoing", "regressed", "recovered", "suppressed", "creator_events")
    for col in ("days", "cube days computed", "anomalies", *counted):
        table.add_column(col.replace("_", " "), justify="right")
    table.add_row(
        str(len(report.dates)),
        str(report.cube_days_computed),
        str(report.anomalies),
        *(str(totals.get(k, 0)) for k in counted),
    )
    console.print(table)


def _print_top_issues(db: str | None, limit: int = 10) -> None:
    """The most urgent open issues, as the inbox would show them."""
    from ecoradar.issues.service import list_issues
    from ecoradar.store import open_store

    store = open_store(db)
    try:
        with store.session() as session:
            issues, count = list_issues(session, limit=limit)
            table = Table(title=f"top {min(limit, count)} of {count} issues", show_header=True)
            for col in ("id", "priority", "status", "owner", "title"):
                table.add_column(col)
            for issue in issues:
                table.add_row(issue.short_id, issue.priority, issue.status, issue.owner or "", issue.title)
            console.print(table)
    finally:
        store.close()


def register(app: typer.Typer) -> None:
    """Add `run` and `demo` to the main app."""

    @app.command()
    def run(
        data: Path = typer.Option(..., "--data", help="Data folder (one sub-folder per table)."),
        date: str | None = typer.Option(None, "--date", help="Run one day (YYYY-MM-DD); default: the last day."),
        date_from: str | None = typer.Option(None, "--from", help="First day of a range."),
        date_to: str | None = typer.Option(None, "--to", help="Last day of a range."),
        db: str | None = typer.Option(None, "--db", help="Store URL (default $ECORADAR_DB or sqlite:///ecoradar.db)."),
        catalog: list[Path] | None = typer.Option(None, "--catalog", help="Extra folder of metric YAML files."),
        routing: Path | None = typer.Option(None, "--routing", help="Routing rules YAML."),
        notify: Path | None = typer.Option(None, "--notify", help="Webhook config YAML."),
    ) -> None:
        """The daily job: update the cube, detect, explain, and open or update issues (idempotent per day)."""
        from ecoradar.pipeline.daily import run_pipeline

        if date and (date_from or date_to):
            raise InputError("give either --date or --from/--to, not both")
        first = _date(date or date_from, "--date" if date else "--from")
        last = _date(date or date_to, "--date" if date else "--to")
        report = run_pipeline(
            data, date_from=first, date_to=last, db=db, catalog_dirs=catalog, routing=routing, notify=notify
        )
        _print_run(report)

    @app.command()
    def demo(
        out: Path = typer.Option(Path("demo-data"), "--out", help="Where the simulated world and its store go."),
        scale: str = typer.Option("default", "--scale", help="tiny | small | default | large."),
        days: int = typer.Option(60, "--days", help="Days to simulate."),
        seed: int = typer.Option(0, "--seed", help="Random seed of the world."),
        warmup: int = typer.Option(28, "--warmup", help="Days of history before the first judged day."),
    ) -> None:
        """Simulate the default world (once), run the whole pipeline over it, and print where to look."""
        from ecoradar.pipeline.daily import run_pipeline
        from ecoradar.simulate import simulate

        if days <= warmup:
            raise InputError(f"--days {days} must exceed --warmup {warmup} so that some days are judged")
        if not (out / "truth.json").exists():
            console.print(f"simulating {days} days at scale {scale!r} into {out} ...")
            simulate(out, days=days, seed=seed, scale=scale)
        db = f"sqlite:///{(out / 'ecoradar.db').resolve()}"
        from ecoradar.pipeline.daily import data_days

        available = data_days(out)
        first, last = available[0], available[-1]
        report = run_pipeline(out, date_from=first + dt.timedelta(days=warmup), date_to=last, db=db)
        _print_run(report)
        _print_top_issues(db)
        console.print(
            "\n[bold]Where to look[/bold]\n"
            f"  issues:     .venv/bin/ecoradar issues list --db {db}\n"
            f"  one issue:  .venv/bin/ecoradar issues show ECO-1 --db {db}\n"
            f"  web app:    .venv/bin/ecoradar serve --data {out} --db {db} --no-auth   (http://127.0.0.1:8000)\n"
            f'  SQL:        .venv/bin/ecoradar sql "SELECT * FROM cube LIMIT 10" --data {out}\n'
            f"  truth:      {out / 'truth.json'} (what was injected, to compare with the issues)"
        )
