"""Fingerprints: snapshots per input file (Sentry style), stability, placeholders, the config registry."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from ecoradar.errors import NotFound
from ecoradar.issues.fingerprint import fingerprint, get_config, overlaps, refines

CASES = sorted((Path(__file__).parent / "fingerprints").glob("*.json"))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_fingerprint_snapshots(path):
    case = json.loads(path.read_text())
    fp = fingerprint(case["metric"], case["scope"], case["direction"], config=case["expected"]["config"])
    assert {"value": fp.value, "config": fp.config, "hint": fp.hint} == case["expected"]


def test_snapshots_encode_the_grouping_rules():
    cases = {p.stem: json.loads(p.read_text())["expected"] for p in CASES}
    assert cases["family_variant"]["value"] == cases["region_format"]["value"]  # same family, same slice
    assert cases["dated_model"]["hint"]["placeholders"] == ["model_version"]
    assert cases["entity_id"]["hint"]["contributes"]["scope"] == {"app_version": "5.2.1", "category": "<int>"}


def test_key_order_and_variable_values_do_not_change_the_fingerprint():
    a = fingerprint("removal_rate", {"policy": "spam", "model_version": "2026-02-01"}, "up")
    b = fingerprint("removal_rate", {"model_version": "2026-03-15", "policy": "spam"}, "up")
    assert a.value == b.value


def test_direction_slice_and_family_change_the_fingerprint():
    base = fingerprint("photo_share", {"region": "JP"}, "down").value
    assert fingerprint("photo_share", {"region": "JP"}, "up").value != base
    assert fingerprint("photo_share", {"region": "US"}, "down").value != base
    assert fingerprint("like_rate", {"region": "JP"}, "down").value != base


def test_unknown_config_suggests_the_closest():
    with pytest.raises(NotFound, match=r"unknown fingerprint config 'fingerprint:v3' \(did you mean 'fingerprint:v"):
        get_config("fingerprint:v3")
    assert get_config("fingerprint:v1").changelog and get_config("fingerprint:v2").changelog


def test_v2_groups_a_declared_family_by_worse_or_better():
    uploads = SimpleNamespace(family="supply", direction="up_is_good")
    creators = SimpleNamespace(family="supply", direction="up_is_good")
    gini = SimpleNamespace(family="concentration", direction="down_is_good")
    shown = SimpleNamespace(family="concentration", direction="up_is_good")
    scope = {"tier": "micro"}
    assert (
        fingerprint("uploads", scope, "down", definition=uploads).value
        == fingerprint("active_creators", scope, "down", definition=creators).value
    )
    # a higher Gini and fewer creators shown are both worse: one concentration problem
    up, down = fingerprint("gini", scope, "up", definition=gini), fingerprint("shown", scope, "down", definition=shown)
    assert up.value == down.value and up.hint["contributes"]["direction"] == "worse"
    assert fingerprint("gini", scope, "down", definition=gini).value != up.value
    # without a definition (or under v1) the metric's own name and raw direction count, as before
    assert fingerprint("uploads", scope, "down").hint["contributes"] == {
        "family": "uploads",
        "scope": scope,
        "direction": "down",
    }
    v1 = fingerprint("uploads", scope, "down", config="fingerprint:v1", definition=uploads)
    assert v1.hint["contributes"]["family"] == "uploads"


@pytest.mark.parametrize(
    "a, b, overlap",
    [
        ({}, {"region": "JP"}, True),
        ({"region": "JP"}, {"format": "photo"}, True),
        ({"region": "JP"}, {"region": "US"}, False),
        ({"region": "JP", "os": "ios"}, {"region": "JP"}, True),
    ],
)
def test_overlaps(a, b, overlap):
    assert overlaps(a, b) is overlap and overlaps(b, a) is overlap


def test_refines():
    assert refines({"region": "JP", "format": "photo"}, {"region": "JP"})
    assert refines({"region": "JP"}, {})
    assert not refines({"region": "JP"}, {"region": "JP"})
    assert not refines({"region": "US", "format": "photo"}, {"region": "JP"})


def test_quantiles_and_variants_of_a_metric_are_one_family():
    scope = {"source": "human"}
    p50 = fingerprint("review_latency_p50_h", scope, "up")
    assert p50.value == fingerprint("review_latency_p90_h", scope, "up").value
    assert p50.hint["contributes"]["family"] == "review_latency_h"
    assert fingerprint("top1pct_creator_share", scope, "up").hint["contributes"]["family"] == "top1pct_creator_share"
