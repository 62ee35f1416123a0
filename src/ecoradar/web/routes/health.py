"""Process health: how fast issues are found, triaged and resolved, and how precise each metric's alarms are."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter

from ecoradar.report.process import process_health
from ecoradar.web.deps import SessionDep, Viewer

router = APIRouter(prefix="/health", tags=["health"])


@router.get("", response_model=dict[str, Any])
def read_health(
    session: SessionDep, _user: Viewer, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> dict[str, Any]:
    """Time to detect / triage / resolve, share recurring and false-positive rate, overall and per group."""
    return process_health(session, date_from=date_from, date_to=date_to)
