"""Benchmark: the built-in metric cube (depth 2) vs a hand-written DuckDB query and a pandas groupby version.

Usage: .venv/bin/python bench/bench_metrics.py [--data DIR] [--pandas-days N] [--threads N]

Data: the default simulated world (`ecoradar simulate --scale default`, ~20M impressions over 60 days), generated
into --data when that folder is empty. Every approach runs in its own fresh process (so peak memory is its own)
and reads the same Parquet files. pandas runs on the first --pandas-days days only (it is slow and large in memory);
rows/s makes the numbers comparable. Timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
from rich.console import Console
from rich.table import Table

from ecoradar.metrics.cube import compute_cube
from ecoradar.metrics.engine import DuckDBEngine
from ecoradar.metrics.loader import load_catalog

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(tempfile.gettempdir()) / "ecoradar-bench" / "default-world"
#: The dimensions of the benchmark cube (issue 3: "depth-2 cube over region, format, ... and creator tier").
DIMS = ("region", "format", "category", "surface", "os", "app_version", "tier")
DEPTH = 2
NONE = "(none)"


def grouping_sets(dims, extra=()) -> str:
    sets = [c for k in range(DEPTH + 1) for c in itertools.combinations(dims, k)]
    return ", ".join("(" + ", ".join(["d", *extra, *s]) + ")" for s in sets)


def hand_written_sql() -> str:
    """The fastest single DuckDB query I could write for the same aggregates (all built-in metrics, wide output)."""
    d7 = ", ".join(DIMS)
    d4 = "region, format, category, tier"
    no_fmt = [d for d in DIMS if d != "format"]
    no_cat = [d for d in DIMS if d != "category"]

    def dims_of(names, alias=""):
        return ", ".join(f"COALESCE({alias}{n}, '{NONE}') AS {n}" for n in names)

    return f"""
WITH imp AS (
  SELECT CAST(i.ts AS DATE) AS d, {dims_of(DIMS[:6], "i.")}, COALESCE(c.tier, '{NONE}') AS tier,
         i.user_id, i.creator_id, i.watch_ms, i.duration_ms, i.liked, i.shared, i.commented, i.followed,
         i.not_interested, i.reported, date_diff('day', c.join_date, CAST(i.ts AS DATE)) < 30 AS is_new
  FROM impressions i LEFT JOIN creators c ON i.creator_id = c.creator_id),
imp_fine AS (
  SELECT d, {d7}, count(*) AS n, sum(watch_ms) AS w,
         sum(CASE WHEN duration_ms > 0 THEN least(watch_ms / duration_ms, 5) END) AS wr,
         count(CASE WHEN duration_ms > 0 THEN 1 END) AS wrn, count_if(watch_ms >= duration_ms) AS comp,
         count_if(liked) AS lk, count_if(shared) AS sh, count_if(commented) AS cm, count_if(followed) AS fl,
         count_if(not_interested) AS ni, count_if(reported) AS rp, count_if(is_new) AS nw
  FROM imp GROUP BY ALL),
imp_cube AS (
  SELECT d, {d7}, grouping_id({d7}) AS g, sum(n) AS impressions, sum(w) / 3600000.0 AS watch_hours,
         sum(wr) / sum(wrn) AS watch_ratio, sum(comp) / sum(n) AS completion_rate, sum(lk) / sum(n) AS like_rate,
         sum(sh) / sum(n) AS share_rate, sum(cm) / sum(n) AS comment_rate, sum(fl) / sum(n) AS follow_rate,
         sum(ni) / sum(n) AS not_interested_rate, sum(rp) / sum(n) AS report_rate,
         sum(nw) / sum(n) AS new_creator_share
  FROM imp_fine GROUP BY GROUPING SETS ({grouping_sets(DIMS)})),
imp_out AS (
  SELECT *, impressions / sum(impressions) OVER (PARTITION BY d, g, {", ".join(no_fmt)}) AS format_share,
         impressions / sum(impressions) OVER (PARTITION BY d, g, {", ".join(no_cat)}) AS category_share
  FROM imp_cube),
