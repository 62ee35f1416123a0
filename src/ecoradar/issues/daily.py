"""The daily job: one day's anomalies and explanations -> new, ongoing, regressed and recovered issues.

Each day is ingested in ONE transaction together with its row in `runs`, so a day is either fully in
the store or not at all: re-ingesting a day changes nothing, and a crash or kill mid-day leaves the store
as it was.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ecoradar.detect.cube import ROLLOUT_DIMS
from ecoradar.detect.records import Anomaly
from ecoradar.errors import unknown
from ecoradar.explain.records import CreatorDrivers, Explanation, RootCause
from ecoradar.issues import service, triage
from ecoradar.issues.fingerprint import DEFAULT_CONFIG, Fingerprint, fingerprint, get_config, overlaps, refines
from ecoradar.issues.lifecycle import IssueStatus, IssueSubStatus
from ecoradar.issues.routing import Routing, load_routing
from ecoradar.metrics.model import Metric
from ecoradar.progress import progress
from ecoradar.store.engine import Store
from ecoradar.store.models import Issue, IssueActivity, IssueDay, Run, Suppression, utcnow

#: Quiet days after which an ongoing issue is marked recovered.
RECOVERY_DAYS = 3
#: Share of a parent's change a child slice must explain for the issue to be scoped to the child.
DOMINANT_SHARE = 0.5
#: Actor name in the history for everything the daily run does.
ACTOR = "ecoradar-run"
#: Priorities that notify when an issue opens or escalates into them.
NOTIFY_PRIORITIES = ("P0", "P1")

Producer = Callable[[dt.date], tuple]
"""date -> (anomalies, explanations) or (anomalies, explanations, totals): what detect + explain found that day."""

DriverCheck = Callable[[Anomaly, Mapping[str, str]], CreatorDrivers | None]
"""(anomaly, slice) -> how much of the change in that slice its few largest creators make (None: not measurable)."""


@dataclass
class DaySummary:
    """What one day did to the store; `notify` lists the events the notifier should send."""

    date: dt.date
    new: int = 0
    ongoing: int = 0
    regressed: int = 0
    recovered: int = 0
    suppressed: int = 0
    creator_events: int = 0
    """Groups not opened as issues: a few creators made the change (see `ecoradar.explain.creators`)."""
    skipped: bool = False
    """True when the day had been ingested before (nothing changed)."""
    notify: list[dict[str, Any]] = field(default_factory=list)
    """[{event: issue.new | issue.regressed | issue.escalated, issue_id, short_id, priority, title}]"""

    def counts(self) -> dict[str, int]:
        """The counters as a dict (stored in runs.counts)."""
        keys = ("new", "ongoing", "regressed", "recovered", "suppressed", "creator_events")
        return {k: getattr(self, k) for k in keys}


@dataclass
class Member:
    """One anomaly as part of a day's group, seen at the slice that explains it."""

    anomaly: Anomaly
    scope: dict[str, str]
    """The slice the problem is in: the anomaly's, or the child root cause that explains it."""
    observed: float
    expected: float
    exposure: float
    deviation: float
    explanation: Explanation | None

    @property
    def impact(self) -> float:
        """exposure x |relative deviation| (capped) of the issue's slice."""
        return triage.impact_of(self.exposure, self.deviation)


@dataclass
class Group:
    """Anomalies of one day that are one problem: same metric family and direction, overlapping slices."""

    members: list[Member]
    primary: Member
    fingerprint: Fingerprint

    @property
    def scope(self) -> dict[str, str]:
        """The issue's scope: that of the strongest member."""
        return self.primary.scope


def _key(metric: str, scope: Mapping[str, str], date: dt.date) -> tuple:
    return metric, tuple(sorted(scope.items())), date


def _into_rollout(child: Mapping[str, str], parent: Mapping[str, str], metric: Metric | None) -> bool:
    """Whether moving a volume's issue to `child` would fix an app or model version: a count there follows the
    version's adoption curve (detection does not judge such slices), so the parent is where the change is."""
    if metric is None or metric.is_ratio:
        return False
    return any(d in child and d not in parent for d in ROLLOUT_DIMS)


def _against(cause: RootCause, anomaly: Anomaly) -> bool:
    """Whether a root cause moved the other way than the anomaly (its explanation pooled days on which the slice
    went up while the anomaly's own day went down): the issue would read "up 121%" in a slice that fell."""
    if cause.observed is None or cause.expected is None or cause.observed == cause.expected:
        return False
    return (cause.observed > cause.expected) != (anomaly.direction == "up")


