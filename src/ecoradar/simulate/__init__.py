"""ecoradar.simulate: a seeded ecosystem simulator that writes the tables of SCHEMA.md and the truth of its issues."""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ecoradar.simulate.scenarios import KINDS, Scenario, ScenarioKind, default_scenarios, get_kind, load_scenarios
    from ecoradar.simulate.simulator import SimulationResult, simulate

#: Modules holding the public names, imported on first use (PEP 562) so `ecoradar --help` stays fast.
_MODULES = ("ecoradar.simulate.scenarios", "ecoradar.simulate.simulator")

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


def __getattr__(name: str):
    """Import the stage's modules on first use of a public name (PEP 562)."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    for module in map(importlib.import_module, _MODULES):
        globals().update({n: getattr(module, n) for n in __all__ if hasattr(module, n)})
    return globals()[name]
