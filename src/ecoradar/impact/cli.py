"""CLI commands of the impact stage."""

import typer


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the main app."""
