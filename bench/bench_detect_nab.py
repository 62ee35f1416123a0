"""NAB v1.1: our online detector over every NAB file, scored by our NAB scorer, beside the published scoreboard.

Usage: .venv/bin/python bench/bench_detect_nab.py

Each file goes through `ecoradar.detect.series.detect_series(..., online=True)` (what `ecoradar detect-series
--online` runs): the score of row t uses rows up to t only. One global configuration, no per-file tuning.
Two scorings: NAB's own (one threshold per profile swept over the whole corpus, which tunes on the labels) and a
threshold fixed in advance (our alarm flag, score >= 0.5).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from ecoradar.detect import nab
from ecoradar.detect.series import default_series_detector, detect_series

NAB_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks" / "nab"
PROFILES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")

#: Published rows of SCOREBOARD.md (NAB README "As of NAB v1.0"), standard / low FP / low FN.
PUBLISHED = [
    ("Perfect", 100.0, 100.0, 100.0),
    ("ARTime", 74.9, 65.1, 80.4),
    ("Numenta HTM* (best seed)", 70.5, 62.6, 75.2),
    ("CAD OSE", 69.9, 67.0, 73.2),
    ("earthgecko Skyline", 58.2, 46.2, 63.9),
    ("KNN CAD", 58.0, 43.4, 64.8),
    ("Relative Entropy", 54.6, 47.6, 58.8),
    ("Random Cut Forest", 51.7, 38.4, 59.7),
    ("Twitter ADVec v1.0.0", 47.1, 33.6, 53.5),
    ("Windowed Gaussian", 39.6, 20.9, 47.4),
    ("Etsy Skyline", 35.7, 27.1, 44.5),
    ("Bayesian Changepoint", 17.7, 3.2, 32.2),
    ("EXPoSE", 16.4, 3.2, 26.9),
    ("Random", 11.0, 1.2, 19.5),
    ("Null", 0.0, 0.0, 0.0),
]


def run_corpus() -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], float, int]:
    """Score every labelled NAB file online; returns (file -> (timestamps, scores), seconds, rows)."""
    windows = nab.load_windows(NAB_DIR / "labels" / "combined_windows.json")
    detector = default_series_detector()
    results, rows, t0 = {}, 0, time.perf_counter()
    for name in sorted(windows):
        frame = pd.read_csv(NAB_DIR / "data" / name)
        out = detect_series(frame, value_col="value", time_col="timestamp", online=True, detector=detector)
        results[name] = (pd.to_datetime(frame["timestamp"]).to_numpy(), out["score"].to_numpy())
        rows += len(frame)
    return results, time.perf_counter() - t0, rows


def main() -> None:
    console = Console(width=140)
    if not NAB_DIR.is_dir():
        console.print(f"NAB data not found at {NAB_DIR}; nothing to run")
        return
    windows = nab.load_windows(NAB_DIR / "labels" / "combined_windows.json")
    profiles = nab.load_profiles(NAB_DIR / "config" / "profiles.json")
    results, seconds, n_rows = run_corpus()
    swept = nab.evaluate(results, windows, profiles)
    fixed = nab.evaluate(results, windows, profiles, fixed_threshold=default_series_detector().alarm_score)

    table = Table(title="NAB v1.1 normalized scores (published rows: SCOREBOARD.md / NAB README)")
    for col in ("detector", *PROFILES, "note"):
        table.add_column(col, justify="left" if col in ("detector", "note") else "right")
    label = f"ecoradar {default_series_detector().name}"
    ours = [
        (f"{label} (NAB threshold sweep)", swept, f"threshold {swept['standard']['threshold']:.3f}"),
        (f"{label} (threshold fixed: 0.5)", fixed, "alarm flag of detect-series"),
    ]
    rows = [(name, *(r[p]["score"] for p in PROFILES), note) for name, r, note in ours]
    rows += [(name, s, fp, fn, "published") for name, s, fp, fn in PUBLISHED]
    for name, s, fp, fn, note in sorted(rows, key=lambda r: -r[1]):
        style = "bold" if name.startswith("ecoradar") else None
        table.add_row(name, f"{s:.1f}", f"{fp:.1f}", f"{fn:.1f}", note, style=style)
    console.print(table)
    published = [(name, s) for name, s, *_ in PUBLISHED if name not in ("Perfect", "Null")]
    ours_std = swept["standard"]["score"]
    beaten = [name for name, s in published if s < ours_std]
    best_name, best = max(published, key=lambda r: r[1])
    verdict = "above every published detector" if len(beaten) == len(published) else f"below {best_name} ({best:.1f})"
    console.print(
        f"standard profile: ours {ours_std:.1f}, above {len(beaten)} of {len(published)} published; {verdict}"
    )
    console.print(
        f"{len(results)} files, {n_rows:,} rows scored online in {seconds:.1f} s ({n_rows / seconds:,.0f} rows/s)"
    )
    raw = ", ".join(f"{p} {swept[p]['raw']:.2f}" for p in PROFILES)
    console.print(f"raw scores (swept): {raw}")


if __name__ == "__main__":
    main()
