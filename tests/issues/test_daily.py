"""The daily job: grouping into issues, accumulation, recovery, regression, suppression, idempotence, atomicity."""

from __future__ import annotations

import multiprocessing
import os
import signal

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from ecoradar.errors import NotFound
from ecoradar.explain.records import CreatorDrivers, Explanation, RelatedEvent, RootCause
from ecoradar.issues import service
from ecoradar.issues.daily import group_day, ingest_day, run_days
from ecoradar.store import Issue, IssueDay, Run, open_store
from store.storetests import D0, anomaly, catalog, day, dump, store, store_url  # noqa: F401

JP = {"region": "JP"}
JP_PHOTO = {"region": "JP", "format": "photo"}


def ingest(store, date, anomalies, explanations=(), **kw):  # noqa: F811
    with store.session() as session:
        return ingest_day(session, date, anomalies, list(explanations), catalog(), **kw)


def all_issues(store):  # noqa: F811
    with store.session() as session:
        rows, _ = service.list_issues(session, status="all", sort="-first_seen", limit=None)
        return [service.issue_to_dict(i) for i in rows]


def explained(scope, child, date=D0, contribution=0.8, observed=0.08, expected=0.12):
    return Explanation(
        metric="photo_share",
        scope=scope,
        date=date,
        root_causes=[RootCause(child, contribution, observed, expected), RootCause({"region": "US"}, 0.1)],
        events=[
            RelatedEvent(
                ts=__import__("datetime").datetime(2026, 2, 9, 12),
                kind="launch",
                name="feed v2",
                scope={"region": "JP"},
                score=0.7,
            )
        ],
    )


# ------------------------------------------------------------------------------------------------- grouping
def test_parent_explained_by_child_is_one_issue_scoped_to_the_child(store):  # noqa: F811
    parent = anomaly({}, observed=0.115, expected=0.12)
    child = anomaly(JP_PHOTO, observed=0.08, expected=0.12)
    summary = ingest(store, D0, [parent, child], [explained({}, JP_PHOTO)])
    assert (summary.new, summary.ongoing) == (1, 0)
    [issue] = all_issues(store)
    assert issue["scope"] == JP_PHOTO
    assert issue["root_causes"][0] == {"scope": JP_PHOTO, "contribution": 0.8, "observed": 0.08, "expected": 0.12}
    assert issue["related_events"][0]["name"] == "feed v2"
    assert issue["title"] == (
        "Photo share of impressions down 33% for photo in JP since 2026-02-10 (8.0% vs 12.0% expected)"
    )
    assert issue["category"] == "traffic_balance" and issue["owner"] == "ranking"


def test_parent_alone_explained_by_child_takes_the_child_scope(store):  # noqa: F811
    ingest(store, D0, [anomaly({}, observed=0.115, expected=0.12)], [explained({}, JP_PHOTO)])
    assert [i["scope"] for i in all_issues(store)] == [JP_PHOTO]


def test_weak_root_cause_keeps_the_parent_scope(store):  # noqa: F811
    ingest(store, D0, [anomaly(JP)], [explained(JP, JP_PHOTO, contribution=0.3)])
    assert [i["scope"] for i in all_issues(store)] == [JP]


def test_a_root_cause_that_moved_the_other_way_keeps_the_parent_scope(store):  # noqa: F811
    # the explanation pooled days on which JP x photo rose; the anomaly's own day is a fall in JP
    ingest(store, D0, [anomaly(JP)], [explained(JP, JP_PHOTO, contribution=12.3, observed=0.2, expected=0.09)])
    [issue] = all_issues(store)
    assert issue["scope"] == JP and issue["direction"] == "down" and issue["title"].startswith("Photo share")
    assert "down" in issue["title"]


def test_a_few_creators_change_opens_no_issue_but_an_open_issue_goes_on(store):  # noqa: F811
    def by(driven, date):
        drivers = CreatorDrivers(share=0.9, held=0.1, rest=0.0, creators=[(7, 0.9)], change=400.0, driven=driven)
        return Explanation(metric="photo_share", scope=JP, date=date, drivers=drivers)

    summary = ingest(store, D0, [anomaly(JP)], [by(True, D0)])
    assert (summary.new, summary.creator_events) == (0, 1) and all_issues(store) == []
    nxt, later = day(1), day(2)
    ingest(store, nxt, [anomaly(JP, date=nxt)], [by(False, nxt)])
    assert len(all_issues(store)) == 1
    summary = ingest(store, later, [anomaly(JP, date=later)], [by(True, later)])
    assert (summary.new, summary.ongoing, summary.creator_events) == (0, 1, 0)


