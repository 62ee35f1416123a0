"""ecoradar.impact stage: did a fix (or any launch) work? Counterfactual effect estimates with a verdict."""

from typing import TYPE_CHECKING

from ecoradar.lazy import lazy_getattr

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


__getattr__ = lazy_getattr(globals(), _MODULES)
