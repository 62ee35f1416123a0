"""explain() on constructed cubes: events name hypotheses in advance, slices without a baseline are not judged,
and a change is widened to the parent it covers."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from test_cube import METRIC
from worlds import cube

from ecoradar.explain.cube import explain

CAUSE = {"region": "ID", "format": "photo"}


def _event(day: dt.date, scope: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": pd.to_datetime([str(day)]),
            "kind": ["launch"],
            "name": ["launch"],
            "scope": [scope],
            "description": [""],
        }
    )


def test_a_slice_an_event_names_needs_no_multiple_comparison_price():
    # a weak change (x1.8 on a few reports a day): among ~30 depth-2 slices a noisy one often wins, unless an
    # event at the start names the moved slice in advance
    found = {"alone": 0, "named": 0}
    for seed in range(20):
        rows, day = cube(
            rate_causes=[CAUSE], change_days=3, rate_factor=1.8, views_scale=0.002, poisson=True, seed=seed
        )
        start = day - dt.timedelta(days=2)
        alone = explain(rows, METRIC, date=day, change_start=start)
        named = explain(rows, METRIC, date=day, change_start=start, events=_event(start, "region=ID,format=photo"))
        found["alone"] += alone.root_causes[0].scope == CAUSE
        found["named"] += named.root_causes[0].scope == CAUSE
        assert alone.root_causes[0].scope != CAUSE or named.root_causes[0].scope == CAUSE
    assert found["named"] >= found["alone"] + 3


def test_an_event_on_a_slice_that_did_not_move_does_not_beat_the_evidence():
    rows, day = cube(rate_causes=[CAUSE], change_days=3, views_scale=0.002, poisson=True, seed=1)
    start = day - dt.timedelta(days=2)
    for scope in ("region=US", "region=US,os=ios"):
        ex = explain(rows, METRIC, date=day, change_start=start, events=_event(start, scope))
        assert ex.root_causes[0].scope == CAUSE


def test_a_slice_without_baseline_has_no_expected_rate():
    # a new app version appears on the last day with a rate unlike the table's: nothing to compare it with
    rows, day = cube(rate_causes=[{"region": "JP"}])
    new = rows[(rows["date"] == day) & rows["region"].eq("JP") & rows["format"].isna() & rows["os"].isna()].copy()
    new["region"], new["os"] = None, "harmonyos"
    new["numerator"] *= 5
    ex = explain(pd.concat([rows, new], ignore_index=True), METRIC, date=day)
    assert [rc.scope for rc in ex.root_causes] == [{"region": "JP"}]
