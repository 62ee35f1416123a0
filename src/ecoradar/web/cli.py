"""CLI commands of the web stage."""

import typer


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the main app."""
