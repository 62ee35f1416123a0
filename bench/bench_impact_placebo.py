"""Verdicts on scenario-like series and placebo coverage of the 95% interval.

A. Synthetic issues (impact.synthetic.issue_scenario): a metric drops at the issue start; the fix recovers it fully,
   half, not at all, or makes it worse. Expected verdicts: recovered, partially_recovered, no_effect, worse. The
   model fits on issue start..fix; baseline="auto" forecasts the no-issue level from the 50 days before the issue.
B. Placebo fix dates inside pre-periods with no effect: the share of 95% intervals covering 0 (target 90-98%).
C. With --world DIR (a data folder from `ecoradar simulate` with its cube from `ecoradar metrics compute`): the
   simulated scenarios in truth.json, fix date = day after `end` (fix worked) or two thirds into an ongoing issue.
   --make-world builds DIR first: 100 days, scale small, the WORLD_SCENARIOS below, seed --world-seed.

    .venv/bin/python bench/bench_impact_placebo.py [--seeds 20] [--estimators bsts,bsts_adaptive]
        [--world DIR [--make-world] [--world-seed 2]]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import yaml
from rich.console import Console
from rich.table import Table

from ecoradar.data.schema import DIMENSIONS
from ecoradar.errors import EcoradarError
from ecoradar.impact import choose_controls, estimate_impact, placebo_check
from ecoradar.impact.synthetic import effect_series, issue_scenario

VERDICTS = ("recovered", "partially_recovered", "no_effect", "worse")

#: Scenarios of the simulated world (--make-world): three end after 30 days (the fix worked), three go on.
WORLD_SCENARIOS = [
    {
        "kind": "format_exposure",
        "scope": {"region": "BR", "format": "photo"},
        "start": 45,
        "end": 74,
        "magnitude": -0.4,
    },
    {"kind": "share_rate", "scope": {"region": "US", "os": "ios"}, "start": 45, "end": 74, "magnitude": -0.6},
    {"kind": "review_latency", "scope": {"source": "human"}, "start": 45, "end": 74, "magnitude": 0.8},
    {"kind": "uploads", "scope": {"tier": "micro"}, "start": 45, "magnitude": -0.3},
    {"kind": "not_interested", "scope": {"category": "gaming", "surface": "for_you"}, "start": 45, "magnitude": 0.8},
    {"kind": "new_creator_exposure", "scope": {"region": "US"}, "start": 45, "magnitude": -0.5},
]
WORLD_METRICS = (
    "format_share",
    "share_rate",
    "review_latency_p90_h",
    "uploads",
    "not_interested_rate",
    "new_creator_share",
)


def make_world(world: Path, seed: int) -> None:
    """Simulate the world and compute the cube of its scenarios' metrics with the real CLI."""
    world.mkdir(parents=True, exist_ok=True)
    scenarios = world.parent / f"{world.name}-scenarios.yaml"
    scenarios.write_text(yaml.safe_dump({"scenarios": WORLD_SCENARIOS}))
    ecoradar = [sys.executable, "-m", "ecoradar"]
    subprocess.run(
        [
            *ecoradar,
            "simulate",
            "--out",
            world,
            "--days",
            "100",
            "--scale",
            "small",
            "--seed",
            str(seed),
            "--scenarios",
            scenarios,
        ],
        check=True,
    )
    metrics = [arg for m in WORLD_METRICS for arg in ("--metric", m)]
    subprocess.run([*ecoradar, "metrics", "compute", "--data", world, *metrics], check=True)


def verdicts(console: Console, estimators: list[str], seeds: int) -> None:
    """Part A: verdict counts per outcome and estimator."""
    table = Table(title=f"A. Verdicts on synthetic issues ({seeds} seeds each; fit on issue start..fix, baseline auto)")
    for col in ("estimator", "outcome", "expected", *VERDICTS, "accuracy", "secs"):
        table.add_column(col, justify="left" if col in ("estimator", "outcome", "expected") else "right")
    for name in estimators:
        for outcome in ("recovered", "partial", "ongoing", "worse"):
            counts: Counter = Counter()
            t0 = time.perf_counter()
            for seed in range(seeds):
                y, controls, truth = issue_scenario(outcome, seed=seed)
                r = estimate_impact(
                    y,
                    controls,
                    pre_period=truth["pre_period"],
                    post_period=truth["post_period"],
                    estimator=name,
                    baseline="auto",
                )
                counts[r.verdict] += 1
            expected = truth["verdict"]
            table.add_row(
                name,
                outcome,
                expected,
                *(str(counts[v]) for v in VERDICTS),
                f"{counts[expected] / seeds:.0%}",
                f"{time.perf_counter() - t0:.0f}",
            )
    console.print(table)


def families(seed: int) -> dict[str, tuple[pd.Series, pd.DataFrame | None]]:
    """No-effect pre-periods of three kinds, one draw each."""
    y, controls, _ = effect_series(n=100, n_pre=99, effect=0.0, seed=seed)
    iy, ic, truth = issue_scenario("ongoing", seed=seed)
    start, end = truth["pre_period"]
    flat, _, _ = effect_series(n=100, n_pre=99, effect=0.0, n_controls=0, drift=0.0, seed=seed)
    return {
        "controls + drift (100 d)": (y, controls),
        "issue window, 3 controls (40 d)": (iy[start:end], ic[start:end]),
        "no controls, white noise (100 d)": (flat, None),
        "no controls, random walk (100 d)": (y, None),
    }


