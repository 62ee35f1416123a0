"""Detection on simulated worlds with known injected issues (truth.json), and false alarms on an issue-free world.

Usage:
  .venv/bin/python bench/bench_detect_world.py --generate 2 [--days 90 --scale small]
  .venv/bin/python bench/bench_detect_world.py --data W1 --data W2 --clean W0   (worlds with cube/ already computed)

--generate N writes N seeded worlds plus the same world with --no-issues (`ecoradar simulate`, then
`ecoradar metrics compute`) into a temporary folder; that takes minutes per world.

An anomaly matches an injected issue when it falls in [start, end + 7 days], its scope does not contradict
the issue's (a parent or child slice is fine) and it is on the issue's metric or shares a dimension value with its
scope. Duplicates are grouped: all anomalies matching one issue are one true finding; unmatched anomalies of the
same metric and slice on consecutive days are one false finding. Reported: recall (issues found within 7 days of
their start), precision over findings, share found in the exact scope (on the hinted metric), median delay in
days, and on the issue-free world false alarms per 1,000 slice-days and per judged day. With many false alarms,
recall is inflated by chance matches (an unrelated anomaly in a compatible slice counts), so read it with the
precision column.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
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

from ecoradar.data.schema import DIMENSIONS
from ecoradar.detect.cube import detect_cube
from ecoradar.metrics.cube import read_cube
from ecoradar.metrics.loader import load_catalog

HISTORY_DAYS = 35
FOUND_WITHIN = 7


def generate(root: Path, seeds: int, days: int, scale: str) -> tuple[list[Path], Path]:
    """Simulate worlds (and one issue-free twin) and compute their cubes with the real CLI."""
    worlds = []
    for seed in range(seeds):
        worlds.append(root / f"world{seed}")
        _cli("simulate", "--out", worlds[-1], "--days", days, "--seed", seed, "--scale", scale)
        _cli("metrics", "compute", "--data", worlds[-1])
    clean = root / "clean"
    _cli("simulate", "--out", clean, "--days", days, "--seed", 0, "--scale", scale, "--no-issues")
    _cli("metrics", "compute", "--data", clean)
    return worlds, clean


def _cli(*args) -> None:
    subprocess.run([sys.executable, "-m", "ecoradar", *map(str, args)], check=True, capture_output=True)


def run_world(path: Path) -> tuple[pd.DataFrame, int, int, dt.date, dt.date, float]:
    """Detect on every day that has HISTORY_DAYS of history; returns (anomalies, slice-days, days, from, to, s)."""
    catalog = load_catalog()
    cube = read_cube(path).to_pandas()
    days = sorted(pd.to_datetime(cube["date"]).dt.date.unique())
    d_from, d_to = days[0] + dt.timedelta(days=HISTORY_DAYS), days[-1]
    events_dir = path / "events"
    events = ds.dataset(events_dir, format="parquet").to_table().to_pandas() if events_dir.is_dir() else None
    names = sorted(set(cube["metric"].unique()) & set(catalog))
    t0 = time.perf_counter()
    result = detect_cube(
        cube,
        {n: catalog[n] for n in names},
        date_from=d_from,
        date_to=d_to,
        events=events,
        history_days=HISTORY_DAYS,
    )
    seconds = time.perf_counter() - t0
    frame = result.table.to_pandas()
    return frame, result.tested, (d_to - d_from).days + 1, d_from, d_to, seconds


def _scope(row: pd.Series) -> dict[str, str]:
    return {d: row[d] for d in DIMENSIONS if d in row and row[d] is not None and row[d] == row[d]}


def _matches(anomaly: pd.Series, scope: dict, issue: dict) -> bool:
    start = dt.date.fromisoformat(issue["start"])
    end = dt.date.fromisoformat(issue["end"]) if issue.get("end") else dt.date.max - dt.timedelta(days=30)
    if not (start <= anomaly["date"] <= end + dt.timedelta(days=7)):
        return False
    if any(scope.get(k) not in (None, v) for k, v in issue["scope"].items()):
        return False
    shared = any(scope.get(k) == v for k, v in issue["scope"].items())
    return anomaly["metric"] == issue.get("metric_hint") or shared


def score_world(anoms: pd.DataFrame, truth: list[dict]) -> dict[str, float]:
    """Recall, precision over grouped findings, exact-scope share and median delay for one world."""
    matched = np.full(len(anoms), -1)
    found_day: dict[int, dt.date] = {}
    exact: set[int] = set()
    for i, (_, a) in enumerate(anoms.iterrows()):  # a few hundred anomalies per world: a loop is fine here
        scope = _scope(a)
        for k, issue in enumerate(truth):
            if _matches(a, scope, issue):
                matched[i] = k
                found_day[k] = min(found_day.get(k, a["date"]), a["date"])
                if scope == issue["scope"] and a["metric"] == issue.get("metric_hint"):
                    exact.add(k)
                break
    delays = {
        k: (day - dt.date.fromisoformat(truth[k]["start"])).days
        for k, day in found_day.items()
        if (day - dt.date.fromisoformat(truth[k]["start"])).days <= FOUND_WITHIN
    }
    false = anoms.loc[matched < 0].copy()
    false["key"] = false["metric"] + "|" + false.apply(lambda r: json.dumps(_scope(r), sort_keys=True), axis=1)
    false = false.sort_values(["key", "date"])
    gap = false.groupby("key")["date"].diff().map(lambda d: d is pd.NaT or pd.isna(d) or d.days > 1)
    false_findings = int(gap.sum()) if len(false) else 0
    true_findings = len(set(matched[matched >= 0]))
    return {
        "issues": len(truth),
        "recall": len(delays) / len(truth) if truth else float("nan"),
        "precision": true_findings / max(true_findings + false_findings, 1),
        "exact": len(exact & set(delays)) / max(len(delays), 1),
        "delay": float(np.median(list(delays.values()))) if delays else float("nan"),
        "anomalies": len(anoms),
        "false_findings": false_findings,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, action="append", default=[], help="world with issues (repeatable)")
    parser.add_argument("--clean", type=Path, help="issue-free world (simulate --no-issues)")
    parser.add_argument("--generate", type=int, default=0, help="simulate this many worlds first")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--scale", default="small")
    args = parser.parse_args()
    console = Console(width=150)
    worlds, clean = list(args.data), args.clean
    tmp = None
    if args.generate:
        tmp = tempfile.TemporaryDirectory(prefix="ecoradar-bench-")
        made, clean = generate(Path(tmp.name), args.generate, args.days, args.scale)
        worlds += made
    if not worlds and clean is None:
        parser.error("give --data/--clean worlds or --generate N")

    table = Table(title="Detection on simulated worlds (targets: recall >= .95, precision >= .9, delay <= 1 day)")
    for col in (
        "world",
        "issues",
        "recall",
        "precision",
        "exact scope",
        "median delay (d)",
        "anomalies",
        "false findings",
        "days judged",
        "detect s",
    ):
        table.add_column(col, justify="left" if col == "world" else "right")
    for path in worlds:
        anoms, tested, n_days, d_from, d_to, seconds = run_world(path)
        truth = json.loads((path / "truth.json").read_text())
        m = score_world(anoms, truth)
        table.add_row(
            path.name,
            str(m["issues"]),
            f"{m['recall']:.2f}",
            f"{m['precision']:.2f}",
            f"{m['exact']:.2f}",
            f"{m['delay']:.1f}",
            str(m["anomalies"]),
            str(m["false_findings"]),
            f"{n_days} ({d_from}..)",
            f"{seconds:.0f}",
        )
    console.print(table)
    if clean is not None:
        anoms, tested, n_days, d_from, d_to, seconds = run_world(clean)
        per_1000 = 1000 * len(anoms) / max(tested, 1)
        clean_table = Table(title="Issue-free world (target: < 1 false alarm per day of data)")
        for col in ("world", "slice-days judged", "anomalies", "per 1,000 slice-days", "per day", "detect s"):
            clean_table.add_column(col, justify="left" if col == "world" else "right")
        clean_table.add_row(
            clean.name,
            f"{tested:,}",
            str(len(anoms)),
            f"{per_1000:.2f}",
            f"{len(anoms) / n_days:.1f}",
            f"{seconds:.0f}",
        )
        console.print(clean_table)
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
