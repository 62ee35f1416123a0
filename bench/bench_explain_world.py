"""Root-cause analysis on simulated worlds: is each injected issue's exact scope ranked first?

For every issue in DIR/truth.json: explain its hint metric over the whole platform on the detection window (its
start day to `--window` - 1 days later, pooled; baseline before the start), then check (1) the truth scope
is the top root cause, (2) mix-shift scenarios are labelled mix_shift (and no other scenario is), (3) the
scenario's own calendar event (same day, same scope) is the top related event, when written.
Targets: (1) in >= 90% of cases, (2) and (3) always.

    .venv/bin/python bench/bench_explain_world.py [--data DIR] [--seeds 1,2] [--days 60] [--scale small]

Without --data it simulates worlds (`ecoradar simulate`, `ecoradar metrics compute`) into a temporary folder.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from ecoradar.data.io import load_truth, register_tables
from ecoradar.errors import EcoradarError
from ecoradar.explain.cube import explain
from ecoradar.explain.events import parse_scope
from ecoradar.metrics.cube import read_cube
from ecoradar.metrics.loader import load_catalog


def simulate(out: Path, seed: int, days: int, scale: str) -> Path:
    """Write a world and its cube with the real CLI."""
    run = [sys.executable, "-m", "ecoradar"]
    subprocess.run(
        [*run, "simulate", "--out", str(out), "--days", str(days), "--scale", scale, "--seed", str(seed)], check=True
    )
    subprocess.run([*run, "metrics", "compute", "--data", str(out)], check=True)
    return out


def evaluate(data: Path, window: int) -> list[dict]:
    """One row per injected issue: what explain() said about it."""
    catalog = load_catalog()
    con = duckdb.connect()
    events = con.execute('SELECT * FROM "events"').df() if "events" in register_tables(con, data, ("events",)) else None
    rows = []
    for issue in load_truth(data):
        start = dt.date.fromisoformat(issue["start"])
        last = start + dt.timedelta(days=window - 1)
        if issue.get("end"):
            last = min(last, dt.date.fromisoformat(issue["end"]))
        truth = {k: str(v) for k, v in issue["scope"].items()}
        metric = catalog.get(issue["metric_hint"])
        row = {"id": issue["id"], "kind": issue["kind"], "metric": metric.name, "truth": truth}
        row["expressible"] = set(truth) <= set(metric.dimensions)
        t0 = time.perf_counter()
        try:
            cube = read_cube(data, metrics=[metric.name], date_to=last)
            ex = explain(cube, metric, date=min(last, cube["date"].to_pylist()[-1]), events=events, change_start=start)
        except EcoradarError as exc:
            rows.append({**row, "error": str(exc)})
            continue
        row["seconds"] = time.perf_counter() - t0
        scopes = [rc.scope for rc in ex.root_causes]
        row["top"] = scopes[0] if scopes else None
        row["rank"] = scopes.index(truth) + 1 if truth in scopes else None
        row["label"] = ex.label
        own = []
        if events is not None:
            own = [e.name for e in events.itertuples() if e.ts.date() == start and parse_scope(e.scope) == truth]
        row["own_event"] = own[0] if own else None
        row["event_rank"] = next((i + 1 for i, e in enumerate(ex.events) if e.name in own), None) if own else None
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, action="append", help="existing world folder(s) with a cube")
    parser.add_argument("--seeds", default="1", help="seeds of worlds to simulate when no --data")
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--scale", default="default")
    parser.add_argument("--window", type=int, default=3, help="days from the start pooled (detection window)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        worlds = args.data or [
            simulate(Path(tmp) / f"w{s}", int(s), args.days, args.scale) for s in args.seeds.split(",")
        ]
        rows = [r | {"world": w.name} for w in worlds for r in evaluate(w, args.window)]
    fmt = lambda s: ",".join(f"{k}={v}" for k, v in s.items()) if s is not None else "–"  # noqa: E731
    print(
        "| world | issue | metric | truth scope | in metric dims | top root cause | rank | label | own event rank | s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['world']} | {r['id']} | {r['metric']} | {fmt(r['truth'])} | | error: {r['error']} | | | | |")
            continue
        ev = "–" if r["own_event"] is None else str(r["event_rank"] or "missing")
        print(
            f"| {r['world']} | {r['id']} | {r['metric']} | {fmt(r['truth'])} | {'yes' if r['expressible'] else 'no'} "
            f"| {fmt(r['top'])} | {r['rank'] or '–'} "
            f"| {r['label']} | {ev} | {r['seconds']:.2f} |"
        )
    ok = [r for r in rows if "error" not in r]
    first = sum(r["rank"] == 1 for r in ok)
    mix = [r for r in ok if r["kind"] == "mix_shift"]
    evs = [r for r in ok if r["own_event"] is not None]
    print(f"\ntruth scope ranked first: {first}/{len(rows)} = {first / max(len(rows), 1):.0%} (target >= 90%)")
    fit = [r for r in rows if r.get("expressible", set(r["truth"]) <= set())]
    first_fit = sum(r.get("rank") == 1 for r in fit)
    print(f"  of issues whose scope the hint metric can express: {first_fit}/{len(fit)}")
    print(f"mix-shift scenarios labelled mix_shift: {sum(r['label'] == 'mix_shift' for r in mix)}/{len(mix)}")
    rest = [r for r in ok if r["kind"] != "mix_shift"]
    print(f"other scenarios labelled mix_shift (false): {sum(r['label'] == 'mix_shift' for r in rest)}/{len(rest)}")
    print(f"own event ranked first: {sum(r['event_rank'] == 1 for r in evs)}/{len(evs)}")


if __name__ == "__main__":
    main()
