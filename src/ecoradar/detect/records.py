"""The records detection hands to the next stages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["spike", "dip", "level_shift", "trend"]
Direction = Literal["up", "down"]


@dataclass(frozen=True)
class Anomaly:
    """One metric in one slice behaving unlike its expectation on one day."""

    metric: str
    scope: dict[str, str]
    """Dimension -> value of the slice; {} is the whole platform."""
    date: dt.date
    observed: float
    expected: float
    lower: float
    upper: float
    score: float
    """Strength in [0, 1]; higher is more anomalous."""
    p_value: float
    q_value: float
    """p-value after multiple-testing control across all slices tested that day."""
    direction: Direction
    kind: Kind
    detector: str
    start: dt.date | None = None
    """First day of the change when the detector can tell (level shifts and trends); else None."""
    denominator: float | None = None
    extra: dict = field(default_factory=dict)

    @property
    def relative_deviation(self) -> float:
        """(observed - expected) / |expected|, 0 when the expectation is 0."""
        return 0.0 if self.expected == 0 else (self.observed - self.expected) / abs(self.expected)
