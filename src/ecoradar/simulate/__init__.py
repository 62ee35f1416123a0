"""ecoradar.simulate: a seeded ecosystem simulator that writes the tables of SCHEMA.md and the truth of its issues."""

from typing import TYPE_CHECKING

from ecoradar.lazy import lazy_getattr

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


__getattr__ = lazy_getattr(globals(), _MODULES)
