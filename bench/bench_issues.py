"""Issues on simulated worlds, judged against truth.json at the issue level, and the time of the daily run.

For each seed it simulates a world with the default scenario library and the same world with `--no-issues`,
runs `ecoradar run` over every judged day but the last (the first run), then the last day alone (the
incremental next day), and scores the store's issues against the injected scenarios:

    recall        scenarios with at least one matching issue / scenarios
    precision     issues matching some scenario / issues
    exact scope   detected scenarios with a matching issue on exactly the injected slice / detected
    delay         median days from a scenario's start to the first matching issue's first_seen
    per scenario  matching issues per detected scenario (target 1.0)
    no-issues     issues on the world without scenarios, by priority (target: 0 P0/P1, at most 2 in all)

An issue matches a scenario when its slice and the injected one are nested (one is the other or a sub-slice of it),
its metric is the scenario's hint metric or its category is the scenario's, and it was first seen between the
start - 1 day and the end (or last day) + 3.

    .venv/bin/python bench/bench_issues.py [--seeds 1] [--days 60] [--scale default] [--warmup 28] [--keep DIR]

Timings are wall-clock of the real CLI (process start included) on a shared machine: noisy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ecoradar.data.io import load_truth
from ecoradar.issues import service
from ecoradar.pipeline.daily import data_days
from ecoradar.store import open_store

CLI = [sys.executable, "-m", "ecoradar"]
PRIORITIES = ("P0", "P1", "P2", "P3")


def cli(*args: str) -> float:
    """Run the real CLI; return its wall time in seconds."""
    t0 = time.perf_counter()
    subprocess.run([*CLI, *map(str, args)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def run_world(folder: Path, *, seed: int, days: int, scale: str, warmup: int, issues: bool, reuse: bool) -> dict:
    """Simulate (unless reusing a kept world), run the first stretch and the next day; return issues and timings."""
    if not (reuse and (folder / "truth.json").exists()):
        flags = [] if issues else ["--no-issues"]
        cli("simulate", "--out", folder, "--days", days, "--scale", scale, "--seed", seed, *flags)
    (folder / "ecoradar.db").unlink(missing_ok=True)
    available = data_days(folder)
    first, last = available[0] + dt.timedelta(days=warmup), available[-1]
    db = f"sqlite:///{folder / 'ecoradar.db'}"
    t_first = cli("run", "--data", folder, "--from", first, "--to", last - dt.timedelta(days=1), "--db", db)
    t_next = cli("run", "--data", folder, "--date", last, "--db", db)
    store = open_store(db)
    with store.session() as session:
        rows, _ = service.list_issues(session, status="all", limit=None)
        found = [service.issue_to_dict(i, history=False) for i in rows]
    store.close()
    return {
        "issues": found,
        "first_run_s": t_first,
        "next_day_s": t_next,
        "judged_days": (last - first).days + 1,
        "last": last,
    }


def matches(issue: dict, scenario: dict, last: dt.date) -> bool:
    """Whether an issue is about an injected scenario (see the module docstring)."""
    start = dt.date.fromisoformat(scenario["start"])
    end = dt.date.fromisoformat(scenario["end"]) if scenario.get("end") else last
    seen = dt.date.fromisoformat(issue["first_seen"])
    truth = {k: str(v) for k, v in scenario["scope"].items()}
    same_topic = issue["metric"] == scenario["metric_hint"] or issue["category"] == scenario.get("category")
    nested = issue["scope"].items() <= truth.items() or truth.items() <= issue["scope"].items()
    return same_topic and nested and start - dt.timedelta(days=1) <= seen <= end + dt.timedelta(days=3)


def score(world: dict, truth: list[dict]) -> dict:
    """Issue-level recall, precision, exact scope, delay and issues per scenario."""
    issues, last = world["issues"], world["last"]
    judged_from = last - dt.timedelta(days=world["judged_days"] - 1)
    scenarios = [s for s in truth if dt.date.fromisoformat(s["start"]) >= judged_from]
    hits = {s["id"]: [i for i in issues if matches(i, s, last)] for s in scenarios}
    detected = [s for s in scenarios if hits[s["id"]]]
    matched_issues = {i["id"] for found in hits.values() for i in found}
    exact = [
        s for s in detected if any(i["scope"] == {k: str(v) for k, v in s["scope"].items()} for i in hits[s["id"]])
    ]
    delays = [
        min((dt.date.fromisoformat(i["first_seen"]) - dt.date.fromisoformat(s["start"])).days for i in hits[s["id"]])
        for s in detected
    ]
    return {
        "scenarios": len(scenarios),
        "issues": len(issues),
        "recall": len(detected) / len(scenarios) if scenarios else float("nan"),
        "precision": len(matched_issues) / len(issues) if issues else float("nan"),
        "exact_scope": len(exact) / len(detected) if detected else float("nan"),
        "median_delay_d": statistics.median(delays) if delays else float("nan"),
        "issues_per_scenario": sum(len(hits[s["id"]]) for s in detected) / len(detected) if detected else float("nan"),
        "missed": [s["id"] for s in scenarios if not hits[s["id"]]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="1", help="comma-separated world seeds")
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--scale", default="default", help="tiny | small | default | large")
    parser.add_argument("--warmup", type=int, default=28, help="days of history before the first judged day")
    parser.add_argument("--keep", type=Path, help="keep the worlds and stores in this folder")
    parser.add_argument("--reuse", action="store_true", help="reuse worlds kept in --keep (their cube is computed)")
    args = parser.parse_args()
    console = Console()
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench_issues_"))
    quality = Table(title=f"Issues vs truth ({args.days} days, scale {args.scale}, warm-up {args.warmup})")
    for col in (
        "seed",
        "scenarios",
        "issues",
        "recall",
        "precision",
        "exact scope",
        "median delay (d)",
        "issues / scenario",
        "missed",
    ):
        quality.add_column(col, justify="left" if col == "missed" else "right")
    quiet = Table(title="Issues on the --no-issues world (target: 0 P0/P1, at most 2 in all)")
    for col in ("seed", *PRIORITIES, "total"):
        quiet.add_column(col, justify="right")
    timing = Table(title="ecoradar run wall time (cube + detect + explain + ingest; process start included)")
    for col in ("seed", "world", "first run (s)", "judged days", "s / day", "next day (s)"):
        timing.add_column(col, justify="right")
    for seed in (int(s) for s in args.seeds.split(",")):
        for world_name, injected in (("issues", True), ("no-issues", False)):
            folder = root / f"seed{seed}-{world_name}"
            world = run_world(
                folder,
                seed=seed,
                days=args.days,
                scale=args.scale,
                warmup=args.warmup,
                issues=injected,
                reuse=args.reuse,
            )
            timing.add_row(
                str(seed),
                world_name,
                f"{world['first_run_s']:.1f}",
                str(world["judged_days"] - 1),
                f"{world['first_run_s'] / max(1, world['judged_days'] - 1):.2f}",
                f"{world['next_day_s']:.1f}",
            )
            if injected:
                s = score(world, load_truth(folder))
                quality.add_row(
                    str(seed),
                    str(s["scenarios"]),
                    str(s["issues"]),
                    f"{s['recall']:.0%}",
                    f"{s['precision']:.0%}",
                    f"{s['exact_scope']:.0%}",
                    f"{s['median_delay_d']:.1f}",
                    f"{s['issues_per_scenario']:.2f}",
                    ", ".join(s["missed"]) or "-",
                )
                (folder / "bench_issues.json").write_text(json.dumps(s, indent=2, default=str))
            else:
                counts = Counter(i["priority"] for i in world["issues"])
                quiet.add_row(str(seed), *(str(counts.get(p, 0)) for p in PRIORITIES), str(len(world["issues"])))
    console.print(quality)
    console.print(quiet)
    console.print(timing)
    console.print(f"worlds and stores in {root}")


if __name__ == "__main__":
    main()
