"""The metric definition: what analysts write in YAML, validated before anything is computed."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ecoradar.data.schema import ISSUE_CATEGORIES

MetricKind = Literal["count", "sum", "ratio", "distinct_count", "quantile", "share", "gini", "entropy", "top_share"]
Direction = Literal["up_is_good", "down_is_good", "neutral"]
Category = Literal[ISSUE_CATEGORIES]  # type: ignore[valid-type]


class Metric(BaseModel):
    """One ecosystem metric: a value per day for every slice of its allowed dimensions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str
    table: str
    """Source table of SCHEMA.md (impressions, uploads, moderation) or any table in the data folder."""
    kind: MetricKind
    numerator: str | None = None
    """SQL expression aggregated per slice (for count: optional, counts rows)."""
    denominator: str | None = None
    """SQL expression for the denominator of ratio metrics (None: the metric is not a ratio)."""
    filter: str | None = None
    """SQL predicate applied to the source rows."""
    date_column: str = "ts"
    """Timestamp column whose day gives the metric's date."""
    quantile: float | None = Field(default=None, gt=0, lt=1)
    """For kind=quantile: which quantile of `numerator`."""
    entity: str | None = None
    """For gini/entropy/top_share/share: the column whose distribution is measured (creator_id, format...)."""
    dimensions: list[str]
    """Dimensions the metric may be sliced by (columns of the source, or tier / creator_age via creators)."""
    grain: Literal["day", "hour"] = "day"
    direction: Direction = "neutral"
    category: Category
    owner: str = "ecosystem-analytics"
    min_denominator: float = 0
    """A slice whose denominator (or count) is below this on a day does not count for detection."""
    sensitivity: float = Field(default=1.0, gt=0)
    """Multiplier on detection thresholds: above 1 fires less, below 1 fires more."""
    unit: str = ""
    """How values read in titles and charts: '' (plain), 'share' (a fraction shown as %), 'hours'."""

    @property
    def is_ratio(self) -> bool:
        """Whether the value is numerator / denominator of counts (judged with its denominator)."""
        return self.kind in ("ratio", "share", "top_share")

    @property
    def is_additive(self) -> bool:
        """Whether slice values add up to their parent's (counts and sums)."""
        return self.kind in ("count", "sum")
