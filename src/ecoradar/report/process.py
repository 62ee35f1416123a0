"""Process health for people: ecoradar.issues.health's tables (per category, owner and metric, plus the total)
as one JSON-ready dict for the API, the pages and the weekly report."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from sqlalchemy.orm import Session

from ecoradar.issues.health import COLUMNS, health


def _clean(value) -> Any:
    """Plain Python for JSON: NaN becomes None, numpy numbers become int/float."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    return None if isinstance(value, float) and math.isnan(value) else value


def process_health(
    session: Session, *, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> dict[str, Any]:
    """Health of the discovery process for issues first seen in [date_from, date_to].

    Returns:
        dict: {date_from, date_to, overall, by_category, by_owner, by_metric}; `overall` and each group hold
        issues, time_to_detect_days, time_to_triage_hours, time_to_resolve_days (medians), recurring_share and
        false_positive_rate (None where nothing was measured).
    """
    out: dict[str, Any] = {
        "date_from": date_from.isoformat() if date_from else None,
        "date_to": date_to.isoformat() if date_to else None,
        "overall": {"issues": 0},
    }
    for by in ("category", "owner", "metric"):
        table = health(session, start=date_from, end=date_to, by=by)
        rows = {str(r[by]): {c: _clean(r[c]) for c in COLUMNS} for r in table.to_dict("records")}
        if "all" in rows:
            out["overall"] = rows.pop("all")
        out[f"by_{by}"] = rows
    return out
