"""Issue statuses, the allowed transitions between them and the signal substatus, checked at import.

The status is the *workflow* state and belongs to people, with one exception: the daily run reopens a
resolved issue whose fingerprint fires again as `regressed`. The substatus is the *signal* state and belongs
to the daily run: `ongoing` while the metric is anomalous, `recovered` after N quiet days. A recovered issue
stays open until somebody resolves it (people resolve; the data only recovers).
"""

from __future__ import annotations

from enum import StrEnum


class IssueStatus(StrEnum):
    """Where an issue is in the team's workflow."""

    NEW = "new"
    REGRESSED = "regressed"
    """A resolved issue whose fingerprint fired again; set only by the daily run, triaged like `new`."""
    TRIAGED = "triaged"
    INVESTIGATING = "investigating"
    MITIGATING = "mitigating"
    RESOLVED = "resolved"
    WONT_FIX = "wont_fix"
    FALSE_POSITIVE = "false_positive"
    """Not a real problem: the fingerprint is suppressed and counts against its metric's precision."""


class IssueSubStatus(StrEnum):
    """What the metric is doing now, maintained by the daily run."""

    ONGOING = "ongoing"
    RECOVERED = "recovered"
    """The metric has been normal for N days in a row (see ecoradar.issues.daily.RECOVERY_DAYS)."""


#: Statuses that still need work (the default list view).
OPEN = frozenset(
    {IssueStatus.NEW, IssueStatus.REGRESSED, IssueStatus.TRIAGED, IssueStatus.INVESTIGATING, IssueStatus.MITIGATING}
)
#: Statuses in which the team has finished with an issue.
CLOSED = frozenset({IssueStatus.RESOLVED, IssueStatus.WONT_FIX, IssueStatus.FALSE_POSITIVE})
#: Statuses that still await a first human decision (time to triage ends when an issue leaves them).
UNTRIAGED = frozenset({IssueStatus.NEW, IssueStatus.REGRESSED})

_WORK = frozenset({IssueStatus.TRIAGED, IssueStatus.INVESTIGATING, IssueStatus.MITIGATING})
_END = frozenset({IssueStatus.RESOLVED, IssueStatus.WONT_FIX, IssueStatus.FALSE_POSITIVE})

#: Transitions people may make (`ecoradar issues status`, the web UI): from -> allowed targets.
TRANSITIONS: dict[IssueStatus, frozenset[IssueStatus]] = {
    IssueStatus.NEW: _WORK | _END,
    IssueStatus.REGRESSED: _WORK | _END,
    IssueStatus.TRIAGED: (_WORK - {IssueStatus.TRIAGED}) | _END,
    IssueStatus.INVESTIGATING: frozenset({IssueStatus.TRIAGED, IssueStatus.MITIGATING}) | _END,
    IssueStatus.MITIGATING: frozenset({IssueStatus.INVESTIGATING, IssueStatus.RESOLVED, IssueStatus.WONT_FIX}),
    IssueStatus.RESOLVED: frozenset({IssueStatus.INVESTIGATING}),  # reopened by hand; the run reopens as regressed
    IssueStatus.WONT_FIX: frozenset({IssueStatus.TRIAGED, IssueStatus.INVESTIGATING}),
    IssueStatus.FALSE_POSITIVE: frozenset({IssueStatus.TRIAGED}),  # lifts the suppression
}

#: Transitions only the daily run makes.
SYSTEM_TRANSITIONS: dict[IssueStatus, frozenset[IssueStatus]] = {
    IssueStatus.RESOLVED: frozenset({IssueStatus.REGRESSED}),
}

#: Substatus -> the statuses it may accompany (Sentry's GROUP_SUBSTATUS_TO_STATUS_MAP); a false positive has none.
SUBSTATUS_STATUSES: dict[IssueSubStatus, frozenset[IssueStatus]] = {
    IssueSubStatus.ONGOING: OPEN | {IssueStatus.WONT_FIX, IssueStatus.RESOLVED},  # resolved before it recovered
    IssueSubStatus.RECOVERED: OPEN | {IssueStatus.WONT_FIX, IssueStatus.RESOLVED},
}


def allowed_targets(status: IssueStatus) -> list[str]:
    """The statuses a person may move an issue to from `status`, in workflow order."""
    order = list(IssueStatus)
    return [s.value for s in sorted(TRANSITIONS[status], key=order.index)]


def _check_tables() -> None:
    """Fail at import when the tables contradict each other (a missing status, a dead end, a stray substatus)."""
    statuses = set(IssueStatus)
    if set(TRANSITIONS) != statuses:
        raise RuntimeError(f"TRANSITIONS lacks {sorted(statuses - set(TRANSITIONS))}")
    if statuses != OPEN | CLOSED or OPEN & CLOSED:
        raise RuntimeError("OPEN and CLOSED must partition IssueStatus")
    for source, targets in TRANSITIONS.items():
        if not targets or source in targets:
            raise RuntimeError(f"status {source!r} must have targets other than itself")
        if IssueStatus.REGRESSED in targets:
            raise RuntimeError("only the daily run may set 'regressed'")
    reachable, frontier = {IssueStatus.NEW}, [IssueStatus.NEW]
    while frontier:
        source = frontier.pop()
        for nxt in TRANSITIONS[source] | SYSTEM_TRANSITIONS.get(source, frozenset()):
            if nxt not in reachable:
                reachable.add(nxt)
                frontier.append(nxt)
    if reachable != statuses:
        raise RuntimeError(f"statuses unreachable from 'new': {sorted(statuses - reachable)}")
    if set(SUBSTATUS_STATUSES) != set(IssueSubStatus) or not all(SUBSTATUS_STATUSES.values()):
        raise RuntimeError("every substatus needs the statuses it may accompany")


_check_tables()