cr_fine AS (SELECT d, {d7}, creator_id, count(*) AS x FROM imp GROUP BY ALL),
cr_sets AS (
  SELECT d, {d7}, grouping_id({d7}) AS g, creator_id, sum(x) AS x
  FROM cr_fine GROUP BY GROUPING SETS ({grouping_sets(DIMS, ["creator_id"])})),
cr_ranked AS (
  SELECT *, row_number() OVER (PARTITION BY d, g, {d7} ORDER BY x DESC, creator_id) AS rk,
         count(*) OVER (PARTITION BY d, g, {d7}) AS nn FROM cr_sets),
cr_out AS (
  SELECT d, g, {d7}, count(*) AS exposed_creators,
         2 * sum((nn - rk + 1) * x) / (count(*) * sum(x)) - (count(*) + 1) / count(*) AS creator_exposure_gini,
         sum(x) FILTER (WHERE rk <= greatest(1, floor(nn * 0.01))) / sum(x) AS top1pct_creator_share
  FROM cr_ranked GROUP BY ALL),
us_fine AS (SELECT DISTINCT d, {d7}, user_id FROM imp),
us_out AS (
  SELECT d, {d7}, grouping_id({d7}) AS g, count(DISTINCT user_id) AS active_viewers
  FROM us_fine GROUP BY GROUPING SETS ({grouping_sets(DIMS)})),
fm_sets AS (
  SELECT d, {", ".join(no_fmt)}, grouping_id({", ".join(no_fmt)}) AS g, format, sum(n) AS x
  FROM imp_fine GROUP BY GROUPING SETS ({grouping_sets(no_fmt, ["format"])})),
fm_out AS (
  SELECT d, g, {", ".join(no_fmt)}, -sum(x / tot * ln(x / tot)) AS format_mix_entropy
  FROM (SELECT *, sum(x) OVER (PARTITION BY d, g, {", ".join(no_fmt)}) AS tot FROM fm_sets) GROUP BY ALL),
ct_sets AS (
  SELECT d, {", ".join(no_cat)}, grouping_id({", ".join(no_cat)}) AS g, category, sum(n) AS x
  FROM imp_fine GROUP BY GROUPING SETS ({grouping_sets(no_cat, ["category"])})),
ct_out AS (
  SELECT d, g, {", ".join(no_cat)}, -sum(x / tot * ln(x / tot)) AS category_mix_entropy
  FROM (SELECT *, sum(x) OVER (PARTITION BY d, g, {", ".join(no_cat)}) AS tot FROM ct_sets) GROUP BY ALL),
up AS (
  SELECT CAST(u.ts AS DATE) AS d, {dims_of(["region", "format", "category"], "u.")},
         COALESCE(c.tier, '{NONE}') AS tier, u.creator_id,
         date_diff('day', c.join_date, CAST(u.ts AS DATE)) < 30 AS is_new
  FROM uploads u LEFT JOIN creators c ON u.creator_id = c.creator_id),
up_cube AS (
  SELECT d, {d4}, grouping_id({d4}) AS g, count(*) AS uploads, count(DISTINCT creator_id) AS active_creators,
         count(*) / count(DISTINCT creator_id) AS uploads_per_active_creator,
         count_if(is_new) / count(*) AS new_creator_upload_share
  FROM up GROUP BY GROUPING SETS ({grouping_sets(d4.split(", "))})),
up_out AS (
  SELECT *, uploads / sum(uploads) OVER (PARTITION BY d, g, region, category, tier) AS upload_format_share
  FROM up_cube),
md AS (
  SELECT CAST(m.ts AS DATE) AS d, {dims_of(["region", "format", "category"], "m.")},
         COALESCE(c.tier, '{NONE}') AS tier, m.decision, m.source, m.appealed, m.appeal_outcome, m.review_ms
  FROM moderation m LEFT JOIN creators c ON m.creator_id = c.creator_id),
