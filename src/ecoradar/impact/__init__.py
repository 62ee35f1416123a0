"""ecoradar.impact stage: did a fix (or any launch) work? Counterfactual effect estimates with a verdict."""

from ecoradar.impact.api import choose_controls, estimate_impact, placebo_check, verdict
from ecoradar.impact.base import Counterfactual, ImpactEstimator, estimator_names, get_estimator
from ecoradar.impact.records import DiDEstimate, ImpactPoint, ImpactResult, PlaceboRun, PlaceboSummary

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