def _member(anomaly: Anomaly, explanation: Explanation | None, totals, metric, dominant: float) -> Member:
    exposure = triage.exposure_of(anomaly, totals, metric)
    observed, expected, deviation = anomaly.observed, anomaly.expected, anomaly.relative_deviation
    scope = dict(anomaly.scope)
    causes = explanation.root_causes if explanation else []
    top = max(causes, key=lambda rc: rc.contribution, default=None)
    if (
        top is not None
        and top.contribution >= dominant
        and refines(top.scope, anomaly.scope)
        and not _into_rollout(top.scope, anomaly.scope, metric)
        and not _against(top, anomaly)
    ):
        scope = dict(top.scope)
        impact = triage.impact_of(exposure, deviation) * top.contribution
        if top.observed is not None and top.expected:
            observed, expected = top.observed, top.expected
            deviation = (observed - expected) / abs(expected)
            capped = triage.impact_of(1.0, deviation)
            exposure = min(exposure, impact / capped) if capped else exposure * top.contribution
        else:
            exposure *= top.contribution
    return Member(anomaly, scope, observed, expected, exposure, deviation, explanation)


def _clusters(members: list[Member]) -> list[list[Member]]:
    """Connected components of members whose slices overlap (union-find; a day has few anomalies per family)."""
    parent = list(range(len(members)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(members)):
        for j in range(i + 1, len(members)):
            if overlaps(members[i].scope, members[j].scope):
                parent[find(i)] = find(j)
    clusters: dict[int, list[Member]] = defaultdict(list)
    for i, m in enumerate(members):
        clusters[find(i)].append(m)
    return list(clusters.values())


def group_day(
    anomalies: Iterable[Anomaly],
    explanations: Mapping[Any, Explanation] | Iterable[Explanation] = (),
    *,
    totals: Mapping[str, float] | None = None,
    config: str = DEFAULT_CONFIG,
    dominant: float = DOMINANT_SHARE,
    catalog: Any = None,
) -> list[Group]:
    """Group one day's anomalies: same family and direction, overlapping (explained) slices -> one group.

    A parent anomaly whose top root cause is a sub-slice explaining at least `dominant` of the change is
    seen at that sub-slice, so the parent and the child's own anomaly become one group scoped to the child.
    """
    cfg = get_config(config)
    values = explanations.values() if isinstance(explanations, Mapping) else explanations
    index = {_key(e.metric, e.scope, e.date): e for e in values}
    buckets: dict[tuple[str, str], list[Member]] = defaultdict(list)
    definitions: dict[str, Metric | None] = {}
    for a in anomalies:
        metric = definitions.setdefault(a.metric, _metric(catalog, a.metric, strict=False))
        member = _member(a, index.get(_key(a.metric, a.scope, a.date)), totals, metric, dominant)
        buckets[cfg.family_of(a.metric, metric), cfg.direction_of(a.direction, metric)].append(member)
    groups = []
    for _bucket, members in sorted(buckets.items()):
        for cluster in _clusters(members):
            primary = max(cluster, key=lambda m: (m.impact, len(m.scope), m.anomaly.metric))
            a = primary.anomaly
            fp = fingerprint(a.metric, primary.scope, a.direction, config=cfg.id, definition=definitions[a.metric])
            groups.append(Group(cluster, primary, fp))
    return sorted(groups, key=lambda g: (g.primary.anomaly.metric, sorted(g.scope.items()), g.fingerprint.value))


def _metric(catalog: Any, name: str, *, strict: bool = True) -> Metric | None:
    """The catalog's metric `name` (None without a catalog); an unknown name is NotFound when strict."""
    if catalog is None:
        return None
    metrics = getattr(catalog, "metrics", catalog)
    if not isinstance(metrics, Mapping):
        metrics = {m.name: m for m in metrics}
    if name in metrics:
        return metrics[name]
    if strict:
        raise unknown("metric", name, list(metrics))
    return None


def _explanation_fields(expl: Explanation | None) -> dict[str, list]:
    if expl is None:
        return {}
    return {
        "root_causes": [
            {"scope": dict(rc.scope), "contribution": rc.contribution, "observed": rc.observed, "expected": rc.expected}
            for rc in expl.root_causes
        ],
        "related_events": [
            {"ts": ev.ts.isoformat(), "kind": ev.kind, "name": ev.name, "scope": dict(ev.scope), "score": ev.score}
            for ev in expl.events
        ],
        "mix_rate": [
            {
                "dimension": s.dimension,
                "total_change": s.total_change,
                "mix_effect": s.mix_effect,
                "rate_effect": s.rate_effect,
                "label": s.label,
            }
            for s in expl.mix_rate
        ],
    }


def _candidates(
    session: Session, group: Group, date: dt.date, recovery_days: int, config: str, catalog: Any
) -> Issue | None:
    """An issue still going (seen within recovery_days) of the same family and direction overlapping the group."""
    cfg = get_config(config)
    rows = session.scalars(
        select(Issue)
        .where(Issue.status.not_in([IssueStatus.RESOLVED.value, IssueStatus.FALSE_POSITIVE.value]))
        .where(Issue.last_seen >= date - dt.timedelta(days=recovery_days))
        .where(Issue.last_seen <= date)
        .order_by(Issue.last_seen.desc(), Issue.severity.desc(), Issue.id)
    )

    def key(metric: str, direction: str) -> tuple[str, str]:
        definition = _metric(catalog, metric, strict=False)
        return cfg.family_of(metric, definition), cfg.direction_of(direction, definition)

    wanted = key(group.primary.anomaly.metric, group.primary.anomaly.direction)
    for issue in rows:
        if key(issue.metric, issue.direction) == wanted and any(overlaps(issue.scope, m.scope) for m in group.members):
            return issue
    return None


def _creator_event(group: Group, measure: DriverCheck | None) -> bool:
    """Whether the group's change is a few creators' doing (a viral newcomer, a prolific uploader who stopped).

    Such a change is a creator event, not an ecosystem issue: it opens no issue (an issue already open goes on).
    The explanation's own measurement is used when it has one; otherwise `measure` splits the change in the
    group's slice, so every would-be issue is checked, not only the day's strongest anomalies.
    """
    expl = group.primary.explanation
    drivers = expl.drivers if expl is not None else None
    if drivers is None and measure is not None:
        drivers = measure(group.primary.anomaly, group.scope)
    return drivers is not None and drivers.driven


def _start(group: Group, date: dt.date) -> dt.date:
    return min([date] + [m.anomaly.start for m in group.members if m.anomaly.start is not None])


def _own(group: Group, metric: str) -> Member:
    """The group's strongest member in the issue's own metric (a family sibling's values would mislabel the chart)."""
    same = [m for m in group.members if m.anomaly.metric == metric]
    return max(same, key=lambda m: m.impact) if same else group.primary


def _record_day(session: Session, issue: Issue, group: Group, date: dt.date) -> bool:
    """Add (or strengthen) the issue's point for `date`; True when the day is new for the issue."""
    m = _own(group, issue.metric)
    a = m.anomaly
    day = session.get(IssueDay, (issue.id, date))
    if day is None:
        session.add(
            IssueDay(
                issue_id=issue.id, date=date, observed=m.observed, expected=m.expected, score=a.score, q_value=a.q_value
            )
        )
        return True
    if a.score > (day.score or 0):
        day.observed, day.expected, day.score, day.q_value = m.observed, m.expected, a.score, a.q_value
    return False


def _apply_peak(issue: Issue, group: Group, metric: Metric | None) -> None:
    """Keep the strongest day's values (and its explanation), then re-derive severity and title."""
    p = _own(group, issue.metric)
    peak = triage.impact_of(issue.exposure or 0, issue.deviation or 0)
    if issue.observed is None or (p.anomaly.metric == issue.metric and p.impact >= peak):
        issue.observed, issue.expected, issue.deviation, issue.exposure = (
            p.observed,
            p.expected,
            p.deviation,
            p.exposure,
        )
        for key, value in _explanation_fields(p.explanation).items():
            setattr(issue, key, value)
    issue.severity = triage.severity(triage.impact_of(issue.exposure, issue.deviation), issue.times_seen)
    issue.title = triage.title_of(
        issue.metric, metric, issue.scope, observed=issue.observed, expected=issue.expected, start=issue.start_date
    )


def _notice(event: str, issue: Issue) -> dict[str, Any]:
    return {
        "event": event,
        "issue_id": issue.id,
        "short_id": issue.short_id,
        "priority": issue.priority,
        "title": issue.title,
    }


def _create(
    session: Session, group: Group, date: dt.date, metric: Metric | None, routing: Routing, actor: str
) -> Issue:
    p = group.primary
    category = triage.category_of(metric)
    issue = Issue(
        fingerprint=group.fingerprint.value,
        fingerprint_config=group.fingerprint.config,
        fingerprint_hint=group.fingerprint.hint,
        title="",
        category=category,
        kind=p.anomaly.kind,
        direction=p.anomaly.direction,
        priority="P3",
        status=IssueStatus.NEW.value,
        substatus=IssueSubStatus.ONGOING.value,
        owner=routing.route(
            category=category,
            metric=p.anomaly.metric,
            scope=group.scope,
            metric_owner=metric.owner if metric is not None else None,
        ),
        metric=p.anomaly.metric,
        scope=dict(group.scope),
        root_causes=[],
        related_events=[],
        mix_rate=[],
        start_date=_start(group, date),
        first_seen=date,
        last_seen=date,
        times_seen=1,
        created_at=utcnow(),
    )
    _apply_peak(issue, group, metric)
    issue.priority = triage.priority_of(issue.severity, metric, issue.direction)
    session.add(issue)
    session.flush()
    issue.short_id = service.short_id(issue.id)
    session.add(
        IssueActivity(
            issue=issue, ts=utcnow(), actor=actor, kind="created", to_value=IssueStatus.NEW.value, note=issue.title
        )
    )
    _record_day(session, issue, group, date)
    return issue


def _attach(
    session: Session,
    issue: Issue,
    group: Group,
    date: dt.date,
    metric: Metric | None,
    actor: str,
    summary: DaySummary,
    first_touch: bool,
) -> None:
    """Add a day's group to an existing issue: reopen if resolved, accumulate the day, re-derive priority."""
    before = issue.priority
    regressed = issue.status == IssueStatus.RESOLVED.value and date > (issue.fix_date or issue.last_seen)
    if regressed:
        service.mark_regressed(session, issue, actor=actor, note=f"fired again on {date}")
        summary.regressed += 1
    elif first_touch:
        summary.ongoing += 1
    if _record_day(session, issue, group, date):
        issue.times_seen += 1
    issue.first_seen = min(issue.first_seen, date)
    issue.last_seen = max(issue.last_seen, date)
    issue.start_date = min(issue.start_date, _start(group, date))
    if issue.substatus == IssueSubStatus.RECOVERED.value:
        service.mark_substatus(session, issue, IssueSubStatus.ONGOING, actor=actor, note=f"fired on {date}")
    _apply_peak(issue, group, metric)
    service.set_priority(session, issue, triage.priority_of(issue.severity, metric, issue.direction), actor=actor)
    if regressed:
        summary.notify.append(_notice("issue.regressed", issue))
    elif issue.priority in NOTIFY_PRIORITIES and before not in NOTIFY_PRIORITIES:
        summary.notify.append(_notice("issue.escalated", issue))


def ingest_day(
    session: Session,
    date: dt.date,
    anomalies: Iterable[Anomaly],
    explanations: Mapping[Any, Explanation] | Iterable[Explanation],
    catalog: Any,
    *,
    routing: Routing | None = None,
    totals: Mapping[str, float] | None = None,
    config: str = DEFAULT_CONFIG,
    recovery_days: int = RECOVERY_DAYS,
    actor: str = ACTOR,
    drivers: DriverCheck | None = None,
) -> DaySummary:
    """Turn one day's anomalies into issues, in one transaction (committed here, rolled back on any error).

    Args:
        session (Session): a session with no pending work of its own.
        date (date): the day being ingested.
        anomalies (list[Anomaly]): what detection found that day.
        explanations (dict | list[Explanation]): explanations of those anomalies (any mapping's values are used;
            matched to anomalies by metric, scope and date).
        catalog: the metric catalog: a mapping name -> Metric, an object with `.metrics`, or a list of Metric.
        routing (Routing | None): owner rules (default: load_routing()).
        totals (dict[str, float] | None): platform denominator per metric that day, for exposure.
        config (str): fingerprint config id for new issues.
        recovery_days (int): quiet days before an ongoing issue is marked recovered.
        actor (str): name in the history.
        drivers (DriverCheck | None): measures the creators behind a would-be issue whose explanation has not
            (see `_creator_event`); None trusts the explanations alone.

    Returns:
        DaySummary: counts plus `notify` (new P0/P1 issues, escalations to P0/P1, regressions); `skipped`
        when the day had been ingested before (then nothing changes and nothing is notified).
    """
    routing = routing or load_routing()
    summary = DaySummary(date=date)
    try:
        done = session.get(Run, date)
        if done is not None:
            session.rollback()
            return DaySummary(date=date, skipped=True, **{k: int(v) for k, v in (done.counts or {}).items()})
        run = Run(date=date, started=utcnow(), counts={})
        session.add(run)
        session.flush()
        suppressed = set(session.scalars(select(Suppression.fingerprint)))
        touched: set[int] = set()
        for group in group_day(anomalies, explanations, totals=totals, config=config, catalog=catalog):
            if group.fingerprint.value in suppressed:
                summary.suppressed += 1
                continue
            issue = session.scalar(select(Issue).where(Issue.fingerprint == group.fingerprint.value))
            if issue is None:
                issue = _candidates(session, group, date, recovery_days, config, catalog)
            if issue is not None and issue.status == IssueStatus.FALSE_POSITIVE.value:
                summary.suppressed += 1
                continue
            if issue is None and _creator_event(group, drivers):
                summary.creator_events += 1
                continue
            if issue is None:
                issue = _create(session, group, date, _metric(catalog, group.primary.anomaly.metric), routing, actor)
                touched.add(issue.id)
                summary.new += 1
                if issue.priority in NOTIFY_PRIORITIES:
                    summary.notify.append(_notice("issue.new", issue))
                continue
            first_touch = issue.id not in touched
            touched.add(issue.id)
            _attach(session, issue, group, date, _metric(catalog, issue.metric), actor, summary, first_touch)
        quiet = session.scalars(
            select(Issue)
            .where(Issue.substatus == IssueSubStatus.ONGOING.value)
            .where(Issue.last_seen <= date - dt.timedelta(days=recovery_days))
            .order_by(Issue.id)
        )
        for issue in quiet:
            service.mark_substatus(
                session,
                issue,
                IssueSubStatus.RECOVERED,
                actor=actor,
                note=f"normal for {recovery_days} days since {issue.last_seen}",
            )
            summary.recovered += 1
        run.finished = utcnow()
        run.counts = summary.counts()
        session.commit()
    except IntegrityError:
        session.rollback()
        if session.get(Run, date) is not None:  # another process ingested the same day meanwhile
            return ingest_day(session, date, [], [], catalog, routing=routing)
        raise
    except BaseException:
        session.rollback()
        raise
    return summary


def run_days(
    store: Store,
    dates: Iterable[dt.date],
    produce: Producer,
    catalog: Any,
    *,
    routing: Routing | None = None,
    config: str = DEFAULT_CONFIG,
    recovery_days: int = RECOVERY_DAYS,
    on_day: Callable[[DaySummary], None] | None = None,
    drivers: DriverCheck | None = None,
) -> list[DaySummary]:
    """Ingest days in date order; `produce(date)` is only called for days not ingested yet.

    Args:
        store (Store): the open store.
        dates (list[date]): days to ingest (sorted here).
        produce (Producer): date -> (anomalies, explanations[, totals]), e.g. cube -> detect -> explain.
        catalog: the metric catalog (see ingest_day).
        on_day: called with each day's summary (e.g. to send notifications).
        drivers: see ingest_day.

    Returns:
        list[DaySummary]: one per date, in order.
    """
    routing = routing or load_routing()
    dates = sorted(set(dates))
    out = []
    with progress() as bar:
        task = bar.add_task("ingesting days", total=len(dates))
        for date in dates:
            with store.session() as session:
                if session.get(Run, date) is not None:
                    summary = ingest_day(session, date, [], [], catalog, routing=routing)
                else:
                    anomalies, explanations, *rest = produce(date)
                    summary = ingest_day(
                        session,
                        date,
                        anomalies,
                        explanations,
                        catalog,
                        routing=routing,
                        totals=rest[0] if rest else None,
                        config=config,
                        recovery_days=recovery_days,
                        drivers=drivers,
                    )
            out.append(summary)
            if on_day is not None:
                on_day(summary)
            bar.advance(task)
    return out