md_out AS (
  SELECT d, {d4}, grouping_id({d4}) AS g, count(*) AS moderation_decisions,
         count_if(decision = 'removed') AS removals,
         count_if(decision = 'restricted') / count(*) AS restriction_rate,
         count_if(decision = 'removed' AND source = 'automated') / nullif(count_if(decision = 'removed'), 0)
           AS automated_removal_share,
         count_if(decision = 'removed' AND appealed) / nullif(count_if(decision = 'removed'), 0) AS appeal_rate,
         count_if(appeal_outcome = 'overturned') / nullif(count_if(appeal_outcome IS NOT NULL), 0)
           AS appeal_overturn_rate,
         quantile_cont(review_ms / 3600000.0, 0.5) AS review_latency_p50_h,
         quantile_cont(review_ms / 3600000.0, 0.9) AS review_latency_p90_h
  FROM md GROUP BY GROUPING SETS ({grouping_sets(d4.split(", "))})),
rr_out AS (
  SELECT coalesce(m.d, u.d) AS d, coalesce(m.g, u.g) AS g, coalesce(m.region, u.region) AS region,
         coalesce(m.format, u.format) AS format, coalesce(m.category, u.category) AS category,
         coalesce(m.tier, u.tier) AS tier, coalesce(m.removals, 0) / nullif(u.uploads, 0) AS removal_rate
  FROM md_out m FULL JOIN up_cube u
    ON m.d = u.d AND m.g = u.g AND m.region IS NOT DISTINCT FROM u.region
   AND m.format IS NOT DISTINCT FROM u.format AND m.category IS NOT DISTINCT FROM u.category
   AND m.tier IS NOT DISTINCT FROM u.tier)
