"""Process health on a constructed history with known timings."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from sqlalchemy import update

from ecoradar.errors import InputError
from ecoradar.issues import service
from ecoradar.issues.daily import ingest_day
from ecoradar.issues.health import health
from ecoradar.store import Issue, IssueActivity
from store.storetests import anomaly, catalog, day, store, store_url  # noqa: F401

T = dt.datetime(2026, 2, 10, 8, 0)


def _at(session, issue, kind, to, when):
    session.execute(
        update(IssueActivity)
        .where(IssueActivity.issue_id == issue.id, IssueActivity.kind == kind, IssueActivity.to_value == to)
        .values(ts=when)
    )


@pytest.fixture
def history(store):  # noqa: F811
    """A: detected 2 days late, triaged in 4 h, resolved in 2 days, then regressed. B: triaged in 2 h as a false
    positive. C: another metric, detected a day late, never triaged. D: first seen outside the period."""
    with store.session() as s:
        ingest_day(
            s,
            day(0),
            [
                anomaly({"region": "JP"}, day(0), start=day(-2)),
                anomaly({"region": "US"}, day(0)),
                anomaly({"region": "BR"}, day(0), metric="like_rate", start=day(-1)),
            ],
            [],
            catalog(),
        )
        by_scope = {(i.metric, i.scope["region"]): i for i in service.list_issues(s, limit=None)[0]}
        a, b, c = by_scope["photo_share", "JP"], by_scope["photo_share", "US"], by_scope["like_rate", "BR"]
        service.transition(s, a, "triaged", actor="ann")
        service.transition(s, a, "resolved", actor="ann")
        service.transition(s, b, "false_positive", actor="ann")
        s.execute(update(Issue).values(created_at=T))
        _at(s, a, "status_change", "triaged", T + dt.timedelta(hours=4))
        _at(s, a, "status_change", "resolved", T + dt.timedelta(days=2))
        _at(s, b, "status_change", "false_positive", T + dt.timedelta(hours=2))
        s.commit()
    with store.session() as s:
        ingest_day(s, day(5), [anomaly({"region": "JP"}, day(5))], [], catalog())  # A regresses
        ingest_day(s, day(40), [anomaly({"region": "DE"}, day(40), metric="like_rate")], [], catalog())
        assert service.get_issue(s, a.id).status == "regressed" and c.status == "new"
    return store


def test_health_by_metric(history):
    with history.session() as s:
        table = health(s, start=day(0), end=day(10), by="metric").set_index("metric")
    assert list(table.index) == ["like_rate", "photo_share", "all"]
    ps, lr, everything = table.loc["photo_share"], table.loc["like_rate"], table.loc["all"]
    assert (ps.issues, ps.time_to_detect_days, ps.time_to_triage_hours, ps.time_to_resolve_days) == (2, 1.0, 3.0, 2.0)
    assert (ps.recurring_share, ps.false_positive_rate) == (0.5, 0.5)
    assert (lr.issues, lr.time_to_detect_days, lr.recurring_share, lr.false_positive_rate) == (1, 1.0, 0.0, 0.0)
    assert math.isnan(lr.time_to_triage_hours) and math.isnan(lr.time_to_resolve_days)
    assert everything.issues == 3 and everything.time_to_detect_days == 1.0
    assert everything.recurring_share == pytest.approx(1 / 3) and everything.false_positive_rate == pytest.approx(1 / 3)


def test_health_by_owner_and_category(history):
    with history.session() as s:
        owners = health(s, start=day(0), end=day(10), by="owner").set_index("owner")["issues"].to_dict()
        categories = health(s, by="category").set_index("category")["issues"].to_dict()
    assert owners == {"consumer-product": 1, "ranking": 2, "all": 3}
    assert categories == {"traffic_balance": 2, "user_experience": 2, "all": 4}


def test_health_rejects_unknown_grouping(history):
    with history.session() as s, pytest.raises(InputError, match="unknown grouping 'team'; allowed: metric"):
        health(s, by="team")
