"""The world without issues matches the public figures of research/realism.md (ranges the simulator is tuned to)."""

from __future__ import annotations

import pytest
import simworld


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    return simworld.connect(simworld.small_world(tmp_path_factory.getbasetemp(), issues=False))


def one(con, sql):
    return con.execute(sql).fetchall()[0]


def test_interaction_rates_are_in_their_ranges(con):
    like, comment, share, ni, report, completion, wr_median, replays = one(
        con,
        """SELECT avg(liked::int), avg(commented::int), avg(shared::int), avg(not_interested::int),
                  avg(reported::int), avg((watch_ms >= duration_ms)::int), median(watch_ms / duration_ms),
                  avg((watch_ms > 1.2 * duration_ms)::int) FROM imp""",
    )
    assert 0.015 <= like <= 0.022
    assert 0.001 <= comment <= 0.003 and 0.001 <= share <= 0.003
    assert 0.0008 <= ni <= 0.0011
    assert report < ni / 4
    assert 0.12 <= completion <= 0.18
    assert 0.65 <= wr_median <= 0.8 and replays > 0.01


def test_formats_durations_and_completion_by_length(con):
    rows = con.execute(
        """SELECT format, count(*) / sum(count(*)) OVER () AS share, median(duration_ms) / 1000 AS dur_s,
                  avg((watch_ms >= duration_ms)::int) AS completion FROM imp GROUP BY 1 ORDER BY share DESC"""
    ).fetchall()
    assert [r[0] for r in rows] == ["short_video", "photo", "long_video", "live"]
    by = {r[0]: r for r in rows}
    assert by["short_video"][1] > 0.6
    assert 8 <= by["short_video"][2] <= 15 and by["long_video"][2] > 120 and by["live"][2] > 600
    assert by["short_video"][3] > 2 * by["long_video"][3]  # shorter videos complete more


def test_heavy_tailed_creator_popularity(con):
    top1_daily = one(
        con,
        """WITH c AS (SELECT date, creator_id, count(*) n FROM imp GROUP BY ALL),
                r AS (SELECT date, n, row_number() OVER (PARTITION BY date ORDER BY n DESC) rk,
                             count(*) OVER (PARTITION BY date) k FROM c)
           SELECT avg(s) FROM (SELECT date, sum(n) FILTER (WHERE rk <= ceil(k * 0.01)) / sum(n) s FROM r GROUP BY 1)""",
    )[0]
    top20_videos = one(
        con,
        """WITH c AS (SELECT video_id, count(*) n FROM imp GROUP BY 1),
                r AS (SELECT n, row_number() OVER (ORDER BY n DESC) rk, count(*) OVER () k FROM c)
           SELECT sum(n) FILTER (WHERE rk <= ceil(k * 0.2)) / sum(n) FROM r""",
    )[0]
    top25_uploaders = one(
        con,
        """WITH c AS (SELECT c.creator_id, count(u.video_id) n FROM creators c LEFT JOIN upl u USING (creator_id)
                      GROUP BY 1),
                r AS (SELECT n, row_number() OVER (ORDER BY n DESC) rk, count(*) OVER () k FROM c)
           SELECT sum(n) FILTER (WHERE rk <= ceil(k * 0.25)) / sum(n) FROM r""",
    )[0]
    under_100_views = one(
        con,
        """SELECT avg((n < 100)::int) FROM (SELECT u.video_id, count(i.video_id) n FROM upl u
           LEFT JOIN imp i USING (video_id) GROUP BY 1)""",
    )[0]
    assert top1_daily > 0.3  # the top 1% of creators take a large share of a day's impressions
    assert 0.65 <= top20_videos <= 0.9  # KuaiRand: top 20% of videos get 76.5%
    assert top25_uploaders > 0.93  # Pew: top 25% make 98% of videos
    assert under_100_views > 0.9


def test_tiers_follow_popularity(con):
    rows = con.execute(
        """SELECT c.tier, count(DISTINCT c.creator_id) AS creators, count(i.creator_id) / count(DISTINCT c.creator_id)
           FROM creators c LEFT JOIN imp i USING (creator_id) GROUP BY 1"""
    ).fetchall()
    per = {r[0]: r for r in rows}
    order = ["nano", "micro", "mid", "macro"]
    assert [per[t][1] for t in order] == sorted((per[t][1] for t in order), reverse=True)
    # impressions per creator climb with the tier (the few macro creators vary with their upload volume)
    assert per["nano"][2] < per["micro"][2] < per["mid"][2] and per["macro"][2] > 2 * per["micro"][2]


def test_weekly_pattern_growth_and_creator_turnover(con):
    by_dow = dict(con.execute("SELECT isodow(date), count(*) / count(DISTINCT date) FROM imp GROUP BY 1").fetchall())
    weekday = sum(by_dow[d] for d in range(1, 6)) / 5
    assert min(by_dow[6], by_dow[7]) > 1.05 * weekday
    first, last = one(
        con,
        """SELECT count(*) FILTER (WHERE date < DATE '2026-01-19'), count(*) FILTER (WHERE date > DATE '2026-02-19')
           FROM imp""",
    )
    assert last > 1.05 * first
    joined, churned = one(
        con,
        """SELECT count(*) FILTER (WHERE join_date >= DATE '2026-01-05'),
                  count(*) FILTER (WHERE creator_id IN (SELECT creator_id FROM upl WHERE date < '2026-01-20')
                                   AND creator_id NOT IN (SELECT creator_id FROM upl WHERE date >= '2026-02-20'))
           FROM creators""",
    )
    assert joined > 0 and churned > 0
    new_share = one(con, "SELECT avg((creator_age = 'new')::int) FROM imp")[0]
    assert 0.03 <= new_share <= 0.2


def test_app_versions_roll_out(con):
    rows = con.execute(
        """SELECT date, avg((app_version = '34.3.0')::int) FROM imp WHERE os = 'android'
           AND date IN ('2026-01-30', '2026-02-05', '2026-02-12', '2026-02-22', '2026-03-05') GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    shares = [r[1] for r in rows]
    # 34.3.0 ships on Android on 2026-02-04: adoption climbs, then 34.4.0 (2026-02-25) takes over
    assert shares[0] == 0 < shares[1] < shares[2] < shares[3] and shares[3] > 0.7 and shares[4] < shares[3] / 2


def test_moderation_matches_transparency_reports(con):
    removal, automated, appealed, overturned, within_24h = one(
        con,
        """SELECT count(*) FILTER (WHERE decision = 'removed') / (SELECT count(*) FROM upl),
                  avg((source = 'automated')::int) FILTER (WHERE decision = 'removed'),
                  avg(appealed::int) FILTER (WHERE decision = 'removed'),
                  avg((appeal_outcome = 'overturned')::int) FILTER (WHERE appeal_outcome IS NOT NULL),
                  avg((review_ms < 86400000)::int) FROM mod""",
    )
    assert 0.006 <= removal <= 0.011
    assert 0.75 <= automated <= 0.87
    assert 0.08 <= appealed <= 0.16
    assert 0.25 <= overturned <= 0.5
    assert 0.9 <= within_24h <= 0.97
    versions = {r[0] for r in con.execute("SELECT DISTINCT model_version FROM mod").fetchall()}
    assert len(versions - {None}) >= 2
