"""The one door to the issue store: every status, owner, comment and signal change goes through here.

Human-facing functions (transition, assign, comment, record_impact) write the row and its activity and
commit them together; a concurrent change raises ConflictError instead of being lost. The daily run uses
the `mark_*` functions inside its own per-day transaction (they flush, never commit).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ecoradar.errors import ConflictError, InputError, NotFound
from ecoradar.issues.lifecycle import (
    CLOSED,
    OPEN,
    SUBSTATUS_STATUSES,
    SYSTEM_TRANSITIONS,
    TRANSITIONS,
    IssueStatus,
    IssueSubStatus,
    allowed_targets,
)
from ecoradar.store.models import Comment, Issue, IssueActivity, Suppression, utcnow

PRIORITIES = ("P0", "P1", "P2", "P3")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_SHORT_ID = re.compile(r"^ECO-([0-9A-HJKMNP-TV-Z]+)$", re.IGNORECASE)
#: `--status` words that stand for a set of statuses (Sentry's STATUS_QUERY_CHOICES).
STATUS_GROUPS = {"open": OPEN, "closed": CLOSED, "all": frozenset(IssueStatus)}
SORTS = ("priority", "-last_seen", "-first_seen", "-severity")


# ---------------------------------------------------------------------------------------------- ids and lookup
def short_id(number: int) -> str:
    """`ECO-` + Crockford base32 of the issue number, at least 3 digits (1347 -> ECO-1A3)."""
    digits = ""
    while number:
        number, rem = divmod(number, 32)
        digits = _CROCKFORD[rem] + digits
    return "ECO-" + digits.rjust(3, "0")


def parse_id(id_or_short_id: int | str) -> int:
    """The issue number behind `12`, `"12"` or `"ECO-00C"`; InputError for anything else."""
    if isinstance(id_or_short_id, int):
        return id_or_short_id
    text = str(id_or_short_id).strip()
    if text.isdigit():
        return int(text)
    match = _SHORT_ID.match(text)
    if not match:
        raise NotFound(f"unknown issue {text!r}: ids look like ECO-1A3 or 42")
    number = 0
    for ch in match.group(1).upper():
        number = number * 32 + _CROCKFORD.index(ch)
    return number


def get_issue(session: Session, id_or_short_id: int | str) -> Issue:
    """The issue with this number or short id.

    Raises:
        NotFound: no such issue (the message names the id).
    """
    issue = session.get(Issue, parse_id(id_or_short_id))
    if issue is None:
        raise NotFound(f"unknown issue {str(id_or_short_id)!r}: no issue with that id in the store")
    return issue


def parse_status(value: str | IssueStatus) -> IssueStatus:
    """An IssueStatus from its name; InputError naming the allowed names otherwise."""
    try:
        return IssueStatus(str(value).strip().lower())
    except ValueError:
        raise InputError(f"unknown status {value!r}; allowed: {', '.join(s.value for s in IssueStatus)}") from None


def _statuses(status: str | Iterable[str] | None) -> set[str] | None:
    if status is None:
        return None
    words = [status] if isinstance(status, str) else list(status)
    out: set[str] = set()
    for word in words:
        for part in str(word).split(","):
            part = part.strip().lower()
            out |= {s.value for s in STATUS_GROUPS[part]} if part in STATUS_GROUPS else {parse_status(part).value}
    return out


def list_issues(
    session: Session,
    *,
    status: str | Iterable[str] | None = None,
    category: str | None = None,
    priority: str | None = None,
    owner: str | None = None,
    metric: str | None = None,
    sort: str = "priority",
    limit: int | None = 50,
    offset: int = 0,
) -> tuple[list[Issue], int]:
    """Issues matching every given filter, and how many match in total (for paging).

    Args:
        session (Session): an open session.
        status (str | list[str] | None): a status, comma-separated statuses, or open / closed / all.
        category, priority, owner, metric (str | None): exact matches; priority may be 'P0,P1'.
        sort (str): one of SORTS; 'priority' = P0 first, then severity, then most recent.
        limit (int | None): page size (None: all); offset: rows to skip.

    Returns:
        tuple[list[Issue], int]: the page and the total count.
    """
    query = select(Issue)
    statuses = _statuses(status)
    if statuses is not None:
        query = query.where(Issue.status.in_(sorted(statuses)))
    if category:
        query = query.where(Issue.category == category)
    if priority:
        wanted = [p.strip().upper() for p in priority.split(",")]
        bad = [p for p in wanted if p not in PRIORITIES]
        if bad:
            raise InputError(f"unknown priority {bad[0]!r}; allowed: {', '.join(PRIORITIES)}")
        query = query.where(Issue.priority.in_(wanted))
    if owner:
        query = query.where(Issue.owner == owner)
    if metric:
        query = query.where(Issue.metric == metric)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    orders = {
        "priority": (Issue.priority, Issue.severity.desc(), Issue.last_seen.desc(), Issue.id),
        "-last_seen": (Issue.last_seen.desc(), Issue.id.desc()),
        "-first_seen": (Issue.first_seen.desc(), Issue.id.desc()),
        "-severity": (Issue.severity.desc(), Issue.id),
    }
    if sort not in orders:
        raise InputError(f"unknown sort {sort!r}; allowed: {', '.join(SORTS)}")
    query = query.order_by(*orders[sort]).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query)), total


# ------------------------------------------------------------------------------------------------- changes
def _activity(session: Session, issue: Issue, kind: str, *, actor: str, frm=None, to=None, note=None) -> None:
    session.add(
        IssueActivity(
            issue=issue,
            ts=utcnow(),
            actor=actor,
            kind=kind,
            from_value=None if frm is None else str(frm),
            to_value=None if to is None else str(to),
            note=note,
        )
    )


def _check_version(issue: Issue, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != issue.version:
        raise ConflictError(
            f"issue {issue.short_id} was changed by someone else (now version {issue.version}, you had "
            f"{expected_version}); reload it and retry"
        )


def _commit(session: Session, issue: Issue, commit: bool) -> None:
    """Flush (and commit) so a concurrent writer's newer version surfaces as ConflictError, not a lost update."""
    try:
        session.flush()
        if commit:
            session.commit()
    except StaleDataError:
        session.rollback()
        raise ConflictError(
            f"issue {issue.short_id} was changed by someone else while you edited it; reload it and retry"
        ) from None


