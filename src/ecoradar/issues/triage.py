"""Taxonomy and triage: category, kind, exposure, severity, priority and a title a person understands.

Formulae (documented in docs/issues.md):
    exposure  = the slice's share of the platform's denominator that day (impressions, uploads, decisions)
    impact_d  = exposure_d x min(|relative deviation_d|, 1) in the issue's slice
    severity  = max_d impact_d x min(days the issue fired, DURATION_CAP)
    priority  = P0 if severity >= 0.10, P1 if >= 0.03, P2 if >= 0.005, else P3;
                at most P2 when the metric moved in its good direction (an improvement is tracked, not paged)
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from math import prod

from ecoradar.data import schema
from ecoradar.detect.records import Anomaly
from ecoradar.metrics.model import Metric, health_of

#: Severity lower bounds of P0, P1, P2 (anything below is P3).
PRIORITY_THRESHOLDS: tuple[tuple[str, float], ...] = (("P0", 0.10), ("P1", 0.03), ("P2", 0.005))
#: Highest priority of a move in the metric's good direction (metric YAML `direction: up_is_good | down_is_good`).
GOOD_NEWS_PRIORITY = "P2"
#: Days of duration that count towards severity (a month-long small drift is not a P0 by age alone).
DURATION_CAP = 7
#: Metric kinds whose value is the slice's size (no denominator): exposure = expected value / platform value.
SIZED_BY_VALUE = ("count", "sum", "distinct_count")
#: Metric kinds whose denominator is not a size (an entropy's is the number of categories): exposure is guessed.
UNSIZED = ("entropy",)
#: Largest relative deviation that counts (a rate going from ~0 to anything is "fully affected", not x1000).
DEVIATION_CAP = 1.0
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

#: Title subjects per metric (the description is used otherwise); {dim} takes the slice's value of dim.
PHRASEBOOK: dict[str, str] = {
    "impressions": "impressions",
    "active_viewers": "active viewers",
    "watch_hours": "watch hours",
    "watch_ratio": "watch ratio",
    "completion_rate": "completion rate",
    "like_rate": "like rate",
    "share_rate": "share rate",
    "comment_rate": "comment rate",
    "follow_rate": "follow rate",
    "not_interested_rate": '"not interested" rate',
    "report_rate": "report rate",
    "format_share": "{format} share of impressions",
    "category_share": "{category} share of impressions",
    "format_mix_entropy": "format diversity (entropy)",
    "category_mix_entropy": "category diversity (entropy)",
    "creator_exposure_gini": "creator exposure concentration (Gini)",
    "top1pct_creator_share": "top 1% creators' share of impressions",
    "new_creator_share": "new creators' share of impressions",
    "exposed_creators": "creators shown",
    "moderation_decisions": "moderation decisions",
    "removals": "removals",
    "removal_rate": "removal rate",
    "restriction_rate": "restriction rate",
    "automated_removal_share": "automated share of removals",
    "appeal_rate": "appeal rate",
    "appeal_overturn_rate": "appeal overturn rate",
    "review_latency_p50_h": "median review time",
    "review_latency_p90_h": "p90 review time",
    "uploads": "uploads",
    "active_creators": "active creators",
    "uploads_per_active_creator": "uploads per active creator",
    "new_creator_upload_share": "new creators' share of uploads",
    "upload_format_share": "{format} share of uploads",
}


def category_of(metric: Metric | None) -> str:
    """Issue category = the metric's catalog category."""
    return metric.category if metric is not None else "content_quality"


def exposure_of(anomaly: Anomaly, totals: Mapping[str, float] | None = None, metric: Metric | None = None) -> float:
    """Share of the platform's denominator inside the anomaly's slice.

    Taken from `anomaly.extra['exposure']`, else 1 for the whole platform, else the slice's denominator over
    totals[metric] (the platform's; for counts, sums and distinct counts, which have no denominator, the slice's
    expected value over the platform's value), else (entropies, or nothing known) a guess from the dimensions'
    cardinalities.
    """
    if "exposure" in anomaly.extra:
        return float(anomaly.extra["exposure"])
    if not anomaly.scope:
        return 1.0
    total = (totals or {}).get(anomaly.metric) or anomaly.extra.get("platform_denominator")
    kind = metric.kind if metric is not None else None
    if kind in SIZED_BY_VALUE:
        size = abs(anomaly.expected)
    elif kind in UNSIZED:
        size = None
    else:
        size = anomaly.denominator
    if size and total:
        return min(1.0, float(size) / float(total))
    return 1.0 / prod(_CARDINALITY.get(d, 4) for d in anomaly.scope)


