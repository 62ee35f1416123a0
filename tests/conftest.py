"""Fixtures shared by every test module."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_runner import run_cli


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
