"""Benchmark the simulator at the default scale: rows, seconds, rows/s and peak memory against the targets.

The run happens in a child process, so its peak resident memory (ru_maxrss) and CPU time are its own. The
simulator is single-threaded: on an idle machine wall time ~ CPU time; on a shared one compare the CPU time.
Usage: .venv/bin/python bench/bench_simulate.py [--scale default] [--days 60] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

#: Targets of issue 2 for the default scale.
MAX_SECONDS, MAX_PEAK_GIB = 90.0, 2.0

CHILD = """
import json, resource, sys, time
from pathlib import Path
from ecoradar.simulate import simulate
t = time.perf_counter()
r = simulate(Path(sys.argv[1]), scale=sys.argv[2], days=int(sys.argv[3]), seed=int(sys.argv[4]))
u = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"rows": r.rows, "seconds": time.perf_counter() - t, "cpu_seconds": u.ru_utime + u.ru_stime,
                  "maxrss_kib": u.ru_maxrss}))
"""


def run(scale: str, days: int, seed: int) -> dict:
    """Simulate in a child process; return its rows, seconds and peak memory."""
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(Path(tmp) / "world"), scale, str(days), str(seed)],
            check=True,
            capture_output=True,
            text=True,
        )
        size = sum(p.stat().st_size for p in (Path(tmp) / "world").rglob("*") if p.is_file())
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["bytes"] = size
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="default")
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    r = run(args.scale, args.days, args.seed)
    secs, peak_gib = r["seconds"], r["maxrss_kib"] / 2**20
    table = Table(title=f"ecoradar simulate --scale {args.scale} --days {args.days} (one child process)")
    for col in ("table", "rows", "rows/s"):
        table.add_column(col, justify="right" if col != "table" else "left")
    for name, n in r["rows"].items():
        table.add_row(name, f"{n:,}", f"{n / secs:,.0f}")
    total = sum(r["rows"].values())
    table.add_row("all", f"{total:,}", f"{total / secs:,.0f}", style="bold")
    console = Console()
    console.print(table)
    summary = Table(title="targets (issue 2: default scale, 60 days)")
    for col in ("measure", "value", "target", "met"):
        summary.add_column(col)
    summary.add_row("wall seconds", f"{secs:.1f}", f"<= {MAX_SECONDS:.0f}", "yes" if secs <= MAX_SECONDS else "NO")
    cpu = r["cpu_seconds"]
    summary.add_row(
        "CPU seconds (user+sys)", f"{cpu:.1f}", f"<= {MAX_SECONDS:.0f}", "yes" if cpu <= MAX_SECONDS else "NO"
    )
    summary.add_row(
        "peak memory (GiB)", f"{peak_gib:.2f}", f"< {MAX_PEAK_GIB:.0f}", "yes" if peak_gib < MAX_PEAK_GIB else "NO"
    )
    summary.add_row("impressions/day", f"{r['rows']['impressions'] / args.days:,.0f}", ">= 300,000", "")
    summary.add_row("on disk (MiB)", f"{r['bytes'] / 2**20:,.0f}", "", "")
    summary.add_row("machine load (1 min)", f"{os.getloadavg()[0]:.1f}", "timings are noisy when > 2", "")
    console.print(summary)


if __name__ == "__main__":
    main()
