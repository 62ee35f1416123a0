"""The metric definition: what analysts write in YAML, validated before anything is computed."""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ecoradar.data.schema import ISSUE_CATEGORIES

MetricKind = Literal[
    "count",
    "sum",
    "mean",
    "ratio",
    "distinct_count",
    "quantile",
    "share",
    "gini",
    "entropy",
    "top_share",
    "effective_count",
]
Direction = Literal["up_is_good", "down_is_good", "neutral"]


def health_of(move: str | None, direction: str) -> str | None:
    """'better' or 'worse' for a move ('up' / 'down') of a metric whose good `direction` is known; None if neutral."""
    if move not in ("up", "down") or direction not in ("up_is_good", "down_is_good"):
        return None
    return "better" if f"{move}_is_good" == direction else "worse"


Category = Literal[ISSUE_CATEGORIES]  # type: ignore[valid-type]

#: Kinds measured over the distribution of `entity` within each slice (per-entity totals, then a window).
CONCENTRATION_KINDS = ("gini", "entropy", "top_share", "effective_count")

#: Fields that change computed values: a cube partition is stale when one of them changes.
COMPUTED_FIELDS = (
    "table",
    "kind",
    "numerator",
    "denominator",
    "filter",
    "denominator_table",
    "denominator_filter",
    "date_column",
    "quantile",
    "entity",
    "top_fraction",
    "dimensions",
    "grain",
)


class Metric(BaseModel):
    """One ecosystem metric: a value per day for every slice of its allowed dimensions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str
    table: str
    """Source table of SCHEMA.md with a date column (impressions, uploads, moderation)."""
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
    family: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")
    """Metrics that measure one phenomenon share a family (supply: uploads, active creators, uploads per creator):
    their anomalies on overlapping slices that make things worse (or better) together are one issue."""
    min_denominator: float = 0
    """A slice whose denominator (or count) is below this on a day does not count for detection."""
    sensitivity: float = Field(default=1.0, gt=0)
    """Multiplier on detection thresholds: above 1 fires less, below 1 fires more."""
    unit: str = ""
    """How values read in titles and charts: '' (plain), 'share' (a fraction shown as %), 'hours'."""
    denominator_table: str | None = None
    """For ratio metrics whose denominator comes from another table (removal_rate: moderation / uploads)."""
    denominator_filter: str | None = None
    """SQL predicate on the rows of `denominator_table` (only with `denominator_table`)."""
    top_fraction: float = Field(default=0.01, gt=0, le=1)
    """For kind=top_share: the top floor(top_fraction * n) entities (at least one) of each slice."""
    effective_n: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")
    """For ratio metrics whose numerator comes in lumps, one per entity (a new creator's impressions): the name of an
    effective_count metric over the numerator's rows (same table, slices and selection). Detection counts the
    numerator as that many independent events, not thousands of impressions, so one creator arriving in or ageing
    out of a slice is not an alarm while many creators moving together are."""
    detect: bool = True
    """False: computed (for charts and other metrics' effective_n) but never judged by detection."""

    @model_validator(mode="after")
    def _kind_fields(self) -> Metric:
        """Each kind needs its own fields; say which one is missing."""
        need = {
            "sum": ("numerator",),
            "mean": ("numerator",),
            "ratio": ("numerator", "denominator"),
            "distinct_count": ("numerator",),
            "quantile": ("numerator", "quantile"),
            "share": ("entity",),
            "gini": ("entity",),
            "entropy": ("entity",),
            "top_share": ("entity",),
            "effective_count": ("entity",),
        }.get(self.kind, ())
        for field in need:
            if getattr(self, field) is None:
                raise ValueError(f"kind {self.kind!r} needs field {field!r}")
        if self.denominator is not None and self.kind != "ratio":
            raise ValueError(f"field 'denominator' is only for kind 'ratio', not {self.kind!r}")
        if self.denominator_table is not None and self.kind != "ratio":
            raise ValueError("field 'denominator_table' is only for kind 'ratio'")
        if self.effective_n is not None and self.kind not in ("ratio", "share", "count", "sum", "distinct_count"):
            raise ValueError("field 'effective_n' is only for kinds ratio, share, count, sum and distinct_count")
        if self.denominator_filter is not None and self.denominator_table is None:
            raise ValueError("field 'denominator_filter' needs 'denominator_table' (else put it in 'filter')")
        if self.kind == "share" and self.entity not in self.dimensions:
            raise ValueError(f"kind 'share' needs its entity {self.entity!r} among the dimensions")
        if self.kind in CONCENTRATION_KINDS and self.entity in self.dimensions:
            raise ValueError(f"entity {self.entity!r} of a {self.kind} metric cannot also be a dimension")
        if len(set(self.dimensions)) != len(self.dimensions):
            raise ValueError("dimensions repeat a name")
        if self.grain != "day":
            raise ValueError("grain 'hour' is not supported yet; use 'day'")
        return self

    @property
    def is_ratio(self) -> bool:
        """Whether the value is numerator / denominator of counts (judged with its denominator)."""
        return self.kind in ("ratio", "share", "top_share")

    @property
    def follows_adoption(self) -> bool:
        """Whether the value moves with a slice's size and make-up, so that in an app or model version's slices it
        follows the version's adoption curve rather than any issue: everything but rates (a new version's top 1%
        creator share rises as its audience grows; an old version's category mix is its last hundred holdouts'
        tastes; its like rate is still a like rate)."""
        return self.kind != "ratio"

    @property
    def is_additive(self) -> bool:
        """Whether slice values add up to their parent's (counts and sums)."""
        return self.kind in ("count", "sum")

    @property
    def tables(self) -> tuple[str, ...]:
        """Every source table the metric reads (the denominator's table last)."""
        return (self.table,) if self.denominator_table in (None, self.table) else (self.table, self.denominator_table)

    def fingerprint(self) -> str:
        """A short hash of the fields that change computed values (a cube partition records it per metric)."""
        blob = self.model_dump_json(include=set(COMPUTED_FIELDS))
        return hashlib.sha1(blob.encode()).hexdigest()[:12]
