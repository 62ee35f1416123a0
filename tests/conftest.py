"""Fixtures shared by every test module."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

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


@pytest.fixture
def cli():
    """The `run_cli` helper as a fixture."""
    return run_cli


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory) -> Path:
    """A simulated tiny world (60 days from 2026-01-05, default scenarios, seed 7), built once per session."""
    from ecoradar.simulate import simulate

    out = tmp_path_factory.mktemp("worlds") / "tiny"
    simulate(out, scale="tiny", seed=7)
    return out


@pytest.fixture(scope="session")
def tiny_world_clean(tmp_path_factory) -> Path:
    """The same tiny world as `tiny_world` with no injected issue (--no-issues), built once per session."""
    from ecoradar.simulate import simulate

    out = tmp_path_factory.mktemp("worlds") / "tiny_clean"
    simulate(out, scale="tiny", seed=7, issues=False)
    return out
