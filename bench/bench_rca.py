"""Root-cause localization on the shared benchmarks (Squeeze B0, RiskLoc S and L, RobustSpot RS).

F1 under the Squeeze/RiskLoc protocol (an element is a true positive only when its dimension=value set equals a
true element exactly; TP, FP and FN pooled over the cases of a setting), printed beside the published table,
with the mean run time per case of ours and of our reference implementations, in one run.

    .venv/bin/python bench/bench_rca.py [--limit N] [--only B0,S,L,RS] [--methods ripple,riskloc,adtributor]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ecoradar.explain.localize import get_localizer

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks" / "rca"

#: PUBLISHED.md: F1 of the authors' reference implementations (RiskLoc repository) on these data sets.
PUBLISHED_COLS = ("RiskLoc", "AutoRoot", "Squeeze", "HotSpot", "Adtributor", "R-Adtributor")
PUBLISHED = {
    "L1E1": (0.960, 1.000, 0.980, 0.960, 0.649, 0.493),
    "L1E2": (0.970, 0.977, None, None, 0.552, 0.221),
    "L1E3": (0.978, 0.913, None, None, 0.468, 0.065),
    "L2E1": (0.929, 0.990, None, None, 0.000, 0.174),
    "L2E2": (0.972, 0.956, 0.985, 0.553, 0.000, 0.138),
    "L2E3": (0.959, 0.859, None, None, 0.000, 0.082),
    "L3E1": (0.974, 0.990, None, None, 0.000, 0.040),
    "L3E2": (0.956, 0.934, None, None, 0.000, 0.068),
    "L3E3": (0.944, 0.808, 0.953, None, 0.000, 0.060),
    "B0": (0.961, 0.918, 0.969, 0.576, 0.159, 0.114),
    "S": (0.540, 0.480, None, None, 0.060, 0.000),
    "L": (0.698, 0.515, None, None, 0.000, 0.005),
    "RS": (0.025, 0.261, 0.041, 0.042, 0.274, 0.104),
}
PUBLISHED_TIME = {"B0": 0.84, "S": 10.6, "L": 0.9}  # RiskLoc, s/case


def parse_set(text: str) -> set[frozenset]:
    """'a=a1&b=b2;c=c3' -> {{a=a1, b=b2}, {c=c3}}."""
    return {frozenset(tuple(kv.split("=", 1)) for kv in el.split("&")) for el in str(text).split(";") if el}


def additive_cases(folder: Path, limit: int | None):
    """Leaf tables of a B0 setting or of S/L with their true sets, in injection order."""
    info = pd.read_csv(folder / "injection_info.csv")
    n = 0
    for _, row in info.iterrows():
        path = folder / f"{row['timestamp']}.csv"
        if not path.exists():
            continue
        leaves = pd.read_csv(path)
        dims = [c for c in leaves.columns if c not in ("real", "predict")]
        yield leaves, dims, {}, parse_set(row["set"])
        n += 1
        if limit and n >= limit:
            return


def rs_cases(limit: int | None, history: int = 10, prior: float = 50.0):
    """RobustSpot cases as ratio leaves: stalls and sessions at the anomaly minute against each leaf's pooled
    stall rate over the preceding minutes (shrunk to the overall rate by `prior` sessions)."""
    for n, case in enumerate(yaml.safe_load((DATA / "RS" / "anomaly.yaml").read_text())):
        if limit and n >= limit:
            return
        frame = pd.read_csv(DATA / "RS" / f"{case['data']}.csv")
        dims = [c for c in frame.columns if c not in ("min", "value", "cnt")]
        frame[dims] = frame[dims].astype(str)
        ts = int(case["timestamp"])
        past = sorted(m for m in frame["min"].unique() if m < ts)[-history:]
        now = frame[frame["min"] == ts].groupby(dims, as_index=False)[["value", "cnt"]].sum()
        hist = frame[frame["min"].isin(past)].groupby(dims, as_index=False)[["value", "cnt"]].sum()
        overall = hist["value"].sum() / max(hist["cnt"].sum(), 1)
        leaves = now.merge(hist, on=dims, how="left", suffixes=("", "_hist")).fillna(0)
        leaves["rate"] = (leaves["value_hist"] + prior * overall) / (leaves["cnt_hist"] + prior)
        leaves["expected"] = leaves["rate"] * leaves["cnt"]
        cols = {"real_col": "value", "predict_col": "expected", "real_den_col": "cnt", "predict_den_col": "cnt"}
        causes = case["cause"] if isinstance(case["cause"], list) else [case["cause"]]
        truth = {frozenset((k, str(v)) for k, v in c.items()) for c in causes}
        yield leaves, dims, cols, truth


def run(methods: list[str], cases) -> dict[str, tuple[int, int, int, float, int]]:
    """Pooled TP, FP, FN, total seconds and number of cases per method; methods take turns on each case (in
    rotating order) so a busy machine slows them alike."""
    locs = {m: get_localizer(m) for m in methods}
    tally = {m: np.zeros(5) for m in methods}
    for i, (leaves, dims, cols, truth) in enumerate(cases):
        # rotate who goes first: the first to touch a fresh table pays pandas' one-off conversions
        for m in methods[i % len(methods) :] + methods[: i % len(methods)]:
            loc = locs[m]
            t0 = time.perf_counter()
            found = loc.localize(leaves, dims, **cols)
            secs = time.perf_counter() - t0
            pred = {frozenset(rc.scope.items()) for rc in found}
            tally[m] += (len(pred & truth), len(pred - truth), len(truth - pred), secs, 1)
    return {m: tuple(t) for m, t in tally.items()}


def f1(tp: int, fp: int, fn: int) -> float:
    """Pooled F1 = 2TP / (2TP + FP + FN)."""
    return 2 * tp / max(2 * tp + fp + fn, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="at most N cases per setting / data set")
    parser.add_argument("--only", default="B0,S,L,RS", help="data sets to run")
    parser.add_argument("--methods", default="ripple,riskloc,adtributor", help="localizers to compare")
    args = parser.parse_args()
    methods = args.methods.split(",")
    rows = []
    for ds in args.only.split(","):
        if ds == "B0":
            groups = [
                (f"L{p.name[15]}E{p.name[-1]}", lambda p=p: additive_cases(p, args.limit))
                for p in sorted((DATA / "B0").iterdir())
            ]
        elif ds == "RS":
            groups = [("RS", lambda: rs_cases(args.limit))]
        else:
            groups = [(ds, lambda ds=ds: additive_cases(DATA / ds, args.limit))]
        pooled = {m: np.zeros(5) for m in methods}
        for label, cases in groups:
            res = run(methods, cases())
            for m in methods:
                pooled[m] += res[m]
            rows.append((label, res))
            print(label, {m: round(f1(*r[:3]), 3) for m, r in res.items()}, flush=True)
        if len(groups) > 1:
            rows.append((ds, {m: tuple(v) for m, v in pooled.items()}))
    print()
    head = ["setting", "cases"] + [f"{m} F1" for m in methods] + [f"{m} s/case" for m in methods]
    head += [f"pub {c}" for c in PUBLISHED_COLS]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for label, res in rows:
        n = next(iter(res.values()))[4]
        cells = [label, str(int(n))]
        cells += [f"{f1(*res[m][:3]):.3f}" for m in methods]
        cells += [f"{res[m][3] / max(res[m][4], 1):.4f}" for m in methods]
        cells += ["–" if x is None else f"{x:.3f}" for x in PUBLISHED.get(label, (None,) * 6)]
        print("| " + " | ".join(cells) + " |")
    print("\npublished RiskLoc s/case:", PUBLISHED_TIME, "(authors' code; this machine is shared, timings are noisy)")


if __name__ == "__main__":
    main()
