"""Worlds shared by the simulator tests: a small world with the default scenarios and the same world without."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecoradar.simulate import simulate

#: Seed of the small worlds the effect-size tests compare.
SMALL_SEED = 3


@pytest.fixture(scope="session")
def small_world(tmp_path_factory) -> Path:
    """60 days at scale small (~50k impressions a day) with the default scenarios."""
    out = tmp_path_factory.mktemp("sim") / "small"
    simulate(out, scale="small", seed=SMALL_SEED)
    return out


@pytest.fixture(scope="session")
def small_world_clean(tmp_path_factory) -> Path:
    """The same small world with no injected issue: the counterfactual of every scenario."""
    out = tmp_path_factory.mktemp("sim") / "small_clean"
    simulate(out, scale="small", seed=SMALL_SEED, issues=False)
    return out