def coverage(console: Console, estimators: list[str], seeds: int, per_series: int) -> None:
    """Part B: share of placebo intervals that cover 0."""
    table = Table(
        title=f"B. Placebo coverage of the 95% interval ({seeds} series x {per_series} fake dates; target 90-98%)"
    )
    for col in ("estimator", "series", "placebos", "coverage", "mean width", "in 90-98%", "secs"):
        table.add_column(col, justify="left" if col in ("estimator", "series") else "right")
    for name in estimators:
        results: dict[str, list] = {}
        times: Counter = Counter()
        for seed in range(seeds):
            for family, (y, controls) in families(seed).items():
                t0 = time.perf_counter()
                s = placebo_check(y, controls, n=per_series, estimator=name)
                times[family] += time.perf_counter() - t0
                results.setdefault(family, []).extend(s.runs)
        for family, runs in results.items():
            cov = np.mean([r.covers_zero for r in runs])
            width = np.mean([r.upper - r.lower for r in runs])
            ok = "yes" if 0.90 <= cov <= 0.98 else "NO"
            table.add_row(name, family, str(len(runs)), f"{cov:.0%}", f"{width:.2f}", ok, f"{times[family]:.0f}")
    console.print(table)


def world_series(world: Path) -> list[dict]:
    """Target, candidate controls and periods for each scenario of a simulated world (cube at WORLD/cube)."""
    truth = json.loads((world / "truth.json").read_text())
    scenarios = truth["scenarios"] if isinstance(truth, dict) else truth
    con = duckdb.connect()
    cube = con.sql(f"SELECT * FROM read_parquet('{world / 'cube'}/**/*.parquet', hive_partitioning = true)").df()
    cube["date"] = pd.to_datetime(cube["date"])
    out = []
    for sc in scenarios:
        dims = list(sc["scope"])
        metric = cube[cube["metric"] == sc["metric_hint"]]
        others = [d for d in DIMENSIONS if d not in dims]
        same_shape = metric[metric[dims].notna().all(axis=1) & metric[others].isna().all(axis=1)]
        key = same_shape[dims].astype(str).agg("|".join, axis=1)
        wide = same_shape.assign(key=key).pivot_table(index="date", columns="key", values="value")
        target_key = "|".join(sc["scope"][d] for d in dims)
        if target_key not in wide:
            continue
        # untouched slices: differ from the scope on every scoped dimension
        untouched = [
            k for k in wide.columns if all(a != b for a, b in zip(k.split("|"), target_key.split("|"), strict=True))
        ]
        start = pd.Timestamp(sc["start"])
        last = wide.index[-1]
        if sc["end"]:
            fix, expected = pd.Timestamp(sc["end"]) + pd.Timedelta(days=1), "recovered"
        else:
            fix, expected = start + (last - start) * 2 / 3, "no_effect"
        fix = fix.normalize()
        out.append(
            {
                "id": sc["id"],
                "metric": sc["metric_hint"],
                "scope": ",".join(f"{d}={v}" for d, v in sc["scope"].items()),
                "y": wide[target_key],
                "candidates": wide[untouched].dropna(axis=1),
                "issue_start": start,
                "fix": fix,
                "expected": expected,
            }
        )
    return out


def simulated(console: Console, estimators: list[str], world: Path) -> None:
    """Part C: the scenarios of a simulated world."""
    table = Table(title=f"C. Simulated world {world}: fit on issue start..fix, controls chosen on that window")
    for col in (
        "estimator",
        "scenario",
        "metric",
        "scope",
        "fix",
        "expected",
        "verdict",
        "effect [95%]",
        "placebo cov",
    ):
        table.add_column(col)
    for item in world_series(world):
        y, start, fix = item["y"], item["issue_start"], item["fix"]
        pre = (start, fix - pd.Timedelta(days=1))
        post = (fix, y.index[-1])
        deviation = float(y[pre[0] : pre[1]].mean()) - float(y[: start - pd.Timedelta(days=1)].mean())
        good = "up" if deviation < 0 else "down"
        for name in estimators:
            try:
                controls = choose_controls(y, item["candidates"], pre_period=pre, k=5)
                r = estimate_impact(
                    y,
                    item["candidates"][controls],
                    pre_period=pre,
                    post_period=post,
                    estimator=name,
                    good_direction=good,
                    baseline="auto",
                    placebo=5,
                )
                row = (
                    r.verdict,
                    f"{r.average_effect:.3g} [{r.lower:.3g}, {r.upper:.3g}]",
                    f"{r.placebo.coverage:.0%}",
                )
            except EcoradarError as exc:
                row = ("error", str(exc), "")
            table.add_row(name, item["id"], item["metric"], item["scope"], str(fix.date()), item["expected"], *row)
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--placebos", type=int, default=3, help="fake dates per series in part B")
    parser.add_argument("--estimators", default="bsts,bsts_adaptive")
    parser.add_argument("--world", type=Path, help="simulated data folder with its cube (part C)")
    parser.add_argument("--make-world", action="store_true", help="simulate --world first (takes minutes)")
    parser.add_argument("--world-seed", type=int, default=2)
    parser.add_argument("--parts", default="ABC")
    args = parser.parse_args()
    console = Console(highlight=False, width=170)
    estimators = args.estimators.split(",")
    if "A" in args.parts:
        verdicts(console, estimators, args.seeds)
    if "B" in args.parts:
        coverage(console, estimators, args.seeds, args.placebos)
    if "C" in args.parts and args.world:
        if args.make_world:
            make_world(args.world, args.world_seed)
        simulated(console, estimators, args.world)
    console.print("CPU timings are noisy: the machine is shared.")


if __name__ == "__main__":
    main()
