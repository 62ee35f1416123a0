"""detect_cube on small seeded cubes with known changes: scope, pruning, skips, holidays, sensitivity."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from detect_cubes import LIKE_RATE, START, VIEWS, make_cube, make_wide_cube

from ecoradar.detect.cube import detect_cube, one_lump
from ecoradar.errors import DataError

DAY = 80
D = START + dt.timedelta(days=DAY)
METRICS = {"views": VIEWS, "like_rate": LIKE_RATE}


def _run(cube, metrics=METRICS, **kw):
    kw.setdefault("date_from", D - dt.timedelta(days=9))
    kw.setdefault("date_to", D)
    return detect_cube(cube, metrics, **kw)


def test_clean_cube_is_quiet():
    res = _run(make_cube(seed=1))
    assert res.anomalies == []
    assert res.tested == 10 * 20 * 2  # 10 days x 20 slices x 2 metrics


def test_leaf_dip_found_in_its_exact_scope_and_parents_pruned():
    res = _run(make_cube(changes=(({"region": "BR", "format": "photo"}, DAY, 0.6),)), {"views": VIEWS})
    on_day = [a for a in res.anomalies if a.date == D]
    assert [a.scope for a in on_day] == [{"region": "BR", "format": "photo"}]
    a = on_day[0]
    assert a.kind == "dip" and a.direction == "down" and a.metric == "views"
    assert a.lower <= a.expected <= a.upper and a.observed < a.lower
    assert a.q_value <= 1e-3 and 0.5 <= a.score <= 1
    assert all(x.date == D for x in res.anomalies)


def test_broad_change_keeps_the_parent():
    res = _run(make_cube(changes=(({"region": "BR"}, DAY, 1.5),)), {"views": VIEWS})
    on_day = [a.scope for a in res.anomalies if a.date == D]
    assert on_day == [{"region": "BR"}]


def test_level_shift_reported_on_following_days_with_start():
    res = _run(make_cube(changes=(({"region": "JP", "format": "live"}, DAY - 3, 1.3),)), {"views": VIEWS})
    scopes = {(a.date, tuple(a.scope.items())) for a in res.anomalies}
    key = (("region", "JP"), ("format", "live"))
    assert all((START + dt.timedelta(days=d), key) in scopes for d in range(DAY - 3, DAY + 1))
    shifts = [a for a in res.anomalies if a.kind == "level_shift"]
    assert shifts and all(a.start == START + dt.timedelta(days=DAY - 3) for a in shifts)


def test_ratio_judged_with_denominators():
    # a leaf of ~2.4M views moving its like rate half a point (0.100 -> 0.105) is found;
    # 0.1 -> 0.13 in a slice of ~60 views is not
    cube = make_cube(scale=200_000, rate_changes=(({"region": "JP", "format": "live"}, DAY, 0.105),))
    res = _run(cube, {"like_rate": LIKE_RATE})
    assert [a.scope for a in res.anomalies if a.date == D] == [{"region": "JP", "format": "live"}]
    small = make_cube(scale=60, rate_changes=(({"region": "US", "format": "short_video"}, DAY, 0.13),))
    metric = LIKE_RATE.model_copy(update={"min_denominator": 0})
    assert _run(small, {"like_rate": metric}).anomalies == []


def test_below_min_denominator_skipped_with_reason():
    metric = LIKE_RATE.model_copy(update={"min_denominator": 20_000})
    res = _run(make_cube(), {"like_rate": metric})
    assert res.skipped["below_min_denominator"] > 0
    assert res.tested + sum(res.skipped.values()) == 10 * 20


def test_holidays_not_judged_and_left_out_of_baselines():
    cube = make_cube()
    for day in (DAY - 14, DAY - 7, DAY):
        hit = (cube["metric"] == "views") & (cube["date"] == START + dt.timedelta(days=day))
        cube.loc[hit, "value"] *= 3
    events = pd.DataFrame(
        {
            "ts": pd.to_datetime([START + dt.timedelta(days=d) for d in (DAY - 14, DAY - 7, DAY)]),
            "kind": "holiday",
            "name": "h",
            "scope": "",
            "description": "",
        }
    )
    res = _run(cube, {"views": VIEWS}, events=events)
    assert res.anomalies == []
    assert res.skipped["holiday"] == 2 * 20  # DAY - 7 and DAY are in the judged range
    without = _run(cube, {"views": VIEWS})
    assert any(a.date == D for a in without.anomalies)


def test_bad_input_counted_never_crashes():
    cube = make_cube()
    views = cube["metric"] == "views"
    us = views & (cube["region"] == "US") & (cube["format"] == "live")
    cube.loc[us & (cube["date"] == D), "value"] = -5.0  # negative count
    de = views & (cube["region"] == "DE") & (cube["format"] == "live")
    cube = cube.loc[~(de & (cube["date"] < D - dt.timedelta(days=3)))]  # too short a history
    views = cube["metric"] == "views"
    jp = views & (cube["region"] == "JP") & (cube["format"] == "photo")
    cube.loc[jp, "value"] = 7.0  # constant
    cube = cube.loc[~(views & (cube["region"] == "BR") & (cube["format"] == "live") & (cube["date"] == D))]  # gap
    res = _run(cube, {"views": VIEWS})
    assert res.skipped["negative_count"] == 1, res.skipped
    assert res.skipped["short_history"] == 4
    assert res.skipped["missing"] == 1 + 6  # the gap, and DE/live's days before its data starts
    assert all(np.isfinite(a.score) and np.isfinite(a.q_value) for a in res.anomalies)
    assert not [a for a in res.anomalies if a.scope == {"region": "JP", "format": "photo"}]


def test_sensitivity_multiplies_thresholds():
    cube = make_cube(changes=(({"region": "BR", "format": "live"}, DAY, 0.85),))
    found = _run(cube, {"views": VIEWS}, date_from=D)
    assert [a.scope for a in found.anomalies] == [{"region": "BR", "format": "live"}]
    dull = VIEWS.model_copy(update={"sensitivity": 3.0})
    assert _run(cube, {"views": dull}, date_from=D).anomalies == []


def test_output_ranked_and_table_matches_records():
    cube = make_cube(changes=(({"region": "BR", "format": "photo"}, DAY, 0.5), ({"region": "US"}, DAY - 1, 1.4)))
    res = _run(cube)
    q = [a.q_value for a in res.anomalies]
    assert q == sorted(q) and len(res.anomalies) == res.table.num_rows >= 2
    table = res.table.to_pylist()
    for a, row in zip(res.anomalies, table, strict=True):
        assert row["metric"] == a.metric and row["date"] == a.date and row["kind"] == a.kind
        assert {k: row[k] for k in a.scope} == a.scope and row["q_value"] == pytest.approx(a.q_value)


def test_arrow_input_and_missing_columns():
    import pyarrow as pa

    cube = make_cube(changes=(({"region": "BR", "format": "photo"}, DAY, 0.5),))
    res = _run(pa.Table.from_pandas(cube), {"views": VIEWS})
    assert any(a.scope == {"region": "BR", "format": "photo"} for a in res.anomalies)
    with pytest.raises(DataError, match="value"):
        _run(cube.drop(columns=["value"]), {"views": VIEWS})


def test_gate_drops_cross_slices_whose_parents_do_not_move():
    # four leaves swing by the same +-2400 views, so region BR, region JP, format photo and format live stay flat:
    # churn inside the regions and formats, no issue at any one-dim level
    swaps = (
        ({"region": "BR", "format": "photo"}, DAY, 1.6),
        ({"region": "BR", "format": "live"}, DAY, 0.6),
        ({"region": "JP", "format": "photo"}, DAY, 0.7),
        ({"region": "JP", "format": "live"}, DAY, 1.2),
    )
    cube = make_cube(changes=swaps)
    ungated = _run(cube, {"views": VIEWS}, date_from=D, gate_p=None)
    assert len([a for a in ungated.anomalies if len(a.scope) == 2]) == 4
    gated = _run(cube, {"views": VIEWS}, date_from=D)
    assert gated.anomalies == []
    assert gated.skipped["gated"] >= 4


def test_gate_keeps_a_leaf_issue_that_moves_its_parents():
    res = _run(make_cube(changes=(({"region": "BR", "format": "photo"}, DAY, 0.6),)), {"views": VIEWS}, date_from=D)
    assert [a.scope for a in res.anomalies] == [{"region": "BR", "format": "photo"}]
    assert res.skipped.get("gated", 0) == 0


def test_a_change_in_one_slice_is_not_reported_again_in_every_slice_overlapping_it():
    # photo x android (1/6 of the traffic) loses 40% of its like rate: every region x photo and region x android
    # slice loses a fifth of its rate, an anomaly on its own (eight of them), yet only the source is reported
    rate = LIKE_RATE.model_copy(update={"dimensions": ["region", "format", "os"]})
    cube = make_wide_cube(rate_changes=(({"format": "photo", "os": "android"}, DAY, 0.06),))
    res = _run(cube, {"like_rate": rate}, date_from=D)
    assert [a.scope for a in res.anomalies] == [{"format": "photo", "os": "android"}]
    assert res.skipped["explained_by_overlap"] == 8
    # an issue of its own in an overlapping slice (JP's rate up) is still reported beside it
    both = make_wide_cube(
        rate_changes=(({"format": "photo", "os": "android"}, DAY, 0.06), ({"region": "JP"}, DAY, 0.115))
    )
    scopes = [a.scope for a in _run(both, {"like_rate": rate}, date_from=D).anomalies]
    assert {"format": "photo", "os": "android"} in scopes and {"region": "JP"} in scopes


def test_top_share_noise_is_its_few_creators_swings():
    # the top 1% of a slice is a few creators: their share swings by points from day to day whatever the traffic
    # (now and then by more), which the median residual looks past and a binomial over 50k impressions would call a
    # 1e-10 event; a lasting jump is still found
    rng = np.random.default_rng(3)
    top = LIKE_RATE.model_copy(
        update={"name": "top_share", "kind": "top_share", "numerator": None, "top_fraction": 0.01}
    )
    dates = [START + dt.timedelta(days=d) for d in range(DAY + 1)]
    rows = []
    for region in (None, *("US", "BR", "DE", "JP", "MX", "ID")):
        swing = np.where(rng.random(len(dates)) < 0.2, 0.06, 0.005)  # a top creator's good or bad day
        value = np.clip(0.3 + swing * rng.standard_normal(len(dates)), 0, 1)
        if region == "JP":
            value[DAY - 2 :] += 0.25
        den = np.full(len(dates), 50_000.0)
        rows.append(
            pd.DataFrame(
                {
                    "metric": "top_share",
                    "date": dates,
                    "region": region,
                    "format": None,
                    "numerator": value * den,
                    "denominator": den,
                    "value": value,
                }
            )
        )
    res = _run(pd.concat(rows, ignore_index=True), {"top_share": top})
    assert {tuple(a.scope.items()) for a in res.anomalies} == {(("region", "JP"),)}


@pytest.mark.parametrize("kind", ["top_share", "share"])
def test_a_share_in_an_app_versions_slice_follows_its_rollout(kind):
    # a new version's audience grows, and with it the share its top creators take; an old version's category mix is
    # its last holdouts' tastes: a rollout, not a finding; JP's jump is found, and the version slice is skipped
    top = LIKE_RATE.model_copy(
        update={
            "name": "top_share",
            "kind": kind,
            "numerator": None,
            "entity": "creator_id" if kind == "top_share" else "category",
            "dimensions": ["region", "app_version"],
        }
    )
    dates = [START + dt.timedelta(days=d) for d in range(DAY + 1)]
    rng = np.random.default_rng(4)
    rows = []
    for region, version in ((None, None), ("US", None), ("JP", None), ("BR", None), (None, "34.3.0")):
        value = np.clip(0.3 + 0.005 * rng.standard_normal(len(dates)), 0, 1)
        if region == "JP" or version:
            value[DAY - 2 :] += 0.25
        den = np.full(len(dates), 50_000.0)
        frame = {"metric": "top_share", "date": dates, "region": region, "app_version": version, "format": None}
        rows.append(pd.DataFrame({**frame, "numerator": value * den, "denominator": den, "value": value}))
    res = _run(pd.concat(rows, ignore_index=True), {"top_share": top})
    assert {tuple(a.scope.items()) for a in res.anomalies} == {(("region", "JP"),)}
    assert res.skipped["rollout_slice"] == 10


def test_a_share_is_never_expected_outside_0_and_1():
    # a rate that fell to exactly 0 (its one creator left the slice) and comes back: the band around 0 must not
    # reach below it
    days = [START + dt.timedelta(days=d) for d in range(DAY + 1)]
    rate = np.r_[np.full(DAY - 20, 0.6), np.zeros(16), np.full(5, 0.3)]
    rows = [
        {"metric": "like_rate", "date": day, "region": region, "numerator": r * 50_000, "denominator": 50_000.0}
        for day, r in zip(days, rate, strict=True)
        for region in (None, "JP")
    ]
    cube = pd.DataFrame(rows).assign(value=lambda f: f["numerator"] / f["denominator"])
    res = _run(cube, {"like_rate": LIKE_RATE.model_copy(update={"min_denominator": 0})})
    assert res.anomalies and all(0.0 <= a.lower <= a.expected <= a.upper <= 1.0 for a in res.anomalies)


def _lumpy_cube(seed: int = 5) -> pd.DataFrame:
    """A new-creator share over six regions of 50k impressions a day, with its effective number of new creators.

    JP has no new creator until one arrives 3 days before the judged day and takes 3% of it (one lump); BR's share,
    spread over 40 effective new creators, halves from the day before (many creators together)."""
    rng = np.random.default_rng(seed)
    dates = [START + dt.timedelta(days=d) for d in range(DAY + 1)]
    rows = []
    for region in (None, "US", "BR", "DE", "JP", "MX", "ID"):
        share = np.clip(0.1 + 0.003 * rng.standard_normal(len(dates)), 0, 1)
        lumps = np.full(len(dates), 240.0 if region is None else 40.0)
        if region == "BR":
            share[DAY - 1 :] /= 2
        if region == "JP":
            share[: DAY - 3], share[DAY - 3 :] = 0.0, 0.03 + 0.001 * rng.standard_normal(4)
            lumps[: DAY - 3], lumps[DAY - 3 :] = np.nan, 1.0
        den = np.full(len(dates), 50_000.0)
        base = {"date": dates, "region": region, "format": None}
        rows.append(pd.DataFrame({**base, "metric": "new_share", "numerator": share * den, "denominator": den}))
        rows[-1]["value"] = share
        rows.append(pd.DataFrame({**base, "metric": "lumps", "numerator": lumps, "denominator": lumps, "value": lumps}))
    cube = pd.concat(rows, ignore_index=True)
    return cube.loc[cube["value"].notna()]


def test_a_share_made_of_a_few_creators_is_judged_by_its_creators():
    # effective_n: one creator arriving in a slice is one event, not 1,500 impressions; many creators leaving together
    # are still a finding; without effective_n the newcomer is an alarm
    share = LIKE_RATE.model_copy(update={"name": "new_share", "effective_n": "lumps", "min_denominator": 0})
    found = {tuple(a.scope.items()) for a in _run(_lumpy_cube(), {"new_share": share}).anomalies}
    assert (("region", "BR"),) in found and (("region", "JP"),) not in found
    plain = share.model_copy(update={"effective_n": None})
    assert (("region", "JP"),) in {tuple(a.scope.items()) for a in _run(_lumpy_cube(), {"new_share": plain}).anomalies}


def _hit_cube(spread: bool) -> pd.DataFrame:
    """Views with their effective number of creators (200 per slice), and +80% views in BR x photo on the judged day:
    one creator's viral video (the slice's effective number collapses) or, with `spread`, every creator's."""
    cube = make_cube(seed=3)
    views = cube.loc[cube["metric"] == "views"].copy()
    in_hit = views["region"].isin(["BR", None]) & views["format"].isin(["photo", None]) & (views["date"] == D)
    leaf = in_hit & views["region"].notna() & views["format"].notna()
    extra = 0.8 * float(views.loc[leaf, "value"].iloc[0])
    base = views["value"].to_numpy(dtype=float)
    views.loc[in_hit, "value"] += extra
    squares = base**2 / 200 + (0.0 if spread else extra**2)  # one creator: the sum of squares grows by its square
    lumps = views.assign(metric="creators", value=np.where(in_hit & ~spread, views["value"] ** 2 / squares, 200.0))
    views.loc[in_hit, "numerator"] = views.loc[in_hit, "value"]
    return pd.concat([views, lumps], ignore_index=True)