def _actor(actor: str) -> str:
    if not actor or not str(actor).strip():
        raise InputError("an actor is required (who makes the change)")
    return str(actor).strip()


def _set_status(session: Session, issue: Issue, to: IssueStatus, *, actor: str, kind: str, note: str | None) -> None:
    """Write status (+ the substatus it implies and the suppression bookkeeping) and its activity."""
    frm = issue.status
    suppression = session.get(Suppression, issue.fingerprint)  # read before writing: one UPDATE, one version bump
    issue.status = to.value
    if to is IssueStatus.FALSE_POSITIVE:
        issue.substatus = None
        if suppression is None:
            session.add(Suppression(fingerprint=issue.fingerprint, reason=note, actor=actor, created_at=utcnow()))
    elif frm == IssueStatus.FALSE_POSITIVE:
        if suppression is not None:
            session.delete(suppression)
        issue.substatus = IssueSubStatus.RECOVERED.value
    if issue.substatus is not None and to not in SUBSTATUS_STATUSES[IssueSubStatus(issue.substatus)]:
        issue.substatus = None
    _activity(session, issue, kind, actor=actor, frm=frm, to=to.value, note=note)


def transition(
    session: Session,
    issue: Issue,
    to: str | IssueStatus,
    *,
    actor: str,
    note: str | None = None,
    fix_date: dt.date | None = None,
    expected_version: int | None = None,
    commit: bool = True,
) -> Issue:
    """Move an issue to status `to` as `actor`, writing the row and a status_change activity in one transaction.

    Moving to false_positive suppresses the fingerprint (the daily run opens nothing for it); moving back out
    lifts the suppression. Resolving stamps resolved_at and the optional fix date (used by impact and to
    tell the fix's tail from a regression).

    Args:
        session (Session): an open session.
        issue (Issue): the issue, loaded in `session`.
        to (str | IssueStatus): target status.
        actor (str): who makes the change (user name, 'cli', 'web:alice').
        note (str | None): why; shown in the history.
        fix_date (date | None): when the fix shipped; only with resolved or mitigating, not before the issue.
        expected_version (int | None): the version the caller saw (web If-Match); a mismatch is a conflict.
        commit (bool): commit (default) or only flush, for callers that own the transaction.

    Returns:
        Issue: the updated issue.

    Raises:
        InputError: unknown status, or a transition the table does not allow (the message lists the allowed ones).
        ConflictError: somebody else changed the issue meanwhile.
    """
    actor = _actor(actor)
    target = parse_status(to)
    current = IssueStatus(issue.status)
    _check_version(issue, expected_version)
    if target not in TRANSITIONS[current]:
        why = " (only the daily run reopens issues as regressed)" if target is IssueStatus.REGRESSED else ""
        raise InputError(
            f"cannot move issue {issue.short_id} from {current.value!r} to {target.value!r}{why}; "
            f"allowed from {current.value!r}: {', '.join(allowed_targets(current))}"
        )
    if fix_date is not None:
        if target not in (IssueStatus.RESOLVED, IssueStatus.MITIGATING):
            raise InputError(f"--fix-date goes with 'resolved' or 'mitigating', not {target.value!r}")
        if fix_date < issue.start_date:
            raise InputError(f"fix date {fix_date} is before issue {issue.short_id} started ({issue.start_date})")
    with session.no_autoflush:  # one UPDATE per change, so one version bump
        if fix_date is not None:
            issue.fix_date = fix_date
        if target is IssueStatus.RESOLVED:
            issue.resolved_at = utcnow()
        elif current is IssueStatus.RESOLVED:
            issue.resolved_at = None
        _set_status(session, issue, target, actor=actor, kind="status_change", note=note)
    _commit(session, issue, commit)
    return issue


