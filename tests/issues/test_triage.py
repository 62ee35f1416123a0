"""Taxonomy and triage: exposure, severity, priority thresholds, titles; owner routing from YAML."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from ecoradar.errors import InputError
from ecoradar.issues import triage
from ecoradar.issues.routing import DEFAULT_ROUTING, load_routing, parse_routing
from store.storetests import anomaly, catalog


@pytest.mark.parametrize(
    "severity, priority", [(0.5, "P0"), (0.10, "P0"), (0.099, "P1"), (0.03, "P1"), (0.01, "P2"), (0.004, "P3")]
)
def test_priority_thresholds(severity, priority):
    assert triage.priority_of(severity) == priority


def test_a_move_in_the_metrics_good_direction_is_at_most_p2():
    viewers = catalog()["photo_share"].model_copy(update={"direction": "up_is_good"})
    assert triage.priority_of(0.5, viewers, "up") == "P2"
    assert triage.priority_of(0.5, viewers, "down") == "P0"
    assert triage.priority_of(0.004, viewers, "up") == "P3"
    neutral = viewers.model_copy(update={"direction": "neutral"})
    assert triage.priority_of(0.5, neutral, "up") == "P0"


def test_impact_caps_the_relative_deviation():
    assert triage.impact_of(0.5, -0.3) == pytest.approx(0.15)
    assert triage.impact_of(0.5, 700.0) == pytest.approx(0.5)


def test_severity_is_impact_times_capped_duration():
    assert triage.severity(0.02, 3) == pytest.approx(0.06)
    assert triage.severity(0.02, 30) == pytest.approx(0.02 * triage.DURATION_CAP)
    assert triage.severity(0.02, 0) == pytest.approx(0.02)


def test_exposure_sources_in_order():
    assert triage.exposure_of(anomaly({"region": "JP"}, exposure=0.3)) == 0.3
    with_denominator = dataclasses.replace(anomaly({"region": "JP"}), denominator=250.0)
    assert triage.exposure_of(with_denominator, {"photo_share": 1000.0}) == 0.25
    assert triage.exposure_of(anomaly({})) == 1.0
    assert triage.exposure_of(anomaly({"region": "JP", "os": "ios"})) == pytest.approx(1 / 16)
    counts = catalog()["photo_share"].model_copy(update={"name": "views", "kind": "count", "entity": None})
    views = anomaly({"region": "JP"}, metric="views", observed=150.0, expected=200.0)
    assert triage.exposure_of(views, {"views": 1000.0}, counts) == 0.2  # a count's size is its value
    entropy = counts.model_copy(update={"kind": "entropy"})
    assert triage.exposure_of(dataclasses.replace(views, denominator=4.0), {"views": 4.0}, entropy) == pytest.approx(
        1 / 8
    )  # an entropy's denominator counts categories, not traffic: a guess


def test_titles_read_like_sentences():
    metrics = catalog()
    title = triage.title_of(
        "photo_share",
        metrics["photo_share"],
        {"region": "JP", "format": "photo"},
        observed=0.079,
        expected=0.12,
        start=dt.date(2026, 2, 10),
    )
    assert title == "Photo share of impressions down 34% for photo in JP since 2026-02-10 (7.9% vs 12.0% expected)"
    title = triage.title_of(
        "like_rate", metrics["like_rate"], {}, observed=0.066, expected=0.06, start=dt.date(2026, 3, 1)
    )
    assert title == "Like rate up 10% platform-wide since 2026-03-01"
    share = metrics["photo_share"].model_copy(update={"name": "format_share"})
    title = triage.title_of(
        "format_share",
        share,
        {"region": "JP", "format": "short_video"},
        observed=0.5,
        expected=0.4,
        start=dt.date(2026, 3, 1),
    )
    assert title == "Short video share of impressions up 25% in JP since 2026-03-01 (50.0% vs 40.0% expected)"
    title = triage.title_of(
        "photo_share",
        metrics["photo_share"],
        {"tier": "micro", "creator_age": "new"},
        observed=0.003,
        expected=-0.00001,
        start=dt.date(2026, 3, 1),
    )
    assert title == "Photo share of impressions up to 0.3% from 0.0% for new micro creators since 2026-03-01"
    assert triage.title_of(
        "watch_hours", None, {"os": "ios"}, observed=1, expected=1.004, start=dt.date(2026, 3, 1)
    ).startswith("Watch hours down 0.4% on ios")


def test_category_comes_from_the_metric():
    assert triage.category_of(catalog()["removal_rate"]) == "moderation"


def test_default_routing_file():
    routing = load_routing(DEFAULT_ROUTING)
    route = routing.route
    assert (
        route(category="moderation", metric="removal_rate", scope={"policy": "minor_safety"}) == "trust-safety-minors"
    )
    assert route(category="moderation", metric="removal_rate", scope={"policy": "spam"}) == "trust-and-safety"
    assert route(category="traffic_balance", metric="photo_share", scope={"format": "live"}) == "live-ranking"
    assert route(category="user_experience", metric="like_rate", scope={"os": "ios"}) == "client-apps"


def test_routing_override_by_file_and_env(tmp_path, monkeypatch):
    path = tmp_path / "routing.yaml"
    path.write_text(
        "default: core\nrules:\n"
        "  - match: {metric: 'photo_*', scope: {region: [JP, KR]}}\n    owner: apac-feed\n"
        "  - match: {category: [supply, diversity]}\n    owner: creators\n"
    )
    monkeypatch.setenv("ECORADAR_ROUTING", str(path))
    routing = load_routing()
    assert routing.route(category="traffic_balance", metric="photo_share", scope={"region": "KR"}) == "apac-feed"
    assert routing.route(category="traffic_balance", metric="photo_share", scope={"region": "US"}) == "core"
    assert routing.route(category="supply", metric="uploads", scope={}) == "creators"
    assert routing.route(category="moderation", metric="x", scope={}, metric_owner="tns") == "tns"


@pytest.mark.parametrize(
    "text, message",
    [
        ("rules: [", "not valid YAML"),
        ("rules:\n  - match: {category: supply}\n", "rule 1 needs 'owner'"),
        ("rules:\n  - match: {team: x}\n    owner: y\n", "rule 1 has unknown condition 'team'; allowed: category"),
        ("rules:\n  - match: {scope: [a]}\n    owner: y\n", "'scope' must map dimension"),
    ],
)
def test_bad_routing_files_say_what_is_wrong(text, message):
    with pytest.raises(InputError, match=message):
        parse_routing(text, "r.yaml")


def test_missing_routing_file(tmp_path):
    with pytest.raises(InputError, match="cannot read routing file"):
        load_routing(tmp_path / "nope.yaml")