def impact_of(exposure: float, deviation: float) -> float:
    """A day's impact: exposure x |relative deviation|, the deviation capped at DEVIATION_CAP."""
    return float(exposure) * min(abs(float(deviation)), DEVIATION_CAP)


def severity(impact: float, days: int) -> float:
    """Peak daily impact x duration in days fired (capped at DURATION_CAP)."""
    return float(impact) * min(max(days, 1), DURATION_CAP)


def priority_of(severity_value: float, metric: Metric | None = None, direction: str | None = None) -> str:
    """P0-P3 from severity by PRIORITY_THRESHOLDS; at most GOOD_NEWS_PRIORITY when `metric` moved its good way.

    A rise in active viewers or in new creators' exposure is worth knowing (an organic surge, a launch that
    worked) but pages nobody; a neutral metric's moves are judged by size alone.
    """
    name = next((n for n, bound in PRIORITY_THRESHOLDS if severity_value >= bound), "P3")
    good = metric is not None and health_of(direction, metric.direction) == "better"
    return max(name, GOOD_NEWS_PRIORITY) if good else name


def _subject(metric_name: str, metric: Metric | None, scope: dict[str, str]) -> str:
    """The title's subject; phrasebook placeholders ({format}) consume their dimension from `scope`."""
    phrase = PHRASEBOOK.get(metric_name)
    if phrase is not None:
        needed = re.findall(r"{(\w+)}", phrase)
        if all(d in scope for d in needed):
            for d in needed:
                phrase = phrase.replace("{" + d + "}", scope.pop(d).replace("_", " "))
            return phrase[0].upper() + phrase[1:]
    if metric is not None and metric.description:
        text = re.split(r"\. |;|\s\(", metric.description.strip())[0].rstrip(".")
        return text[0].upper() + text[1:]
    return metric_name.replace("_", " ").capitalize()


def scope_phrase(scope: Mapping[str, str]) -> str:
    """'for new micro creators for photo in JP'; 'platform-wide' for {}."""
    if not scope:
        return "platform-wide"
    scope = dict(scope)
    creators = " ".join(scope.pop(d) for d in ("creator_age", "tier") if d in scope)
    dims = sorted(scope, key=lambda d: (_SCOPE_ORDER.index(d) if d in _SCOPE_ORDER else 99, d))
    parts = [f"for {creators} creators"] if creators else []
    return " ".join(parts + [_SCOPE_PHRASES.get(d, d + "={}").format(scope[d]) for d in dims])


def _value(value: float, metric: Metric | None) -> str:
    value += 0.0  # no "-0"
    unit = metric.unit if metric is not None else ""
    if unit == "share":
        return f"{round(value * 100, 1) + 0.0:.1f}%"
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
    """A title a person understands: 'Photo share of impressions down 34% in JP since 2026-02-10 (7.9% vs 12.0% ...'.

    Share metrics also show the values as percentages; a change from about zero reads 'up to X from Y'.
    """
    rest = dict(scope)
    subject = _subject(metric_name, metric, rest)
    where = scope_phrase(rest) if rest or not scope else ""
    word = "up" if observed >= expected else "down"
    change = None if expected == 0 else abs(observed - expected) / abs(expected)
    if change is None or change > 5:
        amount = f"to {_value(observed, metric)} from {_value(expected, metric)}"
        return " ".join(filter(None, [subject, word, amount, where, f"since {start.isoformat()}"]))
    amount = f"{change * 100:.0f}%" if change >= 0.01 else f"{change * 100:.1f}%"
    text = " ".join(filter(None, [subject, word, amount, where, f"since {start.isoformat()}"]))
    if metric is not None and metric.unit == "share":
        text += f" ({_value(observed, metric)} vs {_value(expected, metric)} expected)"
    return text