def assign(
    session: Session,
    issue: Issue,
    team: str | None,
    *,
    actor: str,
    note: str | None = None,
    expected_version: int | None = None,
    commit: bool = True,
) -> Issue:
    """Give the issue to owner `team` (None or '' unassigns), with an assign activity.

    Raises:
        ConflictError: somebody else changed the issue meanwhile.
    """
    actor = _actor(actor)
    _check_version(issue, expected_version)
    team = (team or "").strip() or None
    frm = issue.owner
    issue.owner = team
    _activity(session, issue, "assign", actor=actor, frm=frm, to=team, note=note)
    _commit(session, issue, commit)
    return issue


def comment(session: Session, issue: Issue, text: str, *, actor: str, commit: bool = True) -> Comment:
    """Add a comment (and a comment activity); comments never conflict with other edits.

    Raises:
        InputError: empty text.
    """
    actor = _actor(actor)
    if not text or not text.strip():
        raise InputError("a comment needs some text")
    row = Comment(issue=issue, ts=utcnow(), actor=actor, text=text.strip())
    session.add(row)
    _activity(session, issue, "comment", actor=actor, note=text.strip())
    session.flush()
    if commit:
        session.commit()
    return row


def record_impact(session: Session, issue: Issue, result: dict[str, Any], *, actor: str, commit: bool = True) -> Issue:
    """Store a causal impact estimate on the issue, with an impact activity carrying its verdict."""
    actor = _actor(actor)
    issue.impact = result
    _activity(session, issue, "impact", actor=actor, to=result.get("verdict"), note=result.get("summary"))
    _commit(session, issue, commit)
    return issue


# ----------------------------------------------------------------------------- signal changes (the daily run)
def mark_regressed(session: Session, issue: Issue, *, actor: str, note: str | None = None) -> None:
    """Reopen a resolved issue whose fingerprint fired again (no commit: the caller owns the transaction)."""
    current = IssueStatus(issue.status)
    if IssueStatus.REGRESSED not in SYSTEM_TRANSITIONS.get(current, frozenset()):
        raise InputError(f"issue {issue.short_id} is {current.value!r}; only resolved issues regress")
    with session.no_autoflush:
        issue.resolved_at = None
        issue.substatus = IssueSubStatus.ONGOING.value
        _set_status(session, issue, IssueStatus.REGRESSED, actor=actor, kind="regression", note=note)
    session.flush()


def mark_substatus(session: Session, issue: Issue, sub: IssueSubStatus, *, actor: str, note: str | None = None) -> None:
    """Set the signal state (ongoing / recovered) with an activity named after it (no commit)."""
    if issue.substatus == sub.value:
        return
    if IssueStatus(issue.status) not in SUBSTATUS_STATUSES[sub]:
        raise InputError(f"substatus {sub.value!r} does not apply to a {issue.status!r} issue")
    frm = issue.substatus
    issue.substatus = sub.value
    _activity(session, issue, sub.value, actor=actor, frm=frm, to=sub.value, note=note)


