"""Detection at scale: the single-machine detectors run per (metric, slice bucket) panel with Spark's applyInPandas.

The steps mirror `ecoradar.detect.cube.detect_cube` so the anomalies are the same:
1. per metric, the decisions that look at every slice at once (is it a proportion?) are made in Spark;
2. `groupBy(metric, bucket).applyInPandas` pivots each group into a [slices, days] panel and scores it with the
   same `_detect_metric` code (detectors judge each series on its own, so any split of the slices works);
3. Benjamini-Hochberg q-values per day are Spark window functions over every slice-day tested that day;
4. the few fired slice-days come back to the driver for hierarchy pruning and records (same functions).

PySpark is imported when this module is, so import it only where Spark is wanted.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Mapping

import pandas as pd
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ecoradar.data.schema import DIMENSIONS
from ecoradar.detect.cube import (
    DEFAULT_ALPHA,
    DetectionResult,
    _detect_metric,
    _empty,
    _holidays,
    _records,
    _to_table,
    prune_hierarchy,
)
from ecoradar.errors import DataError, InputError
from ecoradar.metrics.model import Metric

#: Slices per pandas group when `buckets` is not given: a [50k, ~63] panel is a few MB per array.
SLICES_PER_GROUP = 50_000

_NUMBERS = ("observed", "expected", "lower", "upper", "p_value", "p_adj", "score", "start_offset", "denominator")
_TESTED = "__tested__"


def read_cube_spark(session: SparkSession, location: str) -> DataFrame:
    """The cube folder (DIR/cube/date=YYYY-MM-DD/*.parquet) at any path Spark can read, as a DataFrame."""
    return session.read.option("basePath", location).parquet(location)


def proportion_flags(cube: DataFrame, metrics: Mapping[str, Metric]) -> dict[str, bool]:
    """Per metric, whether detection treats it as a proportion (a ratio with a denominator, every value in [0, 1]).

    Same rule as `_detect_metric`, over every slice of the metric at once; values at negative denominators are
    left out there, so here too.
    """
    ratios = [m for m, d in metrics.items() if d.is_ratio]
    if not ratios:
        return {m: False for m in metrics}
    ok = F.col("value").isNotNull() & ~F.isnan("value") & ~(F.coalesce(F.col("denominator"), F.lit(0.0)) < 0)
    rows = (
        cube.where(F.col("metric").isin(ratios))
        .groupBy("metric")
        .agg(
            F.count("denominator").alias("n_den"),
            F.min(F.when(ok, F.col("value"))).alias("lo"),
            F.max(F.when(ok, F.col("value"))).alias("hi"),
        )
        .collect()
    )
    flags = {m: False for m in metrics}
    for r in rows:
        flags[r["metric"]] = r["n_den"] > 0 and (r["lo"] is None or r["lo"] >= 0) and (r["hi"] is None or r["hi"] <= 1)
    return flags


def bh_qvalues_spark(found: DataFrame, p: str = "p_adj", by: str = "date") -> DataFrame:
    """Add `q_value`: Benjamini-Hochberg within each `by` group, the same numbers as `multitest.bh_qvalues`.

    q_i = min over p_j >= p_i of p_j * n / rank_j (rank ascending, ties take consecutive ranks), capped at 1;
    a RANGE frame takes every tie at once, as the reverse cumulative minimum of bh_qvalues does.
    """
    up = Window.partitionBy(by).orderBy(F.col(p).asc())
    down = Window.partitionBy(by).orderBy(F.col(p).desc()).rangeBetween(Window.unboundedPreceding, Window.currentRow)
    n = F.count(F.lit(1)).over(Window.partitionBy(by))
    raw = found.withColumn("_raw", F.least(F.col(p) * n / F.row_number().over(up), F.lit(1.0)))
    return raw.withColumn("q_value", F.min("_raw").over(down)).drop("_raw")


def detect_cube_spark(
    cube: DataFrame,
    metrics: Mapping[str, Metric],
    *,
    date_from: dt.date,
    date_to: dt.date,
    events: pd.DataFrame | None = None,
    history_days: int = 56,
    alpha: float = DEFAULT_ALPHA,
    buckets: int | None = None,
) -> DetectionResult:
    """`detect_cube` on a Spark DataFrame of the cube: the same anomalies, scored in parallel panels.

    Args:
        cube: Spark DataFrame with the cube columns (metric, date, dims..., numerator, denominator, value).
        metrics: metric name -> definition.
        date_from, date_to: days judged (inclusive).
        events: the events table (holidays are left out of baselines and not judged).
        history_days: days before each judged day that form its baseline.
        alpha: BH level across all slice-days tested on one day.
        buckets: groups each metric's slices are hashed into (None: one per SLICES_PER_GROUP slices).

    Returns:
        DetectionResult, as `detect_cube` returns it.

    Raises:
        DataError: the cube lacks a required column.
        InputError: buckets < 1.
    """
    missing = [c for c in ("metric", "date", "value") if c not in cube.columns]
    if missing:
        raise DataError(f"the cube lacks column(s) {missing}; expected metric, date, dims..., value")
    if buckets is not None and buckets < 1:
        raise InputError(f"buckets must be >= 1, got {buckets}")
    dims = [d for d in DIMENSIONS if d in cube.columns]
    start = date_from - dt.timedelta(days=history_days)
    days = pd.date_range(pd.Timestamp(start), pd.Timestamp(date_to), freq="D")
    holidays = _holidays(events, days)
    den = F.col("denominator") if "denominator" in cube.columns else F.lit(None)
    window = cube.select(
        "metric",
        F.col("date").cast("date").alias("date"),
        *[F.col(d).cast("string") for d in dims],
        F.col("value").cast("double"),
        den.cast("double").alias("denominator"),
    ).where(F.col("metric").isin(list(metrics)) & F.col("date").between(start, date_to))
    flags = proportion_flags(window, metrics)
    if buckets is None:
        buckets = max(1, math.ceil(window.count() / (len(days) * SLICES_PER_GROUP)))
    keyed = window.withColumn("_bucket", F.pmod(F.xxhash64(*[F.coalesce(F.col(d), F.lit("")) for d in dims]), buckets))

    def score_panel(rows: pd.DataFrame) -> pd.DataFrame:
        name = rows["metric"].iloc[0]
        metric = metrics[name]
        if metric.is_ratio and not flags[name]:
            # the slices of this group alone might all be in [0, 1]; the metric as a whole is not a proportion
            metric = metric.model_copy(update={"kind": "mean"})
        rows = rows.drop(columns="_bucket").assign(date=pd.to_datetime(rows["date"]).dt.normalize())
        skipped: Counter[str] = Counter()
        found, tested = _detect_metric(rows, metric, dims, days, holidays, history_days, date_from, skipped)
        found = found.reindex(columns=out_schema.fieldNames()).assign(_reason=None, _count=0)
        stats = pd.DataFrame({"_reason": [_TESTED, *skipped], "_count": [tested, *skipped.values()]})
        stats["metric"] = name
        out = pd.concat([found, stats.reindex(columns=found.columns)], ignore_index=True)
        out["date"] = pd.to_datetime(out["date"]).dt.date.where(out["date"].notna(), None)
        for c in ("metric", *dims, "kind", "detector", "_reason"):
            # plain objects: PySpark cannot convert pandas 3's Arrow-backed strings back yet
            out[c] = out[c].astype(object).where(out[c].notna(), None)
        return out

    out_schema = T.StructType(
        [T.StructField("metric", T.StringType()), T.StructField("date", T.DateType())]
        + [T.StructField(d, T.StringType()) for d in dims]
        + [T.StructField(c, T.DoubleType()) for c in _NUMBERS]
        + [T.StructField("kind", T.StringType()), T.StructField("detector", T.StringType())]
    )
    udf_schema = T.StructType(
        out_schema.fields + [T.StructField("_reason", T.StringType()), T.StructField("_count", T.LongType())]
    )
    scored = keyed.groupBy("metric", "_bucket").applyInPandas(score_panel, udf_schema).persist()
    try:
        counts = scored.where(F.col("_reason").isNotNull()).groupBy("metric", "_reason").agg(F.sum("_count").alias("n"))
        skipped: Counter[str] = Counter()
        tested, seen = 0, set()
        for r in counts.collect():
            seen.add(r["metric"])
            if r["_reason"] == _TESTED:
                tested += int(r["n"])
            elif r["n"]:
                skipped[r["_reason"]] += int(r["n"])
        skipped["metric_not_in_cube"] += len(set(metrics) - seen)
        candidates = scored.where(F.col("_reason").isNull()).drop("_reason", "_count")
        fired = bh_qvalues_spark(candidates).where(F.col("q_value") <= alpha).toPandas()
    finally:
        scored.unpersist()
    skipped = Counter({k: v for k, v in skipped.items() if v})
    if fired.empty:
        return DetectionResult([], dict(skipped), _to_table(_empty(dims), dims), tested)
    for d in dims:
        fired[d] = fired[d].astype(object).where(fired[d].notna(), None)
    for c in ("metric", "kind", "detector"):
        fired[c] = fired[c].astype(object)
    fired = fired.sort_values(["metric", "date", *dims], na_position="first", kind="stable").reset_index(drop=True)
    found = prune_hierarchy(fired, dims, metrics)
    found = found.sort_values(["q_value", "score"], ascending=[True, False], kind="stable").reset_index(drop=True)
    return DetectionResult(_records(found, dims), dict(skipped), _to_table(found, dims), tested)