def test_a_count_moved_by_one_creator_is_no_issue_of_the_slice():
    # effective_n on a count: a jump no bigger than one creator's lump (one_lump) is a hit, not an issue;
    # the same jump spread over the slice's 200 creators is found
    views = VIEWS.model_copy(update={"effective_n": "creators"})
    hit = _run(_hit_cube(spread=False), {"views": views}, date_from=D)
    assert hit.anomalies == [] and hit.skipped["one_lump"] >= 1
    broad = _run(_hit_cube(spread=True), {"views": views}, date_from=D)
    assert {"region": "BR", "format": "photo"} in [a.scope for a in broad.anomalies]
    assert _run(_hit_cube(spread=False), {"views": VIEWS}, date_from=D).anomalies  # without effective_n: an alarm


def test_one_lump_bound_by_hand():
    # 1,000 views over 100 equal creators (sum of squares 10,000); one of them gains 500 -> 270,000, K = 8.33: room
    # sqrt(270,000 - 10,000) = 510 >= 500. Every creator gaining half: K stays 100, room sqrt(22,500 - 10,000) = 112
    before = np.full((2, 5), 100.0)
    k_now = np.array([1500.0**2 / 270_000, 100.0])
    one = one_lump(pd.Series([1500.0, 1500.0]), pd.Series([1000.0, 1000.0]), k_now, before)
    assert one.tolist() == [True, False]
    assert not one_lump(pd.Series([1500.0]), pd.Series([1000.0]), np.array([np.nan]), before[:1]).any()
