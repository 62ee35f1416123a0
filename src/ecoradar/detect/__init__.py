"""ecoradar.detect stage: detectors over whole panels of series, and detection over the metric cube."""

from typing import TYPE_CHECKING

from ecoradar.lazy import lazy_getattr

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


__getattr__ = lazy_getattr(globals(), _MODULES)
