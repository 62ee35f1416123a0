"""The records root-cause analysis hands to the next stages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class RootCause:
    """A combination of dimension values and its share of the change being explained."""

    scope: dict[str, str]
    contribution: float
    """Share of the total change explained by this element (sums to about 1 over a complete set)."""
    observed: float | None = None
    expected: float | None = None


@dataclass(frozen=True)
class MixRateSplit:
    """The change of a rate metric along one dimension, split into traffic mix and within-segment rates."""

    dimension: str
    total_change: float
    mix_effect: float
    rate_effect: float
    label: Literal["mix_shift", "rate_change", "mixed"]


@dataclass(frozen=True)
class RelatedEvent:
    """A calendar event near the change whose scope overlaps the root cause."""

    ts: dt.datetime
    kind: str
    name: str
    scope: dict[str, str]
    score: float


@dataclass(frozen=True)
class CreatorDrivers:
    """How much of a slice's change its largest creators make (see `ecoradar.explain.creators`)."""

    share: float
    """Share of the slice's net change made by the few largest movers (0..1; 1 when the others moved against it)."""
    held: float
    """Share of the slice's baseline numerator those same creators held (0..1)."""
    rest: float
    """Relative change of the slice's other creators (0.1 = their numerator rose 10%)."""
    creators: list[tuple[int, float]]
    """(creator_id, share of that movement) of the top movers, largest first."""
    change: float
    """The numerator's change on the day against the baseline days' mean (for rates, scaled to the traffic)."""
    driven: bool
    """Whether the change is those creators' doing rather than the slice's."""


@dataclass(frozen=True)
class Explanation:
    """Why a metric moved in a slice on a day."""

    metric: str
    scope: dict[str, str]
    date: dt.date
    root_causes: list[RootCause] = field(default_factory=list)
    mix_rate: list[MixRateSplit] = field(default_factory=list)
    events: list[RelatedEvent] = field(default_factory=list)
    drivers: CreatorDrivers | None = None
    """The creators behind the change, when measured from the raw rows (the daily run does)."""

    @property
    def label(self) -> str:
        """The label of the split whose mix effect is largest ('rate_change' without splits).

        Every split decomposes the same total change, so the dimension along which traffic moved most decides:
        a pure mix shift along one dimension shows as a rate change along the others.
        """
        if not self.mix_rate:
            return "rate_change"
        top = max(self.mix_rate, key=lambda s: abs(s.mix_effect))
        return top.label
