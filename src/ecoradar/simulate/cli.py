"""CLI commands of the simulate stage."""

# Heavy imports live inside the commands, to keep `ecoradar --help` fast.
from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from ecoradar.errors import InputError, unknown
from ecoradar.progress import progress


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the main app."""

    @app.command()
    def simulate(
        out: Path = typer.Option(..., "--out", help="Data folder to write (replaced if it holds a previous world)."),
        days: int = typer.Option(60, help="Number of days to simulate."),
        start: str = typer.Option("2026-01-05", help="First day (YYYY-MM-DD)."),
        seed: int = typer.Option(0, help="Random seed: the same arguments give byte-identical files."),
        scale: str = typer.Option(
            "default", help="tiny (~8k impressions/day), small (~50k), default (~320k), large (~1.5M)."
        ),
        scenarios: Path | None = typer.Option(
            None, help="YAML file of scenarios to inject instead of the default library."
        ),
        no_issues: bool = typer.Option(
            False, "--no-issues", help="Inject no issue (the same world, for false alarms)."
        ),
    ) -> None:
        """Simulate a short-video ecosystem: impressions, uploads, moderation, creators, events and truth.json."""
        from ecoradar.simulate.simulator import simulate as run_simulation
        from ecoradar.simulate.world import SCALES

        try:
            first = date.fromisoformat(start)
        except ValueError:
            raise InputError(f"invalid --start {start!r}; expected a date YYYY-MM-DD") from None
        if days < 1:
            raise InputError(f"invalid --days {days}; expected a whole number >= 1")
        if scale not in SCALES:
            raise unknown("scale", scale, SCALES)
        with progress() as bar:
            task = bar.add_task("simulating days", total=days)
            result = run_simulation(
                out,
                days=days,
                start=first,
                seed=seed,
                scale=scale,
                scenarios=scenarios,
                issues=not no_issues,
                on_day=lambda _day: bar.advance(task),
            )
        console = Console()
        table = Table(title=f"Simulated {days} days from {first} ({scale}, seed {seed}) in {result.seconds:.1f} s")
        table.add_column("table")
        table.add_column("rows", justify="right")
        table.add_column("where", overflow="fold")
        for name, n in result.rows.items():
            table.add_row(name, f"{n:,}", str(result.paths[name]))
        table.add_row("truth", f"{len(result.truth)} issues", str(result.paths["truth"]))
        console.print(table)
        if result.truth:
            issues = Table(title="Injected issues (truth.json)")
            for col in ("id", "metric", "scope", "start", "end", "magnitude"):
                issues.add_column(col, overflow="fold")
            for t in result.truth:
                scope = ",".join(f"{k}={v}" for k, v in t["scope"].items()) or "(platform)"
                issues.add_row(t["id"], t["metric_hint"], scope, t["start"], t["end"] or "-", f"{t['magnitude']:+g}")
            console.print(issues)