def set_priority(session: Session, issue: Issue, priority: str, *, actor: str) -> None:
    """Re-derived priority (severity grows with duration), with a priority_change activity when it moves."""
    if priority not in PRIORITIES:
        raise InputError(f"unknown priority {priority!r}; allowed: {', '.join(PRIORITIES)}")
    if issue.priority != priority:
        _activity(session, issue, "priority_change", actor=actor, frm=issue.priority, to=priority)
        issue.priority = priority


# ---------------------------------------------------------------------------------------------- reading out
def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def issue_to_dict(issue: Issue, *, history: bool = True) -> dict[str, Any]:
    """The JSON form of an issue (CLI --json, export, web API). Call while its session is open.

    Keys: id, short_id, fingerprint, fingerprint_config, title, category, kind, direction, severity, priority,
    status, substatus, owner, metric, scope ({} = platform-wide), root_causes [{scope, contribution, ...}],
    related_events, mix_rate, start_date, first_seen, last_seen, times_seen, observed, expected, deviation,
    exposure, impact, fix_date, resolved_at, version, created_at, updated_at; with history=True also
    history [{ts, actor, kind, from, to, note}], comments [{ts, actor, text}] and days
    [{date, observed, expected, score, q_value}].
    """
    out: dict[str, Any] = {
        "id": issue.id,
        "short_id": issue.short_id,
        "fingerprint": issue.fingerprint,
        "fingerprint_config": issue.fingerprint_config,
        "title": issue.title,
        "category": issue.category,
        "kind": issue.kind,
        "direction": issue.direction,
        "severity": issue.severity,
        "priority": issue.priority,
        "status": issue.status,
        "substatus": issue.substatus,
        "owner": issue.owner,
        "metric": issue.metric,
        "scope": dict(issue.scope or {}),
        "root_causes": list(issue.root_causes or []),
        "related_events": list(issue.related_events or []),
        "mix_rate": list(issue.mix_rate or []),
        "start_date": _iso(issue.start_date),
        "first_seen": _iso(issue.first_seen),
        "last_seen": _iso(issue.last_seen),
        "times_seen": issue.times_seen,
        "observed": issue.observed,
        "expected": issue.expected,
        "deviation": issue.deviation,
        "exposure": issue.exposure,
        "impact": issue.impact,
        "fix_date": _iso(issue.fix_date),
        "resolved_at": _iso(issue.resolved_at),
        "version": issue.version,
        "created_at": _iso(issue.created_at),
        "updated_at": _iso(issue.updated_at),
    }
    if history:
        out["history"] = [
            {"ts": _iso(a.ts), "actor": a.actor, "kind": a.kind, "from": a.from_value, "to": a.to_value, "note": a.note}
            for a in issue.activities
        ]
        out["comments"] = [{"ts": _iso(c.ts), "actor": c.actor, "text": c.text} for c in issue.comments]
        out["days"] = [
            {
                "date": _iso(d.date),
                "observed": d.observed,
                "expected": d.expected,
                "score": d.score,
                "q_value": d.q_value,
            }
            for d in issue.days
        ]
    return out


def metric_precision(session: Session) -> list[dict[str, Any]]:
    """Per metric: issues raised, issues people judged (left new/regressed), false positives, precision.

    precision = 1 - false_positive / judged (None until somebody judged an issue of the metric).
    """
    judged = case((Issue.status.in_([IssueStatus.NEW.value, IssueStatus.REGRESSED.value]), 0), else_=1)
    fp = case((Issue.status == IssueStatus.FALSE_POSITIVE.value, 1), else_=0)
    rows = session.execute(
        select(Issue.metric, func.count(), func.sum(judged), func.sum(fp)).group_by(Issue.metric).order_by(Issue.metric)
    ).all()
    return [
        {
            "metric": m,
            "issues": n,
            "judged": int(j or 0),
            "false_positive": int(f or 0),
            "precision": None if not j else 1 - (f or 0) / j,
        }
        for m, n, j, f in rows
    ]
