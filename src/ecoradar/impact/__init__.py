"""ecoradar.impact stage: did a fix (or any launch) work? Counterfactual effect estimates with a verdict."""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ecoradar.impact.api import choose_controls, estimate_impact, placebo_check, verdict
    from ecoradar.impact.base import Counterfactual, ImpactEstimator, estimator_names, get_estimator
    from ecoradar.impact.records import DiDEstimate, ImpactPoint, ImpactResult, PlaceboRun, PlaceboSummary

#: Modules holding the public names, imported on first use (PEP 562) so `ecoradar --help` stays fast.
_MODULES = ("ecoradar.impact.api", "ecoradar.impact.base", "ecoradar.impact.records")

__all__ = [
    "Counterfactual",
    "DiDEstimate",
    "ImpactEstimator",
    "ImpactPoint",
    "ImpactResult",
    "PlaceboRun",
    "PlaceboSummary",
    "choose_controls",
    "estimate_impact",
    "estimator_names",
    "get_estimator",
    "placebo_check",
    "verdict",
]


def __getattr__(name: str):
    """Import the stage's modules on first use of a public name (PEP 562)."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    for module in map(importlib.import_module, _MODULES):
        globals().update({n: getattr(module, n) for n in __all__ if hasattr(module, n)})
    return globals()[name]
