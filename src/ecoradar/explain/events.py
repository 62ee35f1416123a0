"""Related events: calendar events near a change whose scope overlaps its root causes, ranked."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from ecoradar.errors import DataError, InputError
from ecoradar.explain.records import RelatedEvent

#: Overlap score of a global event (empty scope): it may touch every slice, but names none.
GLOBAL_OVERLAP = 0.25
#: Overlap score of an event on other dimensions only (e.g. format=photo for a root cause region=ID).
SIDEWAYS_OVERLAP = 0.1


def parse_scope(text: str | None) -> dict[str, str]:
    """Parse 'dim=value,dim=value' into a dict; empty or None is global ({}).

    Raises:
        InputError: a part is not dim=value.

    Example:
        >>> parse_scope("region=BR, format=photo")
        {'region': 'BR', 'format': 'photo'}
    """
    if text is None or (isinstance(text, float) and math.isnan(text)) or not str(text).strip():
        return {}
    out = {}
    for part in str(text).split(","):
        if "=" not in part or not part.split("=", 1)[0].strip() or not part.split("=", 1)[1].strip():
            raise InputError(f"scope part {part.strip()!r} is not dim=value (in {text!r})")
        k, v = part.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def overlap(event: dict[str, str], cause: dict[str, str]) -> float:
    """How much an event's scope covers a root cause: Jaccard of dim=value pairs; 0 when they contradict."""
    if any(k in cause and cause[k] != v for k, v in event.items()):
        return 0.0
    if not event:
        return GLOBAL_OVERLAP
    common = sum(1 for k, v in event.items() if cause.get(k) == v)
    if not common:
        return SIDEWAYS_OVERLAP
    return common / len(set(event.items()) | set(cause.items()))


def timing(event_day: dt.date, start: dt.date, half_life_days: float = 2.0) -> float:
    """Closeness in time, halving every `half_life_days`; an event after the start counts half (it came late)."""
    lag = (start - event_day).days
    weight = 0.5 ** (abs(lag) / half_life_days)
    return weight if lag >= 0 else weight * 0.5


def related_events(
    events: pd.DataFrame,
    *,
    start: dt.date,
    causes: list[dict[str, str]],
    window_days: int = 7,
    limit: int = 5,
) -> list[RelatedEvent]:
    """Rank events within `window_days` of `start` by overlap with the best-matching root cause times timing.

    Args:
        events (pandas.DataFrame): the events table (ts, kind, name, scope, description).
        start (datetime.date): first day of the change.
        causes (list[dict]): root-cause scopes (full slices); [] means the whole platform.
        window_days (int): how far before or after the start an event may be.
        limit (int): most events returned.

    Returns:
        list[RelatedEvent]: best first; events whose scope contradicts every root cause are left out.
    """
    for col in ("ts", "kind", "name", "scope"):
        if col not in events.columns:
            raise DataError(f"events table has no column {col!r}")
    causes = causes or [{}]
    found = []
    for row in events.itertuples(index=False):  # a calendar holds a handful of events, not a hot path
        ts = pd.Timestamp(row.ts)
        if abs((ts.date() - start).days) > window_days:
            continue
        scope = parse_scope(row.scope)
        best = max(overlap(scope, c) for c in causes)
        if best > 0:
            found.append(
                RelatedEvent(ts.to_pydatetime(), str(row.kind), str(row.name), scope, best * timing(ts.date(), start))
            )
    return sorted(found, key=lambda e: -e.score)[:limit]