def test_a_would_be_issue_without_measured_creators_is_measured_in_its_own_slice(store):  # noqa: F811
    asked = []

    def measure(anomaly, scope):
        asked.append((anomaly.metric, dict(scope)))
        driven = scope == JP_PHOTO
        return CreatorDrivers(share=0.9, held=0.1, rest=0.0, creators=[(7, 0.9)], change=400.0, driven=driven)

    # the parent is seen at its child (the root cause): the child's creators decide
    summary = ingest(
        store, D0, [anomaly({}, observed=0.115, expected=0.12)], [explained({}, JP_PHOTO)], drivers=measure
    )
    assert (summary.new, summary.creator_events) == (0, 1) and asked == [("photo_share", JP_PHOTO)]
    summary = ingest(store, day(1), [anomaly({"region": "US"}, date=day(1))], [], drivers=measure)
    assert (summary.new, summary.creator_events) == (1, 0) and asked[-1] == ("photo_share", {"region": "US"})
    # an issue already open goes on without measuring again
    ingest(store, day(2), [anomaly({"region": "US"}, date=day(2))], [], drivers=measure)
    assert len(asked) == 2


def test_metrics_of_one_family_that_worsen_together_are_one_issue(store):  # noqa: F811
    from ecoradar.metrics.model import Metric

    def metric(name, direction):
        return Metric(
            name=name,
            description=name,
            table="uploads",
            kind="count",
            dimensions=["region", "tier"],
            category="supply",
            family="supply",
            direction=direction,
        )

    cat = {
        **catalog(),
        "uploads": metric("uploads", "up_is_good"),
        "idle_creators": metric("idle_creators", "down_is_good"),
    }
    micro, jp_micro = {"tier": "micro"}, {"region": "JP", "tier": "micro"}
    fewer = anomaly(micro, metric="uploads", observed=800, expected=1000)
    idle = anomaly(jp_micro, metric="idle_creators", observed=130, expected=100)  # up: worse, as fewer uploads
    with store.session() as session:
        summary = ingest_day(session, D0, [fewer, idle], [], cat)
    assert summary.new == 1
    # the next day the family goes on worsening in an overlapping slice: the same issue; getting better is another
    more = anomaly({"region": "JP"}, day(1), metric="uploads", observed=1200, expected=1000)
    with store.session() as session:
        summary = ingest_day(
            session,
            day(1),
            [anomaly(jp_micro, day(1), metric="idle_creators", observed=140, expected=100), more],
            [],
            cat,
        )
    assert (summary.new, summary.ongoing) == (1, 1)
    issues = all_issues(store)
    assert sorted((i["metric"], i["times_seen"]) for i in issues) == [("uploads", 1), ("uploads", 2)]


def test_a_count_is_not_moved_into_an_app_version_child():
    from ecoradar.metrics.model import Metric

    views = Metric(
        name="views",
        description="Views",
        table="impressions",
        kind="count",
        dimensions=["region", "app_version"],
        category="traffic_balance",
    )
    child = {"region": "JP", "app_version": "34.3.0"}
    expl = Explanation(metric="views", scope=JP, date=D0, root_causes=[RootCause(child, 0.9, 10.0, 100.0)])
    [group] = group_day([anomaly(JP, metric="views")], [expl], catalog={"views": views})
    assert group.scope == JP
    rate = views.model_copy(update={"kind": "ratio", "numerator": "liked", "denominator": "1"})
    [group] = group_day([anomaly(JP, metric="views")], [expl], catalog={"views": rate})
    assert group.scope == child


def test_grouping_rules():
    same_day = [
        anomaly(JP),
        anomaly(JP_PHOTO),  # overlapping: one group
        anomaly({"region": "US"}),  # disjoint slice: its own group
        anomaly(JP, observed=0.2),  # other direction: its own group
        anomaly(JP, metric="photo_share__for_you"),  # same family, overlapping: joins the JP group
        anomaly(JP, metric="like_rate"),  # other family
    ]
    groups = group_day(same_day)
    sizes = sorted(
        (g.fingerprint.hint["contributes"]["family"], g.primary.anomaly.direction, len(g.members)) for g in groups
    )
    assert sizes == [
        ("like_rate", "down", 1),
        ("photo_share", "down", 1),
        ("photo_share", "down", 3),
        ("photo_share", "up", 1),
    ]
    assert len({g.fingerprint.value for g in groups}) == 4


