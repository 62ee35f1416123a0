"""The service layer: lookup, listing, assignment, comments, the JSON form, and no lost updates."""

from __future__ import annotations

import pytest

from ecoradar.errors import ConflictError, InputError, NotFound
from ecoradar.issues import service
from ecoradar.issues.daily import ingest_day
from store.storetests import D0, anomaly, catalog, store, store_url  # noqa: F401

REQUIRED = {
    "id",
    "fingerprint",
    "title",
    "category",
    "kind",
    "severity",
    "priority",
    "status",
    "owner",
    "metric",
    "scope",
    "root_causes",
    "related_events",
    "first_seen",
    "last_seen",
    "observed",
    "expected",
    "history",
}


@pytest.fixture
def seeded(store):  # noqa: F811
    """Four issues: photo_share JP (P1), US, platform-wide (P0), like_rate on ios (owner engagement)."""
    with store.session() as session:
        ingest_day(
            session,
            D0,
            [
                anomaly({"region": "JP"}),
                anomaly({"region": "US"}, exposure=0.001),
                anomaly({}, observed=0.06, expected=0.12, metric="removal_rate"),
                anomaly({"os": "ios"}, metric="like_rate", observed=0.05, expected=0.06),
            ],
            [],
            catalog(),
        )
    return store


@pytest.mark.parametrize("number, text", [(1, "ECO-001"), (1347, "ECO-1A3"), (32**3, "ECO-1000")])
def test_short_ids_round_trip(number, text):
    assert service.short_id(number) == text
    assert service.parse_id(text) == service.parse_id(text.lower()) == service.parse_id(str(number)) == number


def test_get_issue_by_number_or_short_id(seeded):
    with seeded.session() as session:
        assert service.get_issue(session, "ECO-002").id == service.get_issue(session, 2).id == 2
        with pytest.raises(NotFound, match="unknown issue 'ECO-0ZZ': no issue with that id"):
            service.get_issue(session, "ECO-0ZZ")
        with pytest.raises(NotFound, match="ids look like ECO-1A3 or 42"):
            service.get_issue(session, "banana")


def test_list_filters_sorting_and_paging(seeded):
    with seeded.session() as session:
        rows, total = service.list_issues(session)
        assert total == 4
        assert [r.priority for r in rows] == sorted(r.priority for r in rows)
        assert rows[0].metric == "removal_rate" and rows[0].owner == "trust-and-safety"
        assert [r.metric for r in service.list_issues(session, category="user_experience")[0]] == ["like_rate"]
        assert service.list_issues(session, owner="engagement")[1] == 0  # a rule routes like_rate on ios first
        assert service.list_issues(session, owner="client-apps")[1] == 1
        assert service.list_issues(session, priority="P0,P1")[1] == 3
        assert service.list_issues(session, metric="photo_share")[1] == 2
        page, total = service.list_issues(session, limit=2, offset=3)
        assert (len(page), total) == (1, 4)
        service.transition(session, rows[0], "wont_fix", actor="ann")
        assert service.list_issues(session, status="open")[1] == 3
        assert service.list_issues(session, status="closed")[1] == 1
        assert service.list_issues(session, status="new,wont_fix")[1] == 4
        with pytest.raises(InputError, match="unknown status 'opn'"):
            service.list_issues(session, status="opn")
        with pytest.raises(InputError, match="unknown priority 'P9'; allowed: P0, P1, P2, P3"):
            service.list_issues(session, priority="P9")


def test_assign_comment_and_json(seeded):
    with seeded.session() as session:
        issue = service.list_issues(session, metric="photo_share", priority="P1")[0][0]
        number = issue.id
        service.assign(session, issue, "growth", actor="ann", note="ours")
        service.comment(session, issue, "  looking at the JP feed  ", actor="bob")
        with pytest.raises(InputError, match="needs some text"):
            service.comment(session, issue, " ", actor="bob")
    with seeded.session() as session:
        d = service.issue_to_dict(service.get_issue(session, number))
    assert set(d) >= REQUIRED
    assert d["owner"] == "growth" and d["short_id"] == service.short_id(number) and d["scope"] == {"region": "JP"}
    assert d["comments"] == [{"ts": d["comments"][0]["ts"], "actor": "bob", "text": "looking at the JP feed"}]
    assert [(h["kind"], h["actor"], h["from"], h["to"]) for h in d["history"]][1:] == [
        ("assign", "ann", "ranking", "growth"),
        ("comment", "bob", None, None),
    ]


def test_concurrent_edits_do_not_lose_updates(seeded):
    with seeded.session() as alice, seeded.session() as bob:
        a = service.get_issue(alice, 1)
        b = service.get_issue(bob, 1)
        service.transition(alice, a, "triaged", actor="alice")
        with pytest.raises(ConflictError, match="ECO-001 was changed by someone else"):
            service.assign(bob, b, "growth", actor="bob")
        b = service.get_issue(bob, 1)  # reload, then retry
        assert b.status == "triaged"
        service.assign(bob, b, "growth", actor="bob")
    with seeded.session() as session:
        issue = service.get_issue(session, 1)
        assert (issue.status, issue.owner) == ("triaged", "growth")
        assert [h.kind for h in issue.activities][-2:] == ["status_change", "assign"]


def test_expected_version_mismatch_is_a_conflict(seeded):
    with seeded.session() as session:
        issue = service.get_issue(session, 1)
        with pytest.raises(ConflictError, match=f"now version {issue.version}, you had {issue.version - 1}"):
            service.transition(session, issue, "triaged", actor="web:ann", expected_version=issue.version - 1)
        service.transition(session, issue, "triaged", actor="web:ann", expected_version=issue.version)


def test_record_impact(seeded):
    with seeded.session() as session:
        issue = service.get_issue(session, 1)
        service.record_impact(session, issue, {"verdict": "recovered", "average_effect": 0.03}, actor="ann")
    with seeded.session() as session:
        d = service.issue_to_dict(service.get_issue(session, 1))
    assert d["impact"]["verdict"] == "recovered"
    assert d["history"][-1]["kind"] == "impact" and d["history"][-1]["to"] == "recovered"
