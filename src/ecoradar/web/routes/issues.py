"""Issues: list with filters, read with history, and the changes people make (status, owner, comments)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from ecoradar.errors import ConflictError, EcoradarError, InputError, NotFound
from ecoradar.issues import service
from ecoradar.issues.impact import issue_impact
from ecoradar.issues.lifecycle import IssueStatus, allowed_targets
from ecoradar.store import Issue, IssueDay
from ecoradar.web.deps import Analyst, SessionDep, SettingsDep, StoreDep, Viewer
from ecoradar.web.models import (
    AnomaliesPublic,
    AnomalyPublic,
    CommentCreate,
    CommentPublic,
    ImpactRequest,
    IssueAssign,
    IssuePublic,
    IssuesPublic,
    IssueTransition,
)

router = APIRouter(prefix="/issues", tags=["issues"])
anomalies_router = APIRouter(prefix="/anomalies", tags=["anomalies"])


def issue_public(issue: Issue, *, history: bool = True) -> IssuePublic:
    """The API model of an issue (call while its session is open)."""
    return IssuePublic(
        **service.issue_to_dict(issue, history=history), allowed_transitions=allowed_targets(IssueStatus(issue.status))
    )


#: What an issue reference may look like before it reaches the store (a number or a short id like ECO-1A3).
_ISSUE_REF = re.compile(r"^(?:[0-9]{1,15}|ECO-[0-9A-Za-z]{1,12})$", re.ASCII)


def load_issue(session: Session, issue_id: str) -> Issue:
    """The issue by number or short id, or 404 (also for references no issue can have, like '²' or 10**30)."""
    if not _ISSUE_REF.match(issue_id):
        raise HTTPException(404, detail="Issue not found")
    try:
        return service.get_issue(session, issue_id)
    except NotFound:
        raise HTTPException(404, detail="Issue not found") from None


def apply_change(session: Session, change) -> Any:
    """Run a service change, mapping its errors to 400 (bad input) and 409 (someone else changed it)."""
    try:
        return change()
    except ConflictError as exc:
        session.rollback()
        raise HTTPException(409, detail=str(exc)) from None
    except InputError as exc:
        session.rollback()
        raise HTTPException(400, detail=str(exc)) from None


@router.get("", response_model=IssuesPublic)
def list_issues(
    session: SessionDep,
    _user: Viewer,
    status: Annotated[str | None, Query(description="a status, several comma-separated, or open/closed/all")] = None,
    category: str | None = None,
    priority: Annotated[str | None, Query(description="P0..P3, comma-separated")] = None,
    owner: str | None = None,
    metric: str | None = None,
    sort: Annotated[str, Query(description=f"one of {', '.join(service.SORTS)}")] = "priority",
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> IssuesPublic:
    """Issues matching every filter, P0 first (then severity, then most recent)."""
    try:
        issues, total = service.list_issues(
            session,
            status=status,
            category=category,
            priority=priority,
            owner=owner,
            metric=metric,
            sort=sort,
            limit=limit,
            offset=offset,
        )
    except InputError as exc:
        raise HTTPException(400, detail=str(exc)) from None
    return IssuesPublic(data=[issue_public(i, history=False) for i in issues], count=total)


@router.get("/{issue_id}", response_model=IssuePublic)
def read_issue(issue_id: str, session: SessionDep, _user: Viewer) -> IssuePublic:
    """One issue with its history, comments and anomalous days."""
    return issue_public(load_issue(session, issue_id))


@router.post("/{issue_id}/transition", response_model=IssuePublic)
def transition_issue(issue_id: str, body: IssueTransition, session: SessionDep, user: Analyst) -> IssuePublic:
    """Move an issue to another status (the allowed targets are in `allowed_transitions`)."""
    issue = load_issue(session, issue_id)
    apply_change(
        session,
        lambda: service.transition(
            session,
            issue,
            body.status,
            actor=f"web:{user.name}",
            note=body.note,
            fix_date=body.fix_date,
            expected_version=body.version,
        ),
    )
    return issue_public(issue)


@router.post("/{issue_id}/assign", response_model=IssuePublic)
def assign_issue(issue_id: str, body: IssueAssign, session: SessionDep, user: Analyst) -> IssuePublic:
    """Give the issue to an owner team (null unassigns)."""
    issue = load_issue(session, issue_id)
    apply_change(
        session,
        lambda: service.assign(
            session, issue, body.owner, actor=f"web:{user.name}", note=body.note, expected_version=body.version
        ),
    )
    return issue_public(issue)


@router.post("/{issue_id}/comments", response_model=CommentPublic, status_code=201)
def comment_issue(issue_id: str, body: CommentCreate, session: SessionDep, user: Analyst) -> CommentPublic:
    """Add a comment to the issue's timeline."""
    issue = load_issue(session, issue_id)
    row = apply_change(session, lambda: service.comment(session, issue, body.text, actor=f"web:{user.name}"))
    return CommentPublic(ts=row.ts, actor=row.actor, text=row.text)


def estimate(issue: Issue, body: ImpactRequest, *, store_url: str, data_dir) -> None:
    """Run the impact stage on the issue's fix and store the estimate on it (the service opens its own session).

    Raises:
        InputError: no data folder, no fix date, too short a pre-period, no usable controls.
    """
    if data_dir is None:
        raise InputError("no data folder: start the server with --data DIR to estimate impact")
    issue_impact(
        issue.id, fix_date=body.fix_date, controls=body.controls, estimator=body.estimator, db=store_url, data=data_dir
    )


@router.post("/{issue_id}/impact", response_model=IssuePublic)
def estimate_issue_impact(
    issue_id: str, body: ImpactRequest, session: SessionDep, store: StoreDep, settings: SettingsDep, _user: Analyst
) -> IssuePublic:
    """Estimate the causal effect of the issue's fix (against control slices) and store it on the issue."""
    issue = load_issue(session, issue_id)
    try:
        estimate(issue, body, store_url=store.url, data_dir=settings.data_dir)
    except NotFound as exc:
        raise HTTPException(404, detail=str(exc)) from None
    except EcoradarError as exc:
        raise HTTPException(400, detail=str(exc)) from None
    session.expire_all()
    return issue_public(load_issue(session, issue_id))


@router.get("/{issue_id}/impact", response_model=dict[str, Any])
def read_impact(issue_id: str, session: SessionDep, _user: Viewer) -> dict[str, Any]:
    """The last causal impact estimate stored on the issue (404 until one was made after a fix)."""
    issue = load_issue(session, issue_id)
    if not issue.impact:
        raise HTTPException(404, detail="No impact estimate yet")
    return issue.impact


@anomalies_router.get("", response_model=AnomaliesPublic)
def list_anomalies(
    session: SessionDep,
    _user: Viewer,
    metric: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> AnomaliesPublic:
    """Anomalous days behind issues (newest first), with the issue they belong to."""
    query = select(IssueDay, Issue).join(Issue, Issue.id == IssueDay.issue_id)
    if metric:
        query = query.where(Issue.metric == metric)
    if date_from:
        query = query.where(IssueDay.date >= date_from)
    if date_to:
        query = query.where(IssueDay.date <= date_to)
    rows = session.execute(query.order_by(IssueDay.date.desc(), Issue.id).limit(limit)).all()
    data = [
        AnomalyPublic(
            issue_id=i.id,
            short_id=i.short_id,
            metric=i.metric,
            scope=dict(i.scope or {}),
            date=d.date,
            observed=d.observed,
            expected=d.expected,
            score=d.score,
            q_value=d.q_value,
        )
        for d, i in rows
    ]
    return AnomaliesPublic(data=data, count=len(data))
