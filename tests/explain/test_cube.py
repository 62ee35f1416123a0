"""explain() on constructed cubes with known root causes, the mix/rate split and related events."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from worlds import cube

from ecoradar.errors import InputError, NotFound
from ecoradar.explain.cube import explain
from ecoradar.explain.events import overlap, parse_scope, related_events
from ecoradar.explain.mixrate import mix_rate_split
from ecoradar.metrics.model import Metric

METRIC = Metric(
    name="report_rate",
    description="reports per view",
    table="impressions",
    kind="ratio",
    numerator="reports",
    denominator="views",
    dimensions=["region", "format", "os"],
    category="user_experience",
)


@pytest.mark.parametrize(
    "causes",
    [[{"region": "JP"}], [{"region": "ID", "format": "photo"}], [{"region": "JP"}, {"format": "live"}]],
    ids=["single", "combination", "two-dimensions"],
)
def test_explain_ranks_the_true_slices(causes):
    rows, day = cube(rate_causes=causes)
    ex = explain(rows, METRIC, date=day)
    got = {tuple(sorted(rc.scope.items())) for rc in ex.root_causes}
    assert got == {tuple(sorted(c.items())) for c in causes}
    assert ex.label != "mix_shift"


def test_explain_inside_a_slice_keeps_the_scope():
    rows, day = cube(rate_causes=[{"region": "ID", "format": "photo"}])
    ex = explain(rows, METRIC, date=day, scope={"region": "ID"})
    assert ex.root_causes[0].scope == {"region": "ID", "format": "photo"}


def test_pure_mix_shift_is_labelled_mix_shift():
    rows, day = cube(mix_to={"region": "BR"})
    ex = explain(rows, METRIC, date=day)
    assert ex.label == "mix_shift"
    top = ex.mix_rate[0]
    assert top.dimension == "region"
    assert abs(top.rate_effect) < 0.05 * abs(top.mix_effect)
    assert top.mix_effect + top.rate_effect == pytest.approx(top.total_change)
    assert ex.root_causes[0].scope == {"region": "BR"}  # where the traffic went


def test_mix_rate_parts_add_up_and_label_rate_change():
    seg = pd.DataFrame(
        {"num_before": [10, 40], "den_before": [100, 100], "num_after": [30, 40], "den_after": [100, 100]}
    )
    s = mix_rate_split(seg, "format")
    assert (s.mix_effect, s.label) == (0.0, "rate_change")
    assert s.rate_effect == pytest.approx(s.total_change) == pytest.approx(0.1)


def test_events_rank_by_overlap_and_timing():
    start = dt.date(2026, 3, 29)
    events = pd.DataFrame(
        {
            "ts": pd.to_datetime(["2026-03-29", "2026-03-28", "2026-03-29", "2026-03-10", "2026-03-29"]),
            "kind": ["policy_change", "holiday", "launch", "incident", "launch"],
            "name": ["spam policy ID", "holiday", "photo launch", "old outage", "JP launch"],
            "scope": ["region=ID", "", "format=photo", "region=ID", "region=JP"],
            "description": [""] * 5,
        }
    )
    ranked = related_events(events, start=start, causes=[{"region": "ID", "creator_age": "new"}])
    assert [e.name for e in ranked] == ["spam policy ID", "holiday", "photo launch"]
    assert parse_scope("region=BR, format=photo") == {"region": "BR", "format": "photo"}
    assert parse_scope("") == {} and overlap({}, {"region": "ID"}) > 0
    with pytest.raises(InputError, match="not dim=value"):
        parse_scope("region")


def test_explain_attaches_the_related_event():
    rows, day = cube(rate_causes=[{"region": "JP"}])
    events = pd.DataFrame(
        {
            "ts": pd.to_datetime([str(day), str(day)]),
            "kind": ["launch", "holiday"],
            "name": ["jp app", "global"],
            "scope": ["region=JP", ""],
            "description": ["", ""],
        }
    )
    assert explain(rows, METRIC, date=day, events=events).events[0].name == "jp app"


def test_bad_input():
    rows, day = cube()
    with pytest.raises(NotFound, match="did you mean 'region'"):
        explain(rows, METRIC, date=day, scope={"regoin": "JP"})
    with pytest.raises(InputError, match="outside the data"):
        explain(rows, METRIC, date=day + dt.timedelta(days=5))
    with pytest.raises(InputError, match="too little data"):
        explain(rows, METRIC, date=day - dt.timedelta(days=27))
    with pytest.raises(InputError, match="too deep"):
        explain(rows, METRIC, date=day, scope={"region": "JP", "os": "ios"})


def test_platform_wide_change_blames_the_whole_scope():
    rows, day = cube(rate_causes=[{}])
    ex = explain(rows, METRIC, date=day)
    assert [rc.scope for rc in ex.root_causes] == [{}]


def test_pooled_window_after_the_start():
    rows, day = cube(rate_causes=[{"region": "ID", "format": "photo"}], change_days=3)
    ex = explain(rows, METRIC, date=day, change_start=day - dt.timedelta(days=2))
    assert ex.root_causes[0].scope == {"region": "ID", "format": "photo"}
    with pytest.raises(InputError, match="after the day"):
        explain(rows, METRIC, date=day - dt.timedelta(days=3), change_start=day)


@pytest.mark.parametrize("cause", [{"region": "JP"}, {"region": "ID", "format": "photo"}])
def test_sparse_counts_are_judged_with_their_denominators(cause):
    # ~1-4 reports a day per leaf: daily rates are mostly 0 or 1/views, so only pooled counts show the change
    rows, day = cube(rate_causes=[cause], change_days=3, views_scale=0.002, poisson=True, seed=11)
    ex = explain(rows, METRIC, date=day, change_start=day - dt.timedelta(days=2))
    assert ex.root_causes[0].scope == cause


def _versioned(causes: list[dict[str, str]]):
    """The report-rate cube with `os` read as an app version (ios: 34.2.0, android: 34.3.0)."""
    rows, day = cube(rate_causes=causes, rate_factor=1.5)
    rows = rows.assign(app_version=rows["os"].map({"ios": "34.2.0", "android": "34.3.0"}), os=None)
    rows["app_version"] = rows["app_version"].astype(object).where(rows["app_version"].notna(), None)
    return rows, day, METRIC.model_copy(update={"dimensions": ["region", "format", "app_version"]})


def test_a_concentration_is_not_blamed_on_an_app_versions_adoption():
    # a new app version's top 1% share rises with its audience (adoption, as a rollout grows): no cause. A rate in the
    # version's slice is one (a client bug).
    version = {"app_version": "34.3.0", "format": "live"}
    rows, day, rate = _versioned([{"os": "android", "format": "live"}])
    assert [rc.scope for rc in explain(rows, rate, date=day).root_causes] == [version]
    share = rate.model_copy(update={"name": "top1pct_creator_share", "kind": "top_share", "entity": "creator_id"})
    causes = explain(rows.assign(metric=share.name), share, date=day).root_causes
    assert all("app_version" not in rc.scope for rc in causes)
    rows, day, rate = _versioned([{"os": "android", "format": "live"}, {"region": "JP"}])
    causes = explain(rows.assign(metric=share.name), share, date=day).root_causes
    assert causes[0].scope == {"region": "JP"} and all("app_version" not in rc.scope for rc in causes)
