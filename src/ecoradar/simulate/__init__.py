"""ecoradar.simulate: a seeded ecosystem simulator that writes the tables of SCHEMA.md and the truth of its issues."""

from ecoradar.simulate.scenarios import KINDS, Scenario, ScenarioKind, default_scenarios, get_kind, load_scenarios
from ecoradar.simulate.simulator import SimulationResult, simulate

__all__ = [
    "KINDS",
    "Scenario",
    "ScenarioKind",
    "SimulationResult",
    "default_scenarios",
    "get_kind",
    "load_scenarios",
    "simulate",
]
