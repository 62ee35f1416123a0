"""The metric cube on local Spark beside DuckDB, on the same data, and how Spark's time grows with data size.

A seeded tiny world is simulated once into a temporary folder; the larger sizes copy each day's Parquet file k
times into the same day partition (k x the rows, same slices), outside the repo. Both engines compute the same
metrics and slices through `compute_cube`; the Spark session is started once (its start-up is reported apart)
and warmed up with one untimed run.
Rows/s counts source rows (impressions + uploads + moderation) of the days computed. Detection at scale
(`detect_cube_spark`) is timed beside `detect_cube` on the 1x cube.

    .venv/bin/python bench/bench_spark.py [--days 15] [--sizes 1,4,16] [--threads 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from ecoradar.data.schema import DAILY_TABLES
from ecoradar.detect.cube import detect_cube
from ecoradar.metrics.cube import compute_cube, read_cube
from ecoradar.metrics.loader import load_catalog
from ecoradar.simulate import simulate

START = dt.date(2026, 1, 5)
#: Slices of the run: each table's main dimensions and a creators-derived one, pairs included.
DIMS = ["region", "format", "category", "tier", "creator_age", "policy", "source"]


def scaled_copy(base: Path, out: Path, k: int) -> int:
    """Copy `base` to `out` with every daily Parquet file present k times; return the source rows."""
    shutil.copytree(base / "creators", out / "creators")
    rows = 0
    for table in DAILY_TABLES:
        for part in sorted((base / table).glob("date=*/*.parquet")):
            folder = out / table / part.parent.name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(k):
                shutil.copyfile(part, folder / f"part-{i}.parquet")
            rows += k * pq.read_metadata(part).num_rows
    return rows


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=15, help="days of data (>= 15: detection needs 14 of history)")
    ap.add_argument("--sizes", default="1,4,16", help="data multiples to run")
    ap.add_argument("--threads", type=int, default=2, help="cores for both engines")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    from ecoradar.metrics.spark import start_session

    tmp = Path(tempfile.mkdtemp(prefix="ecoradar-bench-spark-"))
    try:
        base = tmp / "base"
        simulate(base, days=args.days, start=START, seed=7, scale="tiny", issues=False)
        (spark, startup) = timed(lambda: start_session(threads=args.threads))
        print(f"Spark {spark.version} local[{args.threads}] session start-up: {startup:.1f} s (not counted below)")
        run = dict(dimensions=DIMS, depth=2, threads=args.threads, incremental=False)
        rows_out = []
        computed: list[str] = []
        # warm-up, not timed: the JVM compiles its hot paths on the first queries
        scaled_copy(base, tmp / "warmup", 1)
        compute_cube(
            tmp / "warmup", out=tmp / "warmup" / "cube", engine="spark", engine_options={"session": spark}, **run
        )
        for k in sizes:
            data = tmp / f"x{k}"
            source_rows = scaled_copy(base, data, k)
            duck, t_duck = timed(lambda d=data: compute_cube(d, out=d / "cube_duckdb", **run))
            on_spark, t_spark = timed(
                lambda d=data: compute_cube(
                    d, out=d / "cube_spark", engine="spark", engine_options={"session": spark}, **run
                )
            )
            assert duck.rows == on_spark.rows, (duck.rows, on_spark.rows)
            rows_out.append((k, source_rows, duck.rows, t_duck, t_spark))
            computed = computed or duck.metrics
            print(f"  done {k}x: duckdb {t_duck:.1f} s, spark {t_spark:.1f} s", flush=True)

        print()
        print(f"Metric cube, {len(load_catalog())} metrics, dims {','.join(DIMS)}, depth 2, {args.days} days")
        head = ("size", "source rows", "cube rows", "DuckDB s", "DuckDB rows/s", "Spark s", "Spark rows/s")
        print("| " + " | ".join(head) + " | Spark/DuckDB time | Spark time vs 1x |")
        print("|" + "---|" * (len(head) + 2))
        t1 = rows_out[0][4]
        for k, src, cube_rows, t_duck, t_spark in rows_out:
            print(
                f"| {k}x | {src:,} | {cube_rows:,} | {t_duck:.1f} | {src / t_duck:,.0f} | {t_spark:.1f} | "
                f"{src / t_spark:,.0f} | {t_spark / t_duck:.1f}x | {t_spark / t1:.2f}x |"
            )

        # detection: the same detectors, single machine vs applyInPandas panels, on the 1x cube
        from ecoradar.detect.spark import detect_cube_spark, read_cube_spark

        catalog = load_catalog()
        metrics = {m: catalog.get(m) for m in computed}
        last = START + dt.timedelta(days=args.days - 1)
        kw = dict(date_from=last, date_to=last, history_days=args.days - 1)
        local, t_local = timed(lambda: detect_cube(read_cube(tmp / f"x{sizes[0]}" / "cube_duckdb"), metrics, **kw))
        cube_path = str(tmp / f"x{sizes[0]}" / "cube_duckdb")
        dist, t_dist = timed(lambda: detect_cube_spark(read_cube_spark(spark, cube_path), metrics, buckets=4, **kw))
        same = sorted(map(repr, local.anomalies)) == sorted(map(repr, dist.anomalies))
        print()
        print(f"Detection on the {sizes[0]}x cube, last day ({local.tested:,} slice-days tested)")
        print("| engine | s | anomalies | identical |")
        print("|---|---|---|---|")
        print(f"| detect_cube (pandas/NumPy) | {t_local:.1f} | {len(local.anomalies)} | - |")
        print(f"| detect_cube_spark (applyInPandas, 4 buckets) | {t_dist:.1f} | {len(dist.anomalies)} | {same} |")
        spark.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