SELECT * FROM imp_out
UNION ALL BY NAME SELECT * FROM cr_out
UNION ALL BY NAME SELECT * FROM us_out
UNION ALL BY NAME SELECT * FROM fm_out
UNION ALL BY NAME SELECT * FROM ct_out
UNION ALL BY NAME SELECT * FROM up_out
UNION ALL BY NAME SELECT * FROM md_out
UNION ALL BY NAME SELECT * FROM rr_out
"""


def source_rows(data: Path, days: int | None = None) -> int:
    total = 0
    for table in ("impressions", "uploads", "moderation"):
        parts = [f for p in sorted((data / table).glob("date=*"))[:days] for f in sorted(p.glob("*.parquet"))]
        total += ds.dataset([str(p) for p in parts], format="parquet").count_rows()
    return total


def run_ours(data: Path, threads: int | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        result = compute_cube(data, out=Path(tmp) / "cube", dimensions=list(DIMS), depth=DEPTH, threads=threads)
        return {"out_rows": result.rows, "metrics": len(result.metrics)}


def run_duckdb(data: Path, threads: int | None) -> dict:
    with DuckDBEngine(data, threads=threads) as eng:
        out = eng.query(hand_written_sql())
    return {"out_rows": out.num_rows, "metrics": len(load_catalog())}


# -- pandas: the same metrics, one groupby per grouping set -----------------------------------------------------


def _read(data: Path, table: str, days: int, columns: list[str]) -> pd.DataFrame:
    parts = [f for p in sorted((data / table).glob("date=*"))[:days] for f in sorted(p.glob("*.parquet"))]
    return ds.dataset([str(p) for p in parts], format="parquet").to_table(columns=columns).to_pandas()


def _prepare(df: pd.DataFrame, creators: pd.DataFrame, dims: list[str]) -> pd.DataFrame:
    df = df.merge(creators, on="creator_id", how="left")
    df["d"] = df["ts"].dt.normalize()
    df["is_new"] = (df["d"] - pd.to_datetime(df["join_date"])).dt.days < 30
    for dim in dims:
        df[dim] = df[dim].fillna(NONE)
    return df


def _sets(dims):
    return [list(c) for k in range(DEPTH + 1) for c in itertools.combinations(dims, k)]


def _concentration(df: pd.DataFrame, keys: list[str], entity: str) -> pd.DataFrame:
    x = df.groupby([*keys, entity], sort=False).size().rename("x").reset_index()
    x = x.sort_values([*keys, "x", entity], ascending=[True] * len(keys) + [False, True])
    g = x.groupby(keys, sort=False)
    x["rank"] = g.cumcount() + 1
    x["n"] = g["x"].transform("size")
    x["tot"] = g["x"].transform("sum")
    x["w"] = (x["n"] - x["rank"] + 1) * x["x"]
    x["top"] = np.where(x["rank"] <= np.maximum(1, np.floor(x["n"] * 0.01 + 1e-9)), x["x"], 0)
    p = x["x"] / x["tot"]
    x["h"] = -p * np.log(p)
    out = x.groupby(keys, sort=False).agg(
        n=("x", "size"), tot=("x", "sum"), w=("w", "sum"), top=("top", "sum"), h=("h", "sum")
    )
    out["gini"] = 2 * out["w"] / (out["n"] * out["tot"]) - (out["n"] + 1) / out["n"]
    out["top_share"] = out["top"] / out["tot"]
    return out


def run_pandas(data: Path, days: int) -> dict:
    creators = (
        ds.dataset(str(data / "creators"), format="parquet")
        .to_table(columns=["creator_id", "tier", "join_date"])
        .to_pandas()
    )
    flags = ["liked", "shared", "commented", "followed", "not_interested", "reported"]
    imp = _prepare(
        _read(data, "impressions", days, ["ts", "user_id", "creator_id", *DIMS[:6], "duration_ms", "watch_ms", *flags]),
        creators,
        list(DIMS),
    )
    imp["watch_h"] = imp["watch_ms"] / 3_600_000.0
    imp["wr"] = (imp["watch_ms"] / imp["duration_ms"].where(imp["duration_ms"] > 0)).clip(upper=5)
    imp["comp"] = imp["watch_ms"] >= imp["duration_ms"]
    for f in flags:
        imp[f] = imp[f].fillna(False).astype(bool)
    out_rows = 0
    for s in _sets(DIMS):
        keys = ["d", *s]
        g = imp.groupby(keys, sort=False)
        simple = g.agg(
            impressions=("user_id", "size"),
            active_viewers=("user_id", "nunique"),
            exposed_creators=("creator_id", "nunique"),
            watch_hours=("watch_h", "sum"),
            watch_ratio=("wr", "mean"),
            completion_rate=("comp", "mean"),
            new_creator_share=("is_new", "mean"),
            **{f"{f}_rate": (f, "mean") for f in flags},
        )
        if "format" in s:
            parent = ["d", *[d for d in s if d != "format"]]
            simple["format_share"] = simple["impressions"] / simple.groupby(parent)["impressions"].transform("sum")
        if "category" in s:
            parent = ["d", *[d for d in s if d != "category"]]
            simple["category_share"] = simple["impressions"] / simple.groupby(parent)["impressions"].transform("sum")
        conc = _concentration(imp, keys, "creator_id")
        out_rows += len(simple) * simple.shape[1] + 2 * len(conc)
        if "format" not in s:
            out_rows += len(_concentration(imp, keys, "format"))
        if "category" not in s:
            out_rows += len(_concentration(imp, keys, "category"))
    d4 = ["region", "format", "category", "tier"]
    up = _prepare(_read(data, "uploads", days, ["ts", "creator_id", *d4[:3]]), creators, d4)
    md = _prepare(
        _read(
            data,
            "moderation",
            days,
            ["ts", "creator_id", *d4[:3], "decision", "source", "appealed", "appeal_outcome", "review_ms"],
        ),
        creators,
        d4,
    )
    md["removed"] = md["decision"] == "removed"
    md["restricted"] = md["decision"] == "restricted"
    md["auto_removed"] = md["removed"] & (md["source"] == "automated")
    md["appeal_removed"] = md["removed"] & md["appealed"].fillna(False).astype(bool)
    md["has_outcome"] = md["appeal_outcome"].notna()
    md["overturned"] = md["appeal_outcome"] == "overturned"
    md["h"] = md["review_ms"] / 3_600_000.0
    for s in _sets(d4):
        keys = ["d", *s]
        u = up.groupby(keys, sort=False).agg(
            uploads=("creator_id", "size"), active=("creator_id", "nunique"), new=("is_new", "mean")
        )
        u["per_creator"] = u["uploads"] / u["active"]
        if "format" in s:
            u["format_share"] = u["uploads"] / u.groupby(["d", *[d for d in s if d != "format"]])["uploads"].transform(
                "sum"
            )
        m = md.groupby(keys, sort=False).agg(
            decisions=("h", "size"),
            removals=("removed", "sum"),
            restricted=("restricted", "mean"),
            auto=("auto_removed", "sum"),
            appeals=("appeal_removed", "sum"),
            outcomes=("has_outcome", "sum"),
            overturned=("overturned", "sum"),
            p50=("h", lambda v: v.quantile(0.5)),
            p90=("h", lambda v: v.quantile(0.9)),
        )
        m["auto_share"] = m["auto"] / m["removals"].where(m["removals"] > 0)
        m["appeal_rate"] = m["appeals"] / m["removals"].where(m["removals"] > 0)
        m["overturn_rate"] = m["overturned"] / m["outcomes"].where(m["outcomes"] > 0)
        rr = m[["removals"]].join(u[["uploads"]], how="outer")
        rr["removal_rate"] = rr["removals"].fillna(0) / rr["uploads"]
        out_rows += len(u) * 5 + len(m) * 8 + len(rr)
    return {"out_rows": out_rows, "metrics": len(load_catalog())}


def worker(args) -> None:
    start = time.perf_counter()
    if args.worker == "ours":
        info = run_ours(args.data, args.threads)
    elif args.worker == "duckdb":
        info = run_duckdb(args.data, args.threads)
    else:
        info = run_pandas(args.data, args.pandas_days)
    info["seconds"] = time.perf_counter() - start
    info["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(info))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--pandas-days", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--worker", choices=["ours", "duckdb", "pandas"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    console = Console()
    if not (args.data / "impressions").is_dir():
        console.print(f"simulating the default world into {args.data} ...")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "ecoradar",
                "simulate",
                "--out",
                str(args.data),
                "--scale",
                "default",
                "--seed",
                "1",
            ],
            check=True,
            cwd=ROOT,
        )
    all_rows = source_rows(args.data)
    pandas_rows = source_rows(args.data, args.pandas_days)
    days = len(list((args.data / "impressions").glob("date=*")))
    console.print(
        f"data {args.data}: {days} days, {all_rows:,} source rows (impressions + uploads + moderation); "
        f"depth-{DEPTH} cube over {', '.join(DIMS)}; started {dt.datetime.now(dt.UTC):%H:%M} UTC"
    )
    results = {}
    for name in ("ours", "duckdb", "pandas"):
        cmd = [
            sys.executable,
            __file__,
            "--worker",
            name,
            "--data",
            str(args.data),
            "--pandas-days",
            str(args.pandas_days),
        ] + (["--threads", str(args.threads)] if args.threads else [])
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=True)
        results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
        results[name]["rows"] = pandas_rows if name == "pandas" else all_rows
        console.print(f"  {name}: {results[name]['seconds']:.1f} s")
    table = Table(title="Metric cube: all built-in metrics, depth 2 (rows = source rows read)")
    for col in ("approach", "source rows", "seconds", "rows/s", "peak MB", "ours vs it (rows/s)"):
        table.add_column(col, justify="left" if col == "approach" else "right")
    labels = {
        "ours": "ecoradar compute_cube (DuckDB)",
        "duckdb": "hand-written DuckDB query",
        "pandas": f"pandas groupby (first {args.pandas_days} days)",
    }
    ours_rate = results["ours"]["rows"] / results["ours"]["seconds"]
    for name, r in results.items():
        rate = r["rows"] / r["seconds"]
        ratio = "-" if name == "ours" else f"{ours_rate / rate:.2f}x"
        table.add_row(
            labels[name], f"{r['rows']:,}", f"{r['seconds']:.1f}", f"{rate:,.0f}", f"{r['peak_mb']:,.0f}", ratio
        )
    console.print(table)
    console.print(
        "targets: within 1.5x of the hand-written query (ratio >= 0.67), >= 10x pandas. "
        "CPU timings on a shared machine are noisy."
    )


if __name__ == "__main__":
    main()