def test_grouping_is_stable_under_input_order():
    items = [anomaly(JP), anomaly(JP_PHOTO), anomaly({"region": "US"}), anomaly({"os": "ios"}, metric="like_rate")]
    first = [(g.fingerprint.value, g.scope) for g in group_day(items)]
    assert first == [(g.fingerprint.value, g.scope) for g in group_day(items[::-1])]


def test_issue_accumulates_adjacent_days_and_overlapping_slices(store):  # noqa: F811
    ingest(store, day(0), [anomaly(JP, day(0), start=day(-2))])
    ingest(store, day(1), [anomaly(JP_PHOTO, day(1))])  # overlapping slice next day: same issue
    summary = ingest(store, day(2), [anomaly(JP, day(2), observed=0.05)])
    assert (summary.new, summary.ongoing) == (0, 1)
    [issue] = all_issues(store)
    assert (issue["first_seen"], issue["last_seen"], issue["times_seen"]) == ("2026-02-10", "2026-02-12", 3)
    assert issue["start_date"] == "2026-02-08"
    assert [d["date"] for d in issue["days"]] == ["2026-02-10", "2026-02-11", "2026-02-12"]
    assert issue["observed"] == 0.05  # the strongest day
    assert issue["title"].endswith("since 2026-02-08 (5.0% vs 12.0% expected)")


def test_a_family_sibling_extends_the_issue_without_relabelling_it(store):  # noqa: F811
    ingest(store, day(0), [anomaly(JP, day(0))])
    ingest(store, day(1), [anomaly(JP, day(1), metric="photo_share__for_you", observed=0.01, expected=0.5)])
    [issue] = all_issues(store)
    assert (issue["metric"], issue["times_seen"], issue["observed"], issue["expected"]) == (
        "photo_share",
        2,
        0.08,
        0.12,
    )


def test_severity_grows_with_duration_and_escalation_notifies(store):  # noqa: F811
    small = dict(exposure=0.02)  # 2% of the platform, -33%: 0.0067 a day
    first = ingest(store, day(0), [anomaly(JP, day(0), **small)])
    assert first.notify == []
    priorities = [all_issues(store)[0]["priority"]]
    for n in range(1, 5):
        summary = ingest(store, day(n), [anomaly(JP, day(n), **small)])
        priorities.append(all_issues(store)[0]["priority"])
    assert priorities == ["P2", "P2", "P2", "P2", "P1"]
    assert [e["event"] for e in summary.notify] == ["issue.escalated"]
    kinds = [h["kind"] for h in all_issues(store)[0]["history"]]
    assert kinds.count("priority_change") == 1


def test_new_high_priority_issues_are_notified(store):  # noqa: F811
    summary = ingest(store, D0, [anomaly({}, observed=0.06, expected=0.12), anomaly({"region": "US"}, exposure=0.001)])
    assert [(e["event"], e["priority"]) for e in summary.notify] == [("issue.new", "P0")]


# ------------------------------------------------------------------------------------ recovery and regression
def test_recovered_after_quiet_days_then_ongoing_again(store):  # noqa: F811
    ingest(store, day(0), [anomaly(JP, day(0))])
    assert [ingest(store, day(n), []).recovered for n in (1, 2, 3)] == [0, 0, 1]
    [issue] = all_issues(store)
    assert (issue["status"], issue["substatus"]) == ("new", "recovered")  # not resolved: people resolve
    summary = ingest(store, day(9), [anomaly(JP, day(9))])  # same fingerprint weeks later: same issue
    assert (summary.new, summary.ongoing) == (0, 1)
    [issue] = all_issues(store)
    assert issue["substatus"] == "ongoing" and issue["times_seen"] == 2
    assert [h["kind"] for h in issue["history"]] == ["created", "recovered", "ongoing"]


