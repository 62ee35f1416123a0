"""Side by side with R CausalImpact on its published examples: our average effect and 95% interval vs R's.

Pass: our average effect inside R's interval and both our bounds within 20% of R's. Data and R outputs are read in
place from shared/benchmarks/causal (see its README for periods and arguments). BSTS runs 5000 MCMC iterations so
that our Monte Carlo noise does not decide a bound near 0 (arma's lower bound moves 0.28..0.35 across seeds at 1000).

    .venv/bin/python bench/bench_impact_reference.py [--estimator bsts] [--all]
"""

from __future__ import annotations

import argparse
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from ecoradar.impact import estimate_impact

CAUSAL = Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks" / "causal"


@dataclass
class Case:
    """One reference: our inputs and R's printed average effect, interval and p."""

    name: str
    y: pd.Series
    controls: pd.DataFrame | None
    pre: tuple
    post: tuple
    r_effect: float
    r_lower: float
    r_upper: float
    r_p: float
    options: dict


def r_summary(name: str) -> tuple[float, float, float, float]:
    """Average absolute effect, its 95% interval and the tail-area p from R's printed summary."""
    text = (CAUSAL / "r_summaries" / f"{name}.txt").read_text()
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("Absolute effect"))
    effect = float(lines[i].split()[3])
    lower, upper = (float(v) for v in re.findall(r"\[([-\d.]+), ([-\d.]+)\]", lines[i + 1])[0])
    p = float(re.search(r"tail-area probability p:\s+([\d.]+)", text).group(1))
    return effect, lower, upper, p


def cases() -> list[Case]:
    """The simulated R references (R run with niter=5000, prior.level.sd=0.01) and the notebook datasets."""
    out = []
    for path in sorted((CAUSAL / "r_reference").glob("r_reference_*.json")):
        d = json.loads(path.read_text())
        n, n_pre = d["n"], d["n_pre"]
        y = pd.Series(d["data"]["y"])
        controls = pd.DataFrame(d["data"]["x"]) if d["data"]["x"] else None
        r = d["r_output"]
        options = {"niter": 5000, "prior_level_sd": 0.01}
        if d["model_args"].get("nseasons"):
            options["nseasons"] = d["model_args"]["nseasons"]
        out.append(
            Case(
                f"sim_{d['scenario']}",
                y,
                controls,
                (0, n_pre - 1),
                (n_pre, n - 1),
                r["point_effect_mean"],
                r["ci_lower"],
                r["ci_upper"],
                r["p_value"],
                options,
            )
        )
    google = pd.read_csv(CAUSAL / "google_data.csv", parse_dates=["date"]).set_index("date")
    comparison = pd.read_csv(CAUSAL / "comparison_data.csv", parse_dates=["DATE"]).set_index("DATE")
    arma = pd.read_csv(CAUSAL / "arma_data.csv")
    basque = pd.read_csv(CAUSAL / "basque.csv", parse_dates=["date"]).set_index("date")
    volks = pd.read_csv(CAUSAL / "volks_data.csv", sep=" ", parse_dates=["Date"]).set_index("Date")
    datasets = [
        ("google", google["y"], google[["x1", "x2"]], ("2020-01-01", "2020-03-01"), ("2020-03-02", "2020-03-31")),
        (
            "comparison",
            comparison["CHANGED"],
            comparison.drop(columns="CHANGED"),
            ("2019-04-16", "2019-07-14"),
            ("2019-07-15", "2019-08-01"),
        ),
        ("arma", arma["y"], arma[["X"]], (0, 69), (70, 99)),
        # periods not in SOURCE.txt: the post-period is the one whose actual sum matches R's summary (173.1)
        ("basque", basque["Basque"], basque[["another"]], ("1955-01-01", "1975-01-01"), ("1976-01-01", "1997-01-01")),
        # the same for volks (10026 over 79 weeks from 2015-09-20, the week after the emissions scandal broke)
        (
            "volks",
            volks["VolksWagen"],
            volks[["BMW", "Allianz"]],
            ("2011-01-02", "2015-09-13"),
            ("2015-09-20", "2017-03-19"),
        ),
    ]
    for name, y, controls, pre, post in datasets:
        out.append(Case(name, y, controls, pre, post, *r_summary(name), {"niter": 5000}))
    return out


def within(ours: float, theirs: float, tol: float = 0.2) -> bool:
    return abs(ours - theirs) <= tol * abs(theirs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--estimator", default="bsts", help="estimator to compare (default bsts)")
    parser.add_argument("--all", action="store_true", help="also print bsts_adaptive and did against R")
    args = parser.parse_args()
    console = Console(highlight=False, width=170)
    names = [args.estimator] + (["bsts_adaptive", "did"] if args.all else [])
    for estimator in names:
        table = Table(title=f"ecoradar impact ({estimator}) vs R CausalImpact 1.4: average effect [95% interval], p")
        for col in ("case", "ours", "R", "ours in R CI", "lower err", "upper err", "p ours / R", "secs", "pass"):
            table.add_column(col, justify="left" if col == "case" else "right")
        passed = 0
        all_cases = cases()
        for case in all_cases:
            options = case.options if estimator.startswith("bsts") else {}
            if estimator == "bsts_adaptive":  # keep the model and the iterations, not R's prior
                options = {k: v for k, v in options.items() if k != "prior_level_sd"}
            t0 = time.perf_counter()
            r = estimate_impact(
                case.y,
                case.controls,
                pre_period=case.pre,
                post_period=case.post,
                estimator=estimator,
                estimator_options=options or None,
            )
            secs = time.perf_counter() - t0
            inside = case.r_lower <= r.average_effect <= case.r_upper
            lo_ok, hi_ok = within(r.lower, case.r_lower), within(r.upper, case.r_upper)
            ok = inside and lo_ok and hi_ok
            passed += ok
            table.add_row(
                case.name,
                f"{r.average_effect:.4g} [{r.lower:.4g}, {r.upper:.4g}]",
                f"{case.r_effect:.4g} [{case.r_lower:.4g}, {case.r_upper:.4g}]",
                "yes" if inside else "NO",
                f"{abs(r.lower - case.r_lower) / abs(case.r_lower):.1%}",
                f"{abs(r.upper - case.r_upper) / abs(case.r_upper):.1%}",
                f"{r.p_value:.3g} / {case.r_p:.3g}",
                f"{secs:.1f}",
                "PASS" if ok else "FAIL",
            )
        console.print(table)
        console.print(
            f"{estimator}: {passed}/{len(all_cases)} cases pass (CPU timings are noisy on a shared machine)\n"
        )


if __name__ == "__main__":
    main()
