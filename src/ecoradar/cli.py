"""The `ecoradar` command line: one Typer app, each stage registering its own commands."""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from ecoradar import __version__
from ecoradar.errors import EcoradarError

app = typer.Typer(
    name="ecoradar",
    help="Find, explain and track issues in a short-video platform's content ecosystem.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Stages whose `cli.register(app)` adds commands, in pipeline order.
STAGES = ("simulate", "metrics", "detect", "explain", "issues", "impact", "web", "report", "pipeline")

for _stage in STAGES:
    importlib.import_module(f"ecoradar.{_stage}.cli").register(app)


@app.callback()
def _root() -> None:
    """Find, explain and track issues in a short-video platform's content ecosystem."""


@app.command()
def version() -> None:
    """Print the ecoradar version."""
    print(__version__)


_err = Console(stderr=True, highlight=False, soft_wrap=True)


def main() -> None:
    """Entry point: Typer reports usage errors (exit 2); ecoradar errors become one line on stderr."""
    try:
        app()
    except EcoradarError as exc:
        _err.print(f"error: {exc}", markup=False)
        sys.exit(exc.exit_code)
