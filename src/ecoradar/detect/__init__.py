"""ecoradar.detect stage: detectors over whole panels of series, and detection over the metric cube."""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ecoradar.detect.base import KINDS, Detector, Scores, detector_names, get_detector
    from ecoradar.detect.level_shift import LevelShift
    from ecoradar.detect.ratio import RatioBinomial
    from ecoradar.detect.records import Anomaly
    from ecoradar.detect.robust_z import RobustZ
    from ecoradar.detect.seasonal import SeasonalBaseline
    from ecoradar.detect.trend import Trend

#: Modules holding the public names, imported on first use (PEP 562) so `ecoradar --help` stays fast.
_MODULES = (
    "ecoradar.detect.base",
    "ecoradar.detect.level_shift",
    "ecoradar.detect.ratio",
    "ecoradar.detect.records",
    "ecoradar.detect.robust_z",
    "ecoradar.detect.seasonal",
    "ecoradar.detect.trend",
)

__all__ = [
    "KINDS",
    "Anomaly",
    "Detector",
    "LevelShift",
    "RatioBinomial",
    "RobustZ",
    "Scores",
    "SeasonalBaseline",
    "Trend",
    "detector_names",
    "get_detector",
]


def __getattr__(name: str):
    """Import the stage's modules on first use of a public name (PEP 562)."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    for module in map(importlib.import_module, _MODULES):
        globals().update({n: getattr(module, n) for n in __all__ if hasattr(module, n)})
    return globals()[name]
