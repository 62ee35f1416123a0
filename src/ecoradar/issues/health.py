"""Process health: how fast issues are detected, triaged and resolved, how often they recur, how many were wrong."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from ecoradar.errors import InputError
from ecoradar.issues.lifecycle import UNTRIAGED, IssueStatus
from ecoradar.store.models import Issue, IssueActivity

BY = {"metric": "metric", "category": "category", "owner": "owner"}
COLUMNS = [
    "issues",
    "time_to_detect_days",
    "time_to_triage_hours",
    "time_to_resolve_days",
    "recurring_share",
    "false_positive_rate",
]


def _at(times: pd.Series, ids: pd.Series) -> pd.Series:
    """Timestamps per issue id aligned to `ids` (NaT where an issue has none)."""
    return pd.Series(pd.to_datetime(times.reindex(ids.to_numpy())).to_numpy(), index=ids.index)


def issue_timings(session: Session, *, start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame:
    """One row per issue first seen in [start, end] with its timings.

    Columns: id, metric, category, owner, status, time_to_detect_days (first_seen - start_date),
    time_to_triage_hours (created -> first human status change out of new/regressed),
    time_to_resolve_days (created -> first resolution), recurring (ever regressed), false_positive.
    """
    query = select(
        Issue.id,
        Issue.metric,
        Issue.category,
        Issue.owner,
        Issue.status,
        Issue.start_date,
        Issue.first_seen,
        Issue.created_at,
    )
    if start is not None:
        query = query.where(Issue.first_seen >= start)
    if end is not None:
        query = query.where(Issue.first_seen <= end)
    issues = pd.DataFrame(
        session.execute(query).all(),
        columns=["id", "metric", "category", "owner", "status", "start_date", "first_seen", "created_at"],
    )
    acts = pd.DataFrame(
        session.execute(
            select(
                IssueActivity.issue_id,
                IssueActivity.ts,
                IssueActivity.kind,
                IssueActivity.from_value,
                IssueActivity.to_value,
            ).where(IssueActivity.kind.in_(["status_change", "regression"]))
        ).all(),
        columns=["id", "ts", "kind", "from_value", "to_value"],
    )
    if issues.empty:
        return issues.assign(
            time_to_detect_days=[], time_to_triage_hours=[], time_to_resolve_days=[], recurring=[], false_positive=[]
        )
    changes = acts[acts["kind"] == "status_change"]
    triaged = changes[changes["from_value"].isin([s.value for s in UNTRIAGED])].groupby("id")["ts"].min()
    resolved = changes[changes["to_value"] == IssueStatus.RESOLVED.value].groupby("id")["ts"].min()
    regressed = set(acts.loc[acts["kind"] == "regression", "id"])
    created = pd.to_datetime(issues["created_at"])
    out = issues.copy()
    out["owner"] = out["owner"].fillna("(unassigned)")
    out["time_to_detect_days"] = (pd.to_datetime(out["first_seen"]) - pd.to_datetime(out["start_date"])).dt.days
    out["time_to_triage_hours"] = (_at(triaged, out["id"]) - created).dt.total_seconds() / 3600
    out["time_to_resolve_days"] = (_at(resolved, out["id"]) - created).dt.total_seconds() / 86400
    out["recurring"] = out["id"].isin(regressed)
    out["false_positive"] = out["status"] == IssueStatus.FALSE_POSITIVE.value
    return out


def health(
    session: Session, *, start: dt.date | None = None, end: dt.date | None = None, by: str = "metric"
) -> pd.DataFrame:
    """Process health per metric, category or owner team over issues first seen in [start, end].

    Medians of the timings (over the issues that have them), the share of issues that regressed at least
    once, and the share marked false positive; a final 'all' row covers every issue.

    Raises:
        InputError: `by` is not metric, category or owner.
    """
    if by not in BY:
        raise InputError(f"unknown grouping {by!r}; allowed: {', '.join(BY)}")
    rows = issue_timings(session, start=start, end=end)
    if rows.empty:
        return pd.DataFrame(columns=[by, *COLUMNS])

    def summarize(frame: pd.DataFrame) -> pd.DataFrame:
        grouped = frame.groupby(BY[by] if by in frame else "all", dropna=False)
        return pd.DataFrame(
            {
                "issues": grouped["id"].count(),
                "time_to_detect_days": grouped["time_to_detect_days"].median(),
                "time_to_triage_hours": grouped["time_to_triage_hours"].median(),
                "time_to_resolve_days": grouped["time_to_resolve_days"].median(),
                "recurring_share": grouped["recurring"].mean(),
                "false_positive_rate": grouped["false_positive"].mean(),
            }
        )

    per = summarize(rows)
    total = summarize(rows.drop(columns=[BY[by]]).assign(all="all"))
    table = pd.concat([per, total])
    table.index.name = by
    return table.reset_index()
