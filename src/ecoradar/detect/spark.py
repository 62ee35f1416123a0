"""Detection at scale: the single-machine detectors run per (metric, slice bucket) panel with Spark's applyInPandas.

The steps mirror `ecoradar.detect.cube.detect_cube` so the anomalies are the same:
1. per metric, the decisions that look at every slice at once (is it a proportion?) are made in Spark;
2. `groupBy(metric, bucket).applyInPandas` pivots each group into a [slices, days] panel and scores it with the
   same `_detect_metric` code (detectors judge each series on its own, so any split of the slices works);
3. only candidates (p <= alpha) and per-day test counts leave the executors; on the driver the same
   Benjamini-Hochberg (per day, over every slice-day tested), hierarchy pruning and records follow.

PySpark is imported when this module is, so import it only where Spark is wanted.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Mapping

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ecoradar.data.schema import DIMENSIONS
from ecoradar.detect.cube import (
    DEFAULT_ALPHA,
    DetectionResult,
    _detect_metric,
    _holidays,
    _records,
    _schema,
    _to_table,
    prune_hierarchy,
)
from ecoradar.detect.multitest import bh_qvalues
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
        tested: Counter[dt.date] = Counter()
        found = _detect_metric(rows, metric, dims, days, holidays, history_days, date_from, skipped, tested, alpha)
        found = found.reindex(columns=out_schema.fieldNames()).assign(_reason=None, _count=0)
        stats = pd.DataFrame(
            {
                "_reason": [_TESTED] * len(tested) + list(skipped),
                "date": list(tested) + [None] * len(skipped),
                "_count": list(tested.values()) + list(skipped.values()),
            }
        )
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
    # candidates (p <= alpha) and counts are few: one collect brings them to the driver for BH and pruning
    scored = keyed.groupBy("metric", "_bucket").applyInPandas(score_panel, udf_schema).toPandas()
    stats = scored.loc[scored["_reason"].notna()]
    tested: Counter[dt.date] = Counter()
    skipped: Counter[str] = Counter()
    for reason, day, n in stats[["_reason", "date", "_count"]].itertuples(index=False):
        if reason == _TESTED:
            tested[day] += int(n)
        else:
            skipped[reason] += int(n)
    skipped["metric_not_in_cube"] += len(set(metrics) - set(stats["metric"]))
    skipped = Counter({k: v for k, v in skipped.items() if v})
    found = scored.loc[scored["_reason"].isna()].drop(columns=["_reason", "_count"])
    if found.empty:
        return DetectionResult([], dict(skipped), _schema(dims).empty_table(), sum(tested.values()))
    for c in ("metric", *dims, "kind", "detector"):
        found[c] = found[c].astype(object).where(found[c].notna(), None)
    # a deterministic order before the stable sorts below (rows with equal q and score stay in slice order)
    found = found.sort_values(["metric", "date", *dims], na_position="first", kind="stable").reset_index(drop=True)
    found["q_value"] = bh_qvalues(found["p_adj"].to_numpy(), found["date"].to_numpy(), n_tests=tested)
    found = found.loc[found["q_value"] <= alpha]
    found = prune_hierarchy(found, dims, metrics)
    found = found.sort_values(["q_value", "score"], ascending=[True, False], kind="stable").reset_index(drop=True)
    return DetectionResult(_records(found, dims), dict(skipped), _to_table(found, dims), sum(tested.values()))
