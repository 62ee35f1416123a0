"""Process health from the issue store: how fast the team detects, triages and resolves, and how often alarms
were false, overall and per category, owner and metric (one vectorized pass over two queries)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from ecoradar.issues.lifecycle import IssueStatus
from ecoradar.store import Issue, IssueActivity

_UNTRIAGED = (IssueStatus.NEW.value, IssueStatus.REGRESSED.value)


def _frame(session: Session, date_from: dt.date | None, date_to: dt.date | None) -> pd.DataFrame:
    query = select(
        Issue.id,
        Issue.category,
        Issue.owner,
        Issue.metric,
        Issue.status,
        Issue.start_date,
        Issue.first_seen,
        Issue.created_at,
        Issue.resolved_at,
    )
    if date_from:
        query = query.where(Issue.first_seen >= date_from)
    if date_to:
        query = query.where(Issue.first_seen <= date_to)
    issues = pd.DataFrame(
        session.execute(query).all(),
        columns=[
            "id",
            "category",
            "owner",
            "metric",
            "status",
            "start_date",
            "first_seen",
            "created_at",
            "resolved_at",
        ],
    )
    if issues.empty:
        return issues
    acts = pd.DataFrame(
        session.execute(
            select(IssueActivity.issue_id, IssueActivity.kind, IssueActivity.ts, IssueActivity.from_value).where(
                IssueActivity.issue_id.in_(select(query.subquery().c.id))
            )
        ).all(),
        columns=["issue_id", "kind", "ts", "from_value"],
    )
    triaged = acts[(acts["kind"] == "status_change") & acts["from_value"].isin(_UNTRIAGED)]
    first = triaged.groupby("issue_id", as_index=False)["ts"].min().rename(columns={"ts": "triaged_at"})
    issues = issues.merge(first, left_on="id", right_on="issue_id", how="left").drop(columns="issue_id")
    issues["recurring"] = issues["id"].isin(acts.loc[acts["kind"] == "regression", "issue_id"])
    for col in ("start_date", "first_seen", "created_at", "resolved_at", "triaged_at"):
        issues[col] = pd.to_datetime(issues[col])
    issues["owner"] = issues["owner"].fillna("(unassigned)")
    issues["detect_days"] = (issues["first_seen"] - issues["start_date"]).dt.days
    issues["triage_hours"] = (issues["triaged_at"] - issues["created_at"]).dt.total_seconds() / 3600
    issues["resolve_days"] = (issues["resolved_at"] - issues["created_at"]).dt.total_seconds() / 86400
    issues["judged"] = ~issues["status"].isin(_UNTRIAGED)
    issues["false_positive"] = issues["status"] == IssueStatus.FALSE_POSITIVE.value
    return issues


def _stats(frame: pd.DataFrame) -> dict[str, Any]:
    def med(col: str) -> float | None:
        value = frame[col].median()
        return None if pd.isna(value) else float(value)

    judged = int(frame["judged"].sum())
    return {
        "issues": len(frame),
        "median_days_to_detect": med("detect_days"),
        "median_hours_to_triage": med("triage_hours"),
        "median_days_to_resolve": med("resolve_days"),
        "resolved": int(frame["resolved_at"].notna().sum()),
        "share_recurring": float(frame["recurring"].mean()) if len(frame) else None,
        "false_positive_rate": float(frame["false_positive"].sum() / judged) if judged else None,
    }


def process_health(
    session: Session, *, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> dict[str, Any]:
    """Health of the discovery process for issues first seen in [date_from, date_to].

    Returns:
        dict: {date_from, date_to, overall: stats, by_category / by_owner / by_metric: {key: stats}} where stats
        holds issues, median_days_to_detect, median_hours_to_triage, median_days_to_resolve, resolved,
        share_recurring and false_positive_rate (None where nothing was measured).
    """
    frame = _frame(session, date_from, date_to)
    out: dict[str, Any] = {
        "date_from": date_from.isoformat() if date_from else None,
        "date_to": date_to.isoformat() if date_to else None,
    }
    if frame.empty:
        empty = {"issues": 0}
        return {**out, "overall": empty, "by_category": {}, "by_owner": {}, "by_metric": {}}
    out["overall"] = _stats(frame)
    for key in ("category", "owner", "metric"):
        out[f"by_{key}"] = {str(k): _stats(part) for k, part in frame.groupby(key, sort=True)}
    return _finite(out)


def _finite(value):
    """Replace NaN/inf (JSON cannot carry them) with None, recursively."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
