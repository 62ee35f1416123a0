"""The simulator writes exactly the contract of data/schema.py (SCHEMA.md), in the documented layout."""

from __future__ import annotations

import json
from datetime import date, timedelta

import duckdb
import pyarrow.parquet as pq
import pytest

from ecoradar.data.io import load_truth, register_tables
from ecoradar.data.schema import (
    CATEGORIES,
    DAILY_TABLES,
    DECISIONS,
    DIMENSIONS,
    EVENT_KINDS,
    FORMATS,
    ISSUE_CATEGORIES,
    OSES,
    POLICIES,
    REGIONS,
    SOURCES,
    SURFACES,
    TABLES,
    TIERS,
)
from ecoradar.simulate.scenarios import METRICS

DAYS = [(date(2026, 1, 5) + timedelta(days=i)).isoformat() for i in range(60)]


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_file_has_the_contract_schema(tiny_world, table):
    files = sorted((tiny_world / table).rglob("*.parquet"))
    if table in DAILY_TABLES:
        assert [f.parent.name for f in files] == [f"date={d}" for d in DAYS]
        assert {f.name for f in files} == {"part-0.parquet"}
    else:
        assert [f.relative_to(tiny_world).as_posix() for f in files] == [f"{table}/part-0.parquet"]
    for f in files:
        schema = pq.read_schema(f)
        assert schema.names == TABLES[table].names
        assert [fld.type for fld in schema] == [fld.type for fld in TABLES[table]], f


def test_values_are_inside_the_contract(tiny_world):
    con = duckdb.connect()
    assert set(register_tables(con, tiny_world)) == set(TABLES)
    q = lambda sql: {r[0] for r in con.execute(sql).fetchall()}  # noqa: E731
    assert q("SELECT region FROM impressions") <= set(REGIONS)
    assert q("SELECT format FROM impressions") == set(FORMATS)
    assert q("SELECT category FROM impressions") <= set(CATEGORIES)
    assert q("SELECT surface FROM impressions") == set(SURFACES)
    assert q("SELECT os FROM impressions") == set(OSES)
    assert q("SELECT tier FROM creators") <= set(TIERS)
    assert q("SELECT policy FROM moderation") <= set(POLICIES)
    assert q("SELECT decision FROM moderation") == set(DECISIONS)
    assert q("SELECT source FROM moderation") == set(SOURCES)
    assert q("SELECT kind FROM events") <= set(EVENT_KINDS)
    assert q("SELECT appeal_outcome FROM moderation") <= {"upheld", "overturned", None}
    # NULLs are NULL, never the string 'null'; model_version exactly for automated decisions
    assert q("SELECT count(*) FROM moderation WHERE (model_version IS NULL) <> (source = 'human')") == {0}
    assert q("SELECT count(*) FROM moderation WHERE (appeal_outcome IS NULL) <> (appeal_ts IS NULL)") == {0}
    assert q("SELECT count(*) FROM moderation WHERE appeal_outcome IS NOT NULL AND NOT appealed") == {0}
    assert q("SELECT count(*) FROM moderation WHERE appealed AND decision <> 'removed'") == {0}
    assert q("SELECT count(*) FROM moderation WHERE model_version = 'null' OR appeal_outcome = 'null'") == {0}
    # every row sits in the partition of its own timestamp's day; ids join
    for t in DAILY_TABLES:
        assert q(f"SELECT count(*) FROM {t} WHERE ts::DATE <> date") == {0}, t
    assert q("SELECT min(duration_ms) > 0 AND min(watch_ms) >= 0 FROM impressions") == {True}
    assert q("SELECT count(*) FROM impressions WHERE creator_id NOT IN (SELECT creator_id FROM creators)") == {0}
    assert q("SELECT count(*) FROM moderation WHERE video_id NOT IN (SELECT video_id FROM uploads)") == {0}
    assert q("SELECT count(*) - count(DISTINCT creator_id) FROM creators") == {0}
    assert q("SELECT count(*) FROM moderation WHERE review_ms <= 0 OR appeal_ts < ts") == {0}


def test_truth_and_events_follow_schema_md(tiny_world):
    truth = load_truth(tiny_world)
    assert truth == json.loads((tiny_world / "truth.json").read_text())
    assert len(truth) >= 10
    keys = {"id", "kind", "metric_hint", "scope", "start", "end", "magnitude", "category", "description"}
    con = duckdb.connect()
    register_tables(con, tiny_world)
    scopes = {r[0] for r in con.execute("SELECT scope FROM events").fetchall()}
    for t in truth:
        assert set(t) == keys
        assert set(t["scope"]) <= set(DIMENSIONS) and 1 <= len(t["scope"]) <= 2
        assert t["metric_hint"] in METRICS and t["category"] in ISSUE_CATEGORIES
        assert t["start"] in DAYS and (t["end"] is None or t["start"] <= t["end"] <= DAYS[-1])
    scope_strings = {",".join(f"{k}={v}" for k, v in t["scope"].items()) for t in truth}
    assert 0 < len(scope_strings & scopes) < len(truth), "some scenarios log their cause and some do not"
    kinds = {r[0] for r in con.execute("SELECT kind FROM events").fetchall()}
    assert {"launch", "model_release", "holiday", "policy_change"} <= kinds


def test_clean_world_has_no_truth_and_the_same_population(tiny_world, tiny_world_clean):
    assert load_truth(tiny_world_clean) == []
    a = pq.read_table(tiny_world / "creators" / "part-0.parquet")
    b = pq.read_table(tiny_world_clean / "creators" / "part-0.parquet")
    assert a.equals(b)
