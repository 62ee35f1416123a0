"""Creator drivers on constructed raw tables: one creator's surge vs a change spread over the slice."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

from ecoradar.explain.creators import creator_drivers
from ecoradar.metrics.loader import load_catalog

DAY = dt.date(2026, 3, 10)
BASE = [DAY - dt.timedelta(days=k) for k in range(1, 8)]


def _impressions(per_creator: dict[int, list[int]], liked: dict[int, list[float]] | None = None) -> pd.DataFrame:
    """Rows of (ts, region, creator_id, liked): per_creator[c][i] impressions on day i of BASE + [DAY]."""
    days = [*reversed(BASE), DAY]
    rows = []
    rng = np.random.default_rng(0)
    for c, counts in per_creator.items():
        for i, n in enumerate(counts):
            rate = liked[c][i] if liked else 0.0
            for _ in range(n):
                rows.append((pd.Timestamp(days[i]) + pd.Timedelta(hours=12), "JP", c, bool(rng.random() < rate)))
    return pd.DataFrame(rows, columns=["ts", "region", "creator_id", "liked"])


def _run(frame: pd.DataFrame, metric: str):
    con = duckdb.connect()
    con.register("impressions", frame)
    return creator_drivers(con, load_catalog()[metric], {"region": "JP"}, DAY, BASE)


def test_one_creators_surge_is_a_creator_event():
    counts = {c: [20] * 8 for c in range(40)}
    counts[7] = [20] * 7 + [400]
    found = _run(_impressions(counts), "impressions")
    assert found.driven and found.creators[0][0] == 7 and found.creators[0][1] > 0.9
    assert found.change == pytest.approx(380)


def test_two_creators_leaving_a_large_noisy_slice_is_a_creator_event():
    # 300 creators whose daily impressions wander (Poisson): their churn both ways is as large as the change
    # itself, yet the change, net, is two creators' doing
    rng = np.random.default_rng(5)
    counts = {c: list(rng.poisson(8, 8)) for c in range(300)}
    counts[1], counts[2] = [150] * 7 + [0], [120] * 7 + [10]
    found = _run(_impressions(counts), "impressions")
    assert found.driven and {c for c, _ in found.creators[:2]} == {1, 2} and found.share > 0.8


def test_a_few_rare_events_are_no_creator_event_but_a_new_accounts_burst_is():
    rare = {c: [1] * 8 for c in range(40)}
    rare[3], rare[4] = [1] * 7 + [3], [1] * 7 + [3]
    found = _run(_impressions(rare), "impressions")
    assert found.share == pytest.approx(1.0) and not found.driven  # each creator's part is two events
    burst = {c: [1] * 8 for c in range(40)}
    burst[7] = [0] * 7 + [6]
    found = _run(_impressions(burst), "impressions")
    assert found.driven and found.creators[0][0] == 7


def test_a_change_spread_over_the_slice_is_not():
    counts = {c: [20] * 7 + [28] for c in range(40)}
    found = _run(_impressions(counts), "impressions")
    assert not found.driven and found.share < 0.2 and found.rest == pytest.approx(0.4)


def test_proportional_change_where_few_creators_hold_the_slice_is_not_an_event():
    # three creators hold ~70% of the slice; all lose 40%: the few make most of the change but only their share
    counts = {c: [10] * 7 + [6] for c in range(40)}
    for c in (0, 1, 2):
        counts[c] = [300] * 7 + [180]
    found = _run(_impressions(counts), "impressions")
    assert found.share > 0.5 and found.held > 0.5 and not found.driven
    assert found.rest == pytest.approx(-0.4)


def test_the_creator_who_holds_most_of_a_slice_leaving_it_is_a_creator_event():
    # one creator holds ~85% of the slice and drops out of it (ages out of "new"); the rest do not move
    counts = {c: [5] * 8 for c in range(30)}
    counts[0] = [850] * 7 + [0]
    found = _run(_impressions(counts), "impressions")
    assert found.held > 0.8 and found.driven and found.rest == pytest.approx(0.0)


def test_rates_are_split_after_the_slices_traffic_change():
    # traffic doubles everywhere at an unchanged like rate, and one creator's like rate jumps
    counts = {c: [30] * 7 + [60] for c in range(30)}
    liked = {c: [0.1] * 8 for c in range(30)}
    liked[4] = [0.1] * 7 + [0.9]
    found = _run(_impressions(counts, liked), "like_rate")
    assert found.driven and found.creators[0][0] == 4


def test_a_slice_of_a_few_creators_gets_no_verdict():
    counts = {c: [20] * 7 + [60] for c in range(4)}
    assert _run(_impressions(counts), "impressions") is None


def test_distinct_viewers_split_by_creator():
    # viewers per creator: 30 creators with 20 distinct viewers a day; creator 3 draws 300 new viewers on the day
    rows = []
    for day in [*reversed(BASE), DAY]:
        for c in range(30):
            n = 320 if (c == 3 and day == DAY) else 20
            rows += [(pd.Timestamp(day) + pd.Timedelta(hours=9), "JP", c, 1000 * c + u) for u in range(n)]
    frame = pd.DataFrame(rows, columns=["ts", "region", "creator_id", "user_id"])
    found = _run(frame, "active_viewers")
    assert found.driven and found.creators[0][0] == 3 and found.change == pytest.approx(300)


def test_a_baseline_weeks_before_the_day_reads_both_spans():
    # the change started weeks ago (a trend): the baseline is the week before that start, the day is today
    counts = {c: [20] * 8 for c in range(40)}
    counts[7] = [20] * 7 + [400]
    frame = _impressions(counts)
    frame.loc[frame["ts"].dt.date == DAY, "ts"] += pd.Timedelta(days=21)
    con = duckdb.connect()
    con.register("impressions", frame)
    found = creator_drivers(con, load_catalog()["impressions"], {"region": "JP"}, DAY + dt.timedelta(days=21), BASE)
    assert found.driven and found.change == pytest.approx(380)


def _top_share_counts(rng: np.random.Generator, n: int = 300) -> dict[int, list[int]]:
    """A heavy-tailed slice: a few creators with thousands of impressions a day, most with a handful."""
    sizes = np.maximum(1, (2000 / np.arange(1, n + 1) ** 1.2)).astype(int)
    return {c: list(rng.poisson(sizes[c], 8)) for c in range(n)}


def test_one_creators_viral_day_moving_the_top_share_is_a_creator_event():
    # top 1% of 300 creators = the 3 largest; a small creator's video goes viral and joins them
    counts = _top_share_counts(np.random.default_rng(1))
    counts[250] = counts[250][:7] + [6000]
    found = _run(_impressions(counts), "top1pct_creator_share")
    assert found.driven and found.creators[0][0] == 250 and found.share > 0.9 and found.change > 0


def test_top_creators_boosted_across_the_slice_is_no_creator_event():
    # ranking favours the top tenth of creators: putting the three largest back undoes the top 1% share's rise (they
    # are the top 1%), but the top share of everybody else rose as much: a change of the slice, not of three creators
    counts = _top_share_counts(np.random.default_rng(2))
    for c in range(30):
        counts[c] = counts[c][:7] + [int(counts[c][7] * 1.6)]
    found = _run(_impressions(counts), "top1pct_creator_share")
    assert found.change > 0 and found.share > 0.5
    assert not found.driven and found.rest > 0.05


def test_gini_split_by_leaving_out_the_few_movers():
    # the largest creator leaves the slice (ages out of it): exposure becomes more equal, that creator's doing
    counts = _top_share_counts(np.random.default_rng(3))
    counts[0] = counts[0][:7] + [0]
    found = _run(_impressions(counts), "creator_exposure_gini")
    assert found.change < 0 and found.driven and found.creators[0][0] == 0
    # every small creator loses half its impressions: more unequal, nobody's doing in particular
    broad = _top_share_counts(np.random.default_rng(3))
    for c in range(20, 300):
        broad[c] = broad[c][:7] + [broad[c][7] // 2]
    found = _run(_impressions(broad), "creator_exposure_gini")
    assert found.change > 0 and not found.driven


def _uploads(per_creator: dict[int, list[int]]) -> pd.DataFrame:
    days = [*reversed(BASE), DAY]
    rows = [
        (pd.Timestamp(days[i]) + pd.Timedelta(hours=10), c * 1000 + i * 100 + k, c, "JP", "short_video", "food", 15000)
        for c, counts in per_creator.items()
        for i, n in enumerate(counts)
        for k in range(n)
    ]
    return pd.DataFrame(rows, columns=["ts", "video_id", "creator_id", "region", "format", "category", "duration_ms"])


def test_uploads_per_active_creator_split_by_leaving_out_the_few_movers():
    con = duckdb.connect()
    metric = load_catalog()["uploads_per_active_creator"]
    prolific = {c: [2] * 8 for c in range(40)}
    prolific[5] = [2] * 7 + [60]  # one creator's bulk upload
    con.register("uploads", _uploads(prolific))
    found = creator_drivers(con, metric, {"region": "JP"}, DAY, BASE)
    assert found.driven and found.creators[0][0] == 5 and found.change == pytest.approx(58 / 40)
    everyone = {c: [2] * 7 + [3] for c in range(40)}  # every creator uploads one more
    con.register("uploads", _uploads(everyone))
    found = creator_drivers(con, metric, {"region": "JP"}, DAY, BASE)
    assert found.change == pytest.approx(1.0) and not found.driven
