"""Localizers on constructed leaf tables with known root causes, and the family's invariants."""

from __future__ import annotations

import pandas as pd
import pytest
from worlds import leaf_table

from ecoradar.errors import DataError, NotFound
from ecoradar.explain.localize import LOCALIZERS, get_localizer, localize

DIMS = ["region", "format", "os", "surface"]
CASES = {
    "single element": [{"region": "JP"}],
    "two elements, two dimensions": [{"region": "JP"}, {"format": "live"}],
    "two-dimension combination": [{"region": "ID", "format": "photo"}],
}


@pytest.mark.parametrize("causes", CASES.values(), ids=CASES.keys())
def test_ripple_recovers_known_causes(causes):
    found = localize(leaf_table(causes), DIMS)
    assert sorted(map(sorted, (rc.scope.items() for rc in found))) == sorted(map(sorted, (c.items() for c in causes)))
    assert sum(rc.contribution for rc in found) == pytest.approx(1.0, abs=0.05)


def test_riskloc_reference_recovers_a_combination():
    found = get_localizer("riskloc").localize(leaf_table([{"region": "ID", "format": "photo"}]), DIMS)
    assert [rc.scope for rc in found] == [{"region": "ID", "format": "photo"}]


def test_ratio_leaves_find_the_slice_whose_rate_moved():
    leaves = leaf_table([])
    leaves["den"] = leaves["predict"] * 50
    leaves["num"] = leaves["den"] * 0.01
    m = (leaves["region"] == "BR") & (leaves["os"] == "ios")
    leaves.loc[m, "num"] *= 4
    leaves["num_expected"] = leaves["den"] * 0.01
    found = localize(leaves, DIMS, "num", "num_expected", real_den_col="den", predict_den_col="den")
    assert [rc.scope for rc in found] == [{"region": "BR", "os": "ios"}]


@pytest.mark.parametrize("name", sorted(LOCALIZERS))
def test_invariants(name):
    loc = get_localizer(name)
    flat = leaf_table([], noise=0.0)
    assert loc.localize(flat, DIMS) == []  # nothing moved, nothing to explain
    found = loc.localize(leaf_table([{"format": "live"}]), DIMS)
    assert found, "a 60% drop in one format must be found"
    scopes = [rc.scope for rc in found]
    assert all(set(s) <= set(DIMS) and s for s in scopes)
    assert len({tuple(sorted(s.items())) for s in scopes}) == len(scopes)  # no repeats
    assert [abs(rc.contribution) for rc in found] == sorted((abs(rc.contribution) for rc in found), reverse=True)


def test_unknown_localizer_suggests_the_closest():
    with pytest.raises(NotFound, match="did you mean 'riskloc'"):
        get_localizer("risklok")


def test_missing_column_is_a_data_error():
    with pytest.raises(DataError, match="no column 'nope'"):
        localize(pd.DataFrame({"a": ["x"], "real": [1.0], "predict": [1.0]}), ["a"], predict_col="nope")


def test_a_lone_leaf_must_beat_the_noise_seen_against_the_change():
    leaves = leaf_table([{"region": "JP"}])
    outside = leaves.index[leaves["region"] != "JP"][::20][:3]  # three leaves far apart (other size bands)
    leaves.loc[outside, "real"] = leaves.loc[outside, "predict"] * [1.5, 0.5, 0.05]
    # +50% moves against the (downward) change: noise reaches that far; -50% goes no further; -95% goes beyond
    scopes = [rc.scope for rc in localize(leaves, DIMS)]
    assert {"region": "JP"} in scopes
    lone = [s for s in scopes if len(s) == len(DIMS)]
    assert lone == [leaves.loc[outside[2], DIMS].to_dict()]
