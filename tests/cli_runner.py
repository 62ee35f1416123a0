"""Run the real `ecoradar` CLI as a process; imported by tests as `from cli_runner import run_cli`.

A module of its own (not conftest.py) because tests/spark has a conftest.py too, and `from conftest import`
would pick whichever one Python imported first.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@dataclass
class CliResult:
    """What a real `ecoradar` process printed and returned."""

    exit_code: int
    stdout: str
    stderr: str


def run_cli(*args: str, cwd: str | Path | None = None, env: dict | None = None, timeout: float = 600) -> CliResult:
    """Run `python -m ecoradar ARGS` as a real process."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "ecoradar", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)