def test_resolved_issue_that_fires_again_reopens_as_regressed(store):  # noqa: F811
    ingest(store, day(0), [anomaly(JP, day(0))])
    with store.session() as session:
        service.transition(session, service.get_issue(session, 1), "resolved", actor="ann", fix_date=day(2))
    tail = ingest(store, day(2), [anomaly(JP, day(2))])  # on the fix day: the fix's tail, not a regression
    assert (tail.regressed, all_issues(store)[0]["status"]) == (0, "resolved")
    summary = ingest(store, day(6), [anomaly(JP, day(6))])
    assert (summary.new, summary.regressed) == (0, 1)
    assert [e["event"] for e in summary.notify] == ["issue.regressed"]
    [issue] = all_issues(store)
    assert (issue["status"], issue["substatus"], issue["resolved_at"]) == ("regressed", "ongoing", None)
    [reopen] = [h for h in issue["history"] if h["kind"] == "regression"]
    assert (reopen["from"], reopen["to"], reopen["actor"]) == ("resolved", "regressed", "ecoradar-run")


def test_false_positive_suppresses_the_fingerprint_and_counts_in_precision(store):  # noqa: F811
    ingest(store, day(0), [anomaly(JP, day(0)), anomaly({"region": "US"}, day(0))])
    with store.session() as session:
        jp = next(i for i in service.list_issues(session)[0] if i.scope == JP)
        service.transition(session, jp, "false_positive", actor="ann", note="a holiday")
    summary = ingest(store, day(5), [anomaly(JP, day(5))])
    assert (summary.new, summary.suppressed) == (0, 1)
    issues = all_issues(store)
    assert len(issues) == 2
    assert next(i for i in issues if i["scope"] == JP)["times_seen"] == 1
    with store.session() as session:
        assert service.metric_precision(session) == [
            {"metric": "photo_share", "issues": 2, "judged": 1, "false_positive": 1, "precision": 0.0}
        ]


# -------------------------------------------------------------------------------- idempotence and atomicity
def test_ingesting_the_same_day_twice_changes_nothing(store):  # noqa: F811
    batch = [anomaly(JP), anomaly({"region": "US"}, observed=0.2)]
    first = ingest(store, D0, batch)
    before = dump(store)
    again = ingest(store, D0, batch)
    assert again.skipped and (again.new, again.notify) == (first.new, [])
    assert dump(store) == before


def test_an_error_mid_day_leaves_the_store_as_before(store):  # noqa: F811
    ingest(store, day(0), [anomaly(JP, day(0))])
    before = dump(store)
    # the unknown metric sorts last, so JP (ongoing) and US (new) are written before the error
    broken = [anomaly(JP, day(1)), anomaly({"region": "US"}, day(1)), anomaly(JP, day(1), metric="zz_unknown")]
    with pytest.raises(NotFound, match="unknown metric 'zz_unknown'"):
        ingest(store, day(1), broken)
    assert dump(store) == before
    assert ingest(store, day(1), broken[:2]).new == 1  # and the day can be ingested afterwards


def _ingest_and_die(url: str) -> None:
    """In a forked child: start ingesting a day and SIGKILL the process once its rows are flushed, not committed."""
    flushes = []

    @event.listens_for(Session, "after_flush")
    def _die(session, ctx):
        flushes.append(1)
        if len(flushes) == 4:
            os.kill(os.getpid(), signal.SIGKILL)

    child = open_store(url)
    with child.session() as session:
        ingest_day(session, day(1), [anomaly({"region": r}, day(1)) for r in ("JP", "US", "BR", "DE")], [], catalog())
    os._exit(0)  # not reached: the listener kills the process first


def test_a_kill_mid_day_leaves_the_store_as_before(store):  # noqa: F811
    ingest(store, day(0), [anomaly(JP, day(0))])
    before = dump(store)
    store.engine.dispose()
    proc = multiprocessing.get_context("fork").Process(target=_ingest_and_die, args=(store.url,))
    proc.start()
    proc.join(timeout=120)
    assert proc.exitcode == -signal.SIGKILL
    assert dump(store) == before
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Run)) == 1
    assert ingest(store, day(1), [anomaly(JP, day(1))]).ongoing == 1  # the day was not half-written


def test_run_days_only_produces_missing_days(store):  # noqa: F811
    produced = []

    def produce(date):
        produced.append(date)
        return [anomaly(JP, date)], []

    out = run_days(store, [day(1), day(0)], produce, catalog())
    assert [s.date for s in out] == [day(0), day(1)] and [s.new for s in out] == [1, 0]
    again = run_days(store, [day(0), day(1), day(2)], produce, catalog())
    assert produced == [day(0), day(1), day(2)]
    assert [s.skipped for s in again] == [True, True, False]
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(IssueDay)) == 3
        assert session.scalar(select(func.count()).select_from(Issue)) == 1
