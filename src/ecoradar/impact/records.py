"""The records the impact stage hands to issues/, web/ and report/."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

import pandas as pd

Verdict = Literal["recovered", "partially_recovered", "no_effect", "worse"]
GoodDirection = Literal["up", "down"]

#: Keys of the stable `--json` output, in order.
SUMMARY_KEYS = ("average_effect", "lower", "upper", "cumulative_effect", "relative_effect", "p_value", "verdict")


@dataclass(frozen=True)
class ImpactPoint:
    """One time step of the chart: observed vs counterfactual, and the effects so far."""

    time: str
    """ISO date or row number."""
    period: Literal["pre", "post"]
    observed: float | None
    predicted: float
    predicted_lower: float
    predicted_upper: float
    point_effect: float | None
    point_lower: float | None
    point_upper: float | None
    cumulative_effect: float
    """0 in the pre-period, as CausalImpact plots it."""
    cumulative_lower: float
    cumulative_upper: float


@dataclass(frozen=True)
class DiDEstimate:
    """Difference-in-differences cross-check of the average effect."""

    average_effect: float
    lower: float
    upper: float
    p_value: float


@dataclass(frozen=True)
class PlaceboRun:
    """The estimate at one fake fix date inside the pre-period (true effect 0)."""

    fake_start: str
    average_effect: float
    lower: float
    upper: float
    p_value: float

    @property
    def covers_zero(self) -> bool:
        """Whether the interval contains 0, as it should for a placebo."""
        return self.lower <= 0.0 <= self.upper


@dataclass(frozen=True)
class PlaceboSummary:
    """Placebo fix dates in the pre-period: how often the interval covers 0 and where the real effect ranks."""

    runs: list[PlaceboRun]
    coverage: float
    """Share of placebo intervals that contain 0 (about 1 - alpha when the intervals are calibrated)."""
    p_value: float | None = None
    """(1 + #placebos with |effect| >= |real effect|) / (1 + #placebos); None without a real effect to rank."""


@dataclass(frozen=True)
class ImpactResult:
    """Effect of an intervention on a series against its counterfactual, with a verdict."""

    estimator: str
    pre_period: tuple[str, str]
    post_period: tuple[str, str]
    n_pre: int
    n_post: int
    alpha: float
    actual_average: float
    predicted_average: float
    predicted_lower: float
    predicted_upper: float
    average_effect: float
    lower: float
    upper: float
    average_effect_sd: float
    cumulative_effect: float
    cumulative_lower: float
    cumulative_upper: float
    relative_effect: float | None
    """average_effect / predicted_average; None when the prediction is 0."""
    relative_lower: float | None
    relative_upper: float | None
    p_value: float
    """Posterior tail-area probability of the post-period sum (CausalImpact's p)."""
    verdict: Verdict
    verdict_reason: str
    good_direction: GoodDirection
    baseline: tuple[float, float] | float | None
    recovered_share: float | None
    """Share of the gap between counterfactual and baseline closed by the effect; None without a baseline."""
    noise_sd: float
    controls: list[str]
    series: list[ImpactPoint]
    did: DiDEstimate | None = None
    placebo: PlaceboSummary | None = None
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        """The stable JSON contract of `ecoradar impact --json`."""
        return {key: getattr(self, key) for key in SUMMARY_KEYS}

    def to_dict(self) -> dict:
        """Everything, JSON-ready (for storing on an issue)."""
        return asdict(self)

    def series_frame(self) -> pd.DataFrame:
        """The per-time series as a DataFrame indexed by time."""
        return pd.DataFrame([asdict(p) for p in self.series]).set_index("time")
