"""Detection at scale: the single-machine detectors run per (metric, slice bucket) panel with Spark's applyInPandas.

The steps mirror `ecoradar.detect.cube.detect_cube` so the anomalies are the same:
1. per metric, the decisions that look at every slice at once (is it a proportion?) are made in Spark;
2. `groupBy(metric, bucket).applyInPandas` pivots each group into a [slices, days] panel and scores it with the
   same `detect_metric` code (detectors judge each series on its own, so any split of the slices works);
3. only candidates (p <= alpha) and per-day test counts leave the executors; on the driver the same
   Benjamini-Hochberg (per day, over every slice-day tested), hierarchy pruning and records follow.

PySpark is imported when this module is, so import it only where Spark is wanted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import uuid
from collections import Counter
from collections.abc import Mapping

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ecoradar.data.schema import DIMENSIONS
from ecoradar.detect.cube import (
    DEFAULT_ALPHA,
    DEFAULT_MIN_IMPACT,
    GATE_P,
    DetectionResult,
    detect_metric,
    finish_candidates,
    gate_hierarchy,
    holiday_mask,
    slice_sizes,
    with_effective_n,
)
from ecoradar.errors import DataError, InputError
from ecoradar.metrics.cube import runnable_metrics
from ecoradar.metrics.loader import check_metric, load_catalog
from ecoradar.metrics.model import Metric
from ecoradar.metrics.spark import SparkEngine, read_table

#: Slices per pandas group when `buckets` is not given: a [50k, ~63] panel is a few MB per array.
SLICES_PER_GROUP = 50_000

_NUMBERS = (
    "observed",
    "expected",
    "lower",
    "upper",
    "p_value",
    "p_adj",
    "score",
    "start_offset",
    "denominator",
    "impact",
)
_TESTED = "__tested__"
_PHANTOM = "\x00ecoradar-phantom"


def read_cube_spark(session: SparkSession, location: str) -> DataFrame:
    """The cube folder (DIR/cube/date=YYYY-MM-DD/*.parquet) at any path Spark can read, as a DataFrame."""
    return session.read.option("basePath", location).parquet(location)


def proportion_flags(cube: DataFrame, metrics: Mapping[str, Metric]) -> dict[str, bool]:
    """Per metric, whether detection treats it as a proportion (a ratio with a denominator, every value in [0, 1]).

    Same rule as `detect_metric`, over every slice of the metric at once; values at negative denominators are
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
    min_impact: float = DEFAULT_MIN_IMPACT,
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
        min_impact: smallest share of the platform's metric a reported change must amount to (as detect_cube).
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
    holidays = holiday_mask(events, days)
    den = F.col("denominator") if "denominator" in cube.columns else F.lit(None)
    judged = [n for n, m in metrics.items() if m.detect]
    feeds = {n: metrics[n].effective_n for n in judged if metrics[n].effective_n}
    window = cube.select(
        "metric",
        F.col("date").cast("date").alias("date"),
        *[F.col(d).cast("string") for d in dims],
        F.col("value").cast("double"),
        den.cast("double").alias("denominator"),
    ).where(F.col("metric").isin([*judged, *feeds.values()]) & F.col("date").between(start, date_to))
    flags = proportion_flags(window, metrics)
    # an effective_n source's rows travel with the metric they serve (same slice, same bucket), flagged `_lumps`
    lumps = [
        window.where(F.col("metric") == source).withColumn("metric", F.lit(name)).withColumn("_lumps", F.lit(True))
        for name, source in feeds.items()
    ]
    window = window.where(F.col("metric").isin(judged)).withColumn("_lumps", F.lit(False))
    for part in lumps:
        window = window.unionByName(part)
    if buckets is None:
        buckets = max(1, math.ceil(window.count() / (len(days) * SLICES_PER_GROUP)))
    # the root slice (every dim NULL) goes to every group: `detect_metric` measures impact against its totals
    is_root = F.lit(True)
    for d in dims:
        is_root = is_root & F.col(d).isNull()
    hashed = F.pmod(F.xxhash64(*[F.coalesce(F.col(d), F.lit("")) for d in dims]), F.lit(buckets))
    bucket = F.when(is_root, F.sequence(F.lit(0), F.lit(buckets - 1))).otherwise(F.array(hashed))
    keyed = window.withColumn("_bucket", F.explode(bucket))

    level = max(alpha, GATE_P)  # candidates down to the gate's level (see gate_hierarchy)

    def score_panel(rows: pd.DataFrame) -> pd.DataFrame:
        name = rows["metric"].iloc[0]
        metric = metrics[name]
        home = rows["_bucket"].iloc[0] == 0
        rows = rows.drop(columns="_bucket").assign(date=pd.to_datetime(rows["date"]).dt.normalize())
        is_lump = rows.pop("_lumps").to_numpy(dtype=bool)
        if metric.effective_n:
            rows = with_effective_n(rows.loc[~is_lump], rows.loc[is_lump], dims)
        if rows.empty:  # only effective_n rows hashed here: slices the metric itself does not have
            return pd.DataFrame({f.name: pd.Series(dtype=object) for f in udf_schema.fields})
        root = rows[dims].isna().all(axis=1)
        extra = rows.iloc[:0]
        if metric.is_ratio and not flags[name]:
            # the metric is no proportion, yet this group's slices alone may all be in [0, 1]: a phantom slice whose
            # one value (above 1) lies before the judged days makes `detect_metric` decide as on the whole metric
            extra = pd.DataFrame({"metric": [name], "date": [days[0]], "value": [2.0], "denominator": [0.0]})
            extra = extra.assign(**{d: [_PHANTOM if i == 0 else None] for i, d in enumerate(dims)})
        skipped: Counter[str] = Counter()
        tested: Counter[dt.date] = Counter()
        found = detect_metric(
            pd.concat([rows, extra], ignore_index=True),
            *(metric, dims, days, holidays, history_days, date_from, skipped, tested, level),
        )
        found = found.loc[found[dims[0]].ne(_PHANTOM).fillna(True)]
        # what to take out of the counts: the phantom (missing on every judged day) and, outside group 0, the root
        # slice, which every group holds for the platform totals but only group 0 judges and counts
        out_rows = rows.loc[root] if not home and root.any() else rows.iloc[:0]
        if len(out_rows) or len(extra):
            if len(out_rows):
                found = found.loc[~found[dims].isna().all(axis=1)]
            less_skipped: Counter[str] = Counter()
            less_tested: Counter[dt.date] = Counter()
            detect_metric(
                pd.concat([out_rows, extra], ignore_index=True),
                *(metric, dims, days, holidays, history_days, date_from, less_skipped, less_tested, level),
            )
            skipped.subtract(less_skipped)
            tested.subtract(less_tested)
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
    skipped["metric_not_in_cube"] += len(set(judged) - set(stats["metric"]))
    skipped = Counter({k: v for k, v in skipped.items() if v})
    candidates = scored.loc[scored["_reason"].isna()].drop(columns=["_reason", "_count"])
    found = gate_hierarchy(candidates, dims, skipped, metrics=metrics)
    # the slices that can be two anomalies' common parent (every depth but the deepest): a few per metric and day
    depth = sum((F.col(d).isNotNull().cast("int") for d in dims), F.lit(0))
    own_rows = ~F.col("_lumps") & (F.col("date") >= date_from)  # not the effective_n rows travelling with them
    sized = window.where(own_rows).withColumn("_depth", depth)
    deepest = sized.agg(F.max("_depth")).collect()[0][0] or 0
    parents = sized.where(F.col("_depth") < deepest).drop("_depth", "_lumps").toPandas()
    sizes = slice_sizes(parents, dims)
    return finish_candidates(found, dims, metrics, tested, skipped, alpha=alpha, min_impact=min_impact, sizes=sizes)


def _write_one_file(session: SparkSession, frame: DataFrame, folder: str) -> None:
    """Write `frame` as folder/part-0.parquet (the layout read_cube reads), through a staging folder."""
    hpath = session.sparkContext._jvm.org.apache.hadoop.fs.Path
    folder = folder.rstrip("/")
    staging = hpath(f"{folder}.tmp-{uuid.uuid4().hex[:8]}")
    frame.coalesce(1).write.mode("overwrite").parquet(staging.toString())
    fs = staging.getFileSystem(session.sparkContext._jsc.hadoopConfiguration())
    part = next(s.getPath() for s in fs.listStatus(staging) if s.getPath().getName().endswith(".parquet"))
    fs.delete(hpath(folder), True)
    fs.mkdirs(hpath(folder))
    fs.rename(part, hpath(f"{folder}/part-0.parquet"))
    fs.delete(staging, True)


def daily_job(
    session: SparkSession,
    data: str,
    *,
    day: dt.date,
    out: str,
    metrics: list[str] | None = None,
    dimensions: list[str] | None = None,
    depth: int = 2,
    history_days: int = 56,
    buckets: int | None = None,
) -> DetectionResult:
    """The daily run on a cluster: the day's cube with Spark, then detection over the cube's last `history_days`.

    Reads only the day's `date=` partitions of DATA; writes OUT/cube/date=DAY/part-0.parquet (the layout every
    stage reads) and OUT/anomalies/date=DAY/part-0.parquet. Earlier days of OUT/cube are the history.

    Args:
        session: the SparkSession (under spark-submit, `SparkSession.builder.getOrCreate()`).
        data: the data folder, any path Spark reads (hdfs://, s3a://, local).
        day: the day to compute and judge.
        out: folder that holds cube/ and anomalies/.
        metrics: names to compute and judge (None: every metric whose tables DATA has).
        dimensions: slice only by these (None: each metric's own).
        depth: largest number of dimensions in one slice.
        history_days: days of cube before `day` that form the baseline.
        buckets: see `detect_cube_spark`.
    """
    catalog = load_catalog()
    chosen = catalog.select(metrics)
    for metric in chosen:
        check_metric(metric, catalog.origin(metric.name))
    dims = tuple(dimensions) if dimensions is not None else None
    out = out.rstrip("/")
    with SparkEngine(data, session=session, date_from=day, date_to=day) as eng:
        runnable, _ = runnable_metrics(chosen, eng.columns(), explicit=metrics is not None, dims=dims, depth=depth)
        compiler = eng.compiler()
        query = compiler.cube_query(runnable, dims=dims, depth=depth, date_from=day, date_to=day)
        _write_one_file(session, eng.frame(compiler.sql(query)), f"{out}/cube/date={day.isoformat()}")
    events_frame = read_table(session, f"{data.rstrip('/')}/events")
    events = events_frame.toPandas() if events_frame is not None else None
    result = detect_cube_spark(
        read_cube_spark(session, f"{out}/cube"),
        {m.name: m for m in runnable},
        date_from=day,
        date_to=day,
        events=events,
        history_days=history_days,
        buckets=buckets,
    )
    _write_one_file(session, session.createDataFrame(result.table), f"{out}/anomalies/date={day.isoformat()}")
    return result


def main(argv: list[str] | None = None) -> None:
    """Entry point of `spark-submit .../ecoradar/detect/spark.py --data URL --out URL --day YYYY-MM-DD`."""
    ap = argparse.ArgumentParser(description="ecoradar daily job on Spark: the day's metric cube, then detection.")
    ap.add_argument("--data", required=True, help="data folder (hdfs://, s3a://, local)")
    ap.add_argument("--out", required=True, help="folder for cube/ and anomalies/")
    ap.add_argument("--day", required=True, type=dt.date.fromisoformat, help="day to compute and judge")
    ap.add_argument("--metric", action="append", help="only this metric (repeatable)")
    ap.add_argument("--dims", help="comma-separated dimensions to slice by (default: each metric's own)")
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--history-days", type=int, default=56)
    ap.add_argument("--buckets", type=int, default=None)
    args = ap.parse_args(argv)
    session = SparkSession.builder.appName("ecoradar-daily").getOrCreate()
    result = daily_job(
        session,
        args.data,
        day=args.day,
        out=args.out,
        metrics=args.metric,
        dimensions=args.dims.split(",") if args.dims else None,
        depth=args.depth,
        history_days=args.history_days,
        buckets=args.buckets,
    )
    print(f"{args.day}: {result.tested:,} slice-days tested, {len(result.anomalies)} anomalies -> {args.out}/anomalies")


if __name__ == "__main__":
    main()
