"""Parity: on the same tiny world, Spark computes the same cube and detection finds the same anomalies as DuckDB."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ecoradar.data.schema import DIMENSIONS, TABLES
from ecoradar.detect.cube import detect_cube
from ecoradar.errors import DataError
from ecoradar.metrics.cube import compute_cube, read_cube
from ecoradar.metrics.loader import load_catalog

pytestmark = pytest.mark.spark

KEYS = ["metric", "date", *DIMENSIONS]
#: Slices of the parity runs: every table's own dimensions and a creators-derived one, pairs included.
DIMS = ["region", "format", "tier", "creator_age", "policy", "source"]
DAYS = dict(date_from=dt.date(2026, 2, 20), date_to=dt.date(2026, 2, 20))
#: Detection parity covers every kind of metric: count, distinct, sum, mean, ratio (proportion or not), share,
#: entropy, gini, top share, quantile.
DETECT_METRICS = [
    "impressions",
    "active_viewers",
    "watch_hours",
    "watch_ratio",
    "like_rate",
    "format_share",
    "category_mix_entropy",
    "creator_exposure_gini",
    "top1pct_creator_share",
    "removal_rate",
    "review_latency_p50_h",
    "uploads_per_active_creator",
    "new_creator_upload_share",
]


def _merged(a: pa.Table, b: pa.Table) -> pd.DataFrame:
    return a.to_pandas().merge(b.to_pandas(), on=KEYS, how="outer", suffixes=("_duck", "_spark"), indicator=True)


def test_spark_cube_equals_duckdb_cube(spark, tiny_world, tmp_path):
    kw = dict(dimensions=DIMS, depth=2, **DAYS)
    duck = compute_cube(tiny_world, out=tmp_path / "duck", **kw)
    on_spark = compute_cube(tiny_world, out=tmp_path / "spark", engine="spark", engine_options={"session": spark}, **kw)
    assert on_spark.metrics == duck.metrics
    assert set(duck.metrics) | set(duck.metrics_skipped) == set(load_catalog())
    assert on_spark.rows == duck.rows > 2_000
    m = _merged(read_cube(tmp_path / "duck"), read_cube(tmp_path / "spark"))
    assert (m["_merge"] == "both").all(), m.loc[m["_merge"] != "both", KEYS].head()
    assert set(m["metric"]) == set(duck.metrics)
    for col in ("numerator", "denominator", "value"):
        x = m[f"{col}_duck"].to_numpy(dtype=float, na_value=np.nan)
        y = m[f"{col}_spark"].to_numpy(dtype=float, na_value=np.nan)
        close = np.isclose(x, y, rtol=1e-9, atol=1e-12, equal_nan=True)
        assert close.all(), m.loc[~close, ["metric", f"{col}_duck", f"{col}_spark"]].head()


def test_spark_detection_equals_detect_cube(spark, tiny_world, tmp_path):
    from ecoradar.detect.spark import detect_cube_spark, read_cube_spark

    catalog = load_catalog()
    metrics = {name: catalog.get(name) for name in DETECT_METRICS}
    # metrics with effective_n count creators as lumps: the rows of their effective_count metric travel with them
    computed = [*DETECT_METRICS, "effective_new_uploaders", "effective_creators"]
    compute_cube(tiny_world, out=tmp_path / "cube", metrics=computed, dimensions=["region", "format", "tier"])
    events = pq.read_table(tiny_world / "events").to_pandas()
    # a looser alpha than the default gives enough anomalies for the comparison to mean something
    kw = dict(date_from=dt.date(2026, 3, 3), date_to=dt.date(2026, 3, 4), events=events, alpha=1e-3)
    local = detect_cube(read_cube(tmp_path / "cube"), metrics, **kw)
    on_spark = detect_cube_spark(read_cube_spark(spark, str(tmp_path / "cube")), metrics, buckets=2, **kw)
    assert len(local.anomalies) > 5
    assert on_spark.tested == local.tested and on_spark.skipped == local.skipped

    def key(a):
        return (a.metric, a.date, sorted(a.scope.items()))

    assert sorted(on_spark.anomalies, key=key) == sorted(local.anomalies, key=key)
    # the same table too, up to the order of rows with equal q-value and score
    order = ["metric", "date", "region", "format", "tier", "kind"]
    a = local.table.to_pandas().sort_values(order).reset_index(drop=True)
    b = on_spark.table.to_pandas().sort_values(order).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    assert [x.q_value for x in on_spark.anomalies] == sorted(x.q_value for x in on_spark.anomalies)


def test_proportion_flags_see_every_slice(spark):
    from ecoradar.detect.spark import proportion_flags

    catalog = load_catalog()
    metrics = {n: catalog.get(n) for n in ("like_rate", "uploads_per_active_creator", "impressions")}
    rows = pd.DataFrame(
        {
            "metric": ["like_rate", "like_rate", "uploads_per_active_creator", "uploads_per_active_creator"],
            "value": [0.1, 0.9, 0.5, 1.5],  # one slice of uploads_per_active_creator above 1: not a proportion
            "denominator": [10.0, 10.0, 4.0, 4.0],
        }
    )
    flags = proportion_flags(spark.createDataFrame(rows), metrics)
    assert flags == {"like_rate": True, "uploads_per_active_creator": False, "impressions": False}


def test_spark_engine_reports_bad_folders(spark, tmp_path):
    from ecoradar.metrics.spark import SparkEngine

    with pytest.raises(DataError, match="does not exist"):
        SparkEngine(tmp_path / "nowhere", session=spark)
    folder = tmp_path / "data" / "impressions" / "date=2026-01-01"
    folder.mkdir(parents=True)
    table = TABLES["impressions"].empty_table().drop_columns(["watch_ms"])
    pq.write_table(table, folder / "part-0.parquet")
    with pytest.raises(DataError, match="missing column 'watch_ms'"):
        SparkEngine(tmp_path / "data", session=spark)


def test_daily_job_writes_the_day_and_its_anomalies(spark, tiny_world, tmp_path):
    from ecoradar.detect.spark import daily_job

    names = ["impressions", "like_rate"]  # one plan, one scan: the cube itself is covered above
    day = dt.date(2026, 3, 5)
    out = tmp_path / "out"
    compute_cube(tiny_world, out=out / "cube", metrics=names, dimensions=["region", "format"])  # history, DuckDB
    before = read_cube(out / "cube", date_from=day, date_to=day)
    result = daily_job(spark, str(tiny_world), day=day, out=str(out), metrics=names, dimensions=["region", "format"])
    after = read_cube(out / "cube", date_from=day, date_to=day)
    m = _merged(before, after)
    assert (m["_merge"] == "both").all() and len(m) == before.num_rows > 50
    assert np.allclose(m["value_duck"].astype(float), m["value_spark"].astype(float), rtol=1e-9, equal_nan=True)
    catalog = load_catalog()
    events = pq.read_table(tiny_world / "events").to_pandas()
    local = detect_cube(
        read_cube(out / "cube"), {n: catalog.get(n) for n in names}, date_from=day, date_to=day, events=events
    )
    assert sorted(map(repr, result.anomalies)) == sorted(map(repr, local.anomalies))
    written = pq.read_table(out / "anomalies" / f"date={day}" / "part-0.parquet")
    assert written.num_rows == len(result.anomalies)
