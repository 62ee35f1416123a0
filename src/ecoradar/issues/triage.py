"""Taxonomy and triage: category, kind, exposure, severity, priority and a title a person understands.

Formulae (documented in docs/issues.md):
    exposure  = the slice's share of the platform's denominator that day (impressions, uploads, decisions)
    impact_d  = exposure_d x |relative deviation_d| x share of the change the issue's slice explains
    severity  = max_d impact_d x min(duration, DURATION_CAP)
    duration  = days the issue fired + days between the detector's change start and first_seen
    priority  = P0 if severity >= 0.10, P1 if >= 0.03, P2 if >= 0.005, else P3
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from math import prod

from ecoradar.data import schema
from ecoradar.detect.records import Anomaly
from ecoradar.metrics.model import Metric

#: Severity lower bounds of P0, P1, P2 (anything below is P3).
PRIORITY_THRESHOLDS: tuple[tuple[str, float], ...] = (("P0", 0.10), ("P1", 0.03), ("P2", 0.005))
#: Days of duration that count towards severity (a month-long small drift is not a P0 by age alone).
DURATION_CAP = 7
#: Values per dimension when an anomaly carries no exposure: 1/cardinality per fixed dimension, a rough guess.
_CARDINALITY = {
    "region": len(schema.REGIONS),
    "format": len(schema.FORMATS),
    "category": len(schema.CATEGORIES),
    "surface": len(schema.SURFACES),
    "os": len(schema.OSES),
    "tier": len(schema.TIERS),
    "creator_age": len(schema.CREATOR_AGES),
    "policy": len(schema.POLICIES),
    "source": len(schema.SOURCES),
}

#: How each dimension reads in a title ("in JP", "for photo", "on ios").
_SCOPE_PHRASES = {
    "region": "in {}",
    "format": "for {}",
    "category": "in {} content",
    "surface": "on {}",
    "os": "on {}",
    "app_version": "on app {}",
    "tier": "for {} creators",
    "creator_age": "for {} creators",
    "policy": "under the {} policy",
    "source": "in {} review",
    "model_version": "with model {}",
}
#: Dimension order in titles: what before where.
_SCOPE_ORDER = (
    "format",
    "category",
    "tier",
    "creator_age",
    "policy",
    "source",
    "model_version",
    "surface",
    "os",
    "app_version",
    "region",
)

#: Subjects for metrics whose description does not read well in a title (metric name -> phrase).
PHRASEBOOK: dict[str, str] = {}


def category_of(metric: Metric | None) -> str:
    """Issue category = the metric's catalog category."""
    return metric.category if metric is not None else "content_quality"


def exposure_of(anomaly: Anomaly, totals: Mapping[str, float] | None = None) -> float:
    """Share of the platform's denominator inside the anomaly's slice.

    Taken from `anomaly.extra['exposure']`, else 1 for the whole platform, else the slice's denominator (its
    expected value for counts) / totals[metric] (the platform's), else a guess from the dimensions' cardinalities.
    """
    if "exposure" in anomaly.extra:
        return float(anomaly.extra["exposure"])
    if not anomaly.scope:
        return 1.0
    total = (totals or {}).get(anomaly.metric) or anomaly.extra.get("platform_denominator")
    size = anomaly.denominator or abs(anomaly.expected)  # counts carry no denominator: the slice's own size
    if size and total:
        return min(1.0, float(size) / float(total))
    return 1.0 / prod(_CARDINALITY.get(d, 4) for d in anomaly.scope)


def severity(impact: float, days: int) -> float:
    """Peak daily impact x duration in days (capped at DURATION_CAP)."""
    return float(impact) * min(max(days, 1), DURATION_CAP)


def priority_of(severity_value: float) -> str:
    """P0-P3 from severity by PRIORITY_THRESHOLDS."""
    for name, bound in PRIORITY_THRESHOLDS:
        if severity_value >= bound:
            return name
    return "P3"


def _subject(metric_name: str, metric: Metric | None) -> str:
    if metric_name in PHRASEBOOK:
        return PHRASEBOOK[metric_name]
    if metric is not None and metric.description:
        text = metric.description.strip().split(". ")[0].rstrip(".")
        return text[0].upper() + text[1:]
    return metric_name.replace("_", " ").capitalize()


def scope_phrase(scope: Mapping[str, str]) -> str:
    """'for photo in JP'; 'platform-wide' for {}."""
    if not scope:
        return "platform-wide"
    dims = sorted(scope, key=lambda d: (_SCOPE_ORDER.index(d) if d in _SCOPE_ORDER else 99, d))
    return " ".join(_SCOPE_PHRASES.get(d, d + "={}").format(scope[d]) for d in dims)


def _value(value: float, metric: Metric | None) -> str:
    unit = metric.unit if metric is not None else ""
    if unit == "share":
        return f"{value * 100:.1f}%"
    if unit == "hours":
        return f"{value:.1f} h"
    return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def title_of(
    metric_name: str,
    metric: Metric | None,
    scope: Mapping[str, str],
    *,
    observed: float,
    expected: float,
    start: dt.date,
) -> str:
    """A title a person understands: 'Share of impressions to photos down 34% for photo in JP since 2026-02-10'.

    Share metrics also show the values as percentages ('(7.9% vs 12.0% expected)').
    """
    change = 0.0 if expected == 0 else (observed - expected) / abs(expected)
    word = "up" if observed >= expected else "down"
    pct = abs(change) * 100
    amount = f"{pct:.0f}%" if pct >= 1 else f"{pct:.1f}%"
    text = f"{_subject(metric_name, metric)} {word} {amount} {scope_phrase(scope)} since {start.isoformat()}"
    if metric is not None and metric.unit == "share":
        text += f" ({_value(observed, metric)} vs {_value(expected, metric)} expected)"
    return text
