"""ecoradar.detect stage: detectors over whole panels of series, and detection over the metric cube."""

from ecoradar.detect.base import KINDS, Detector, Scores, detector_names, get_detector
from ecoradar.detect.level_shift import LevelShift
from ecoradar.detect.ratio import RatioBinomial
from ecoradar.detect.records import Anomaly
from ecoradar.detect.robust_z import RobustZ
from ecoradar.detect.seasonal import SeasonalBaseline
from ecoradar.detect.trend import Trend

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
