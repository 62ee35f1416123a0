"""Every transition of the lifecycle table, valid and invalid, through the one door (service.transition)."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from ecoradar.errors import InputError
from ecoradar.issues import service
from ecoradar.issues.daily import ingest_day
from ecoradar.issues.lifecycle import SUBSTATUS_STATUSES, TRANSITIONS, IssueStatus, IssueSubStatus, allowed_targets
from ecoradar.store import IssueActivity, Suppression
from store.storetests import anomaly, catalog, day, store, store_url  # noqa: F401

PAIRS = list(itertools.product(IssueStatus, IssueStatus))
VALID = [(a, b) for a, b in PAIRS if b in TRANSITIONS[a]]
INVALID = [(a, b) for a, b in PAIRS if b not in TRANSITIONS[a]]


@pytest.fixture
def issue_in(store):  # noqa: F811
    """Factory: a fresh issue forced into a given status (arranged directly; only the act goes through the door)."""
    counter = itertools.count()

    def make(session, status: IssueStatus):
        n = next(counter)
        ingest_day(session, day(n * 10), [anomaly({"region": f"R{n}"}, day(n * 10))], [], catalog())
        issue = service.list_issues(session, status="all", sort="-first_seen", limit=1)[0][0]
        issue.status = status.value
        issue.substatus = None if status is IssueStatus.FALSE_POSITIVE else IssueSubStatus.ONGOING.value
        session.commit()
        return issue

    return make


def test_table_is_complete_and_consistent():
    assert set(TRANSITIONS) == set(IssueStatus)
    assert all(IssueStatus.REGRESSED not in targets for targets in TRANSITIONS.values())
    assert set(SUBSTATUS_STATUSES) == set(IssueSubStatus)
    assert allowed_targets(IssueStatus.MITIGATING) == ["investigating", "resolved", "wont_fix"]


def test_every_valid_transition_writes_row_and_activity(store, issue_in):  # noqa: F811
    with store.session() as session:
        for source, target in VALID:
            issue = issue_in(session, source)
            version = issue.version
            service.transition(session, issue, target, actor="ann", note=f"{source}->{target}")
            session.expire_all()
            assert issue.status == target.value, (source, target)
            assert issue.version == version + 1, (source, target)
            last = session.scalars(
                select(IssueActivity).where(IssueActivity.issue_id == issue.id).order_by(IssueActivity.id.desc())
            ).first()
            assert (last.kind, last.actor, last.from_value, last.to_value) == (
                "status_change",
                "ann",
                source.value,
                target.value,
            )
            assert last.note == f"{source}->{target}"
            if issue.substatus is not None:
                assert IssueStatus(issue.status) in SUBSTATUS_STATUSES[IssueSubStatus(issue.substatus)]


def test_every_invalid_transition_is_refused_and_changes_nothing(store, issue_in):  # noqa: F811
    with store.session() as session:
        for source, target in INVALID:
            issue = issue_in(session, source)
            version, count = issue.version, len(issue.activities)
            with pytest.raises(InputError) as info:
                service.transition(session, issue, target, actor="ann")
            message = str(info.value)
            assert f"from {source.value!r} to {target.value!r}" in message
            assert "allowed from" in message and ", ".join(allowed_targets(source)) in message
            session.rollback()
            session.expire_all()
            assert (issue.status, issue.version, len(issue.activities)) == (source.value, version, count)


def test_regressed_is_only_for_the_daily_run(store, issue_in):  # noqa: F811
    with store.session() as session:
        issue = issue_in(session, IssueStatus.RESOLVED)
        with pytest.raises(InputError, match="only the daily run reopens issues as regressed"):
            service.transition(session, issue, "regressed", actor="ann")


def test_unknown_status_lists_the_allowed_ones(store, issue_in):  # noqa: F811
    with store.session() as session:
        issue = issue_in(session, IssueStatus.NEW)
        with pytest.raises(InputError, match="unknown status 'fixed'; allowed: new, regressed, triaged"):
            service.transition(session, issue, "fixed", actor="ann")


def test_fix_date_rules(store, issue_in):  # noqa: F811
    with store.session() as session:
        issue = issue_in(session, IssueStatus.INVESTIGATING)
        with pytest.raises(InputError, match="goes with 'resolved' or 'mitigating'"):
            service.transition(session, issue, "triaged", actor="ann", fix_date=day(1))
        with pytest.raises(InputError, match="is before issue"):
            service.transition(session, issue, "resolved", actor="ann", fix_date=day(-5))
        service.transition(session, issue, "resolved", actor="ann", fix_date=day(2))
        assert issue.fix_date == day(2) and issue.resolved_at is not None
        service.transition(session, issue, "investigating", actor="ann", note="not fixed after all")
        assert issue.resolved_at is None


def test_false_positive_suppresses_and_unmarking_lifts(store, issue_in):  # noqa: F811
    with store.session() as session:
        issue = issue_in(session, IssueStatus.NEW)
        service.transition(session, issue, "false_positive", actor="ann", note="holiday")
        supp = session.get(Suppression, issue.fingerprint)
        assert supp is not None and supp.reason == "holiday" and supp.actor == "ann"
        assert issue.substatus is None
        service.transition(session, issue, "triaged", actor="bob")
        assert session.get(Suppression, issue.fingerprint) is None
        assert issue.substatus == "recovered"


def test_actor_is_required(store, issue_in):  # noqa: F811
    with store.session() as session:
        issue = issue_in(session, IssueStatus.NEW)
        with pytest.raises(InputError, match="actor is required"):
            service.transition(session, issue, "triaged", actor=" ")
