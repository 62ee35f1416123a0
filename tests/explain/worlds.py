"""Seeded leaf tables and metric cubes with known root causes (the answers the tests check against)."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pandas as pd

from ecoradar.data.schema import DIMENSIONS

DIMS = {"region": ["US", "JP", "ID", "BR"], "format": ["short_video", "photo", "live"], "os": ["ios", "android"]}


def leaf_table(causes: list[dict[str, str]], factor: float = 0.4, noise: float = 0.01, seed: int = 7) -> pd.DataFrame:
    """Full leaf table over DIMS (+ a 4th dim) where leaves under every cause move by `factor`."""
    rng = np.random.default_rng(seed)
    dims = {**DIMS, "surface": ["for_you", "following", "search"]}
    rows = pd.DataFrame(list(itertools.product(*dims.values())), columns=list(dims))
    rows["predict"] = rng.lognormal(5, 1, len(rows))
    rows["real"] = rows["predict"] * (1 + rng.normal(0, noise, len(rows)))
    for cause in causes:
        m = np.logical_and.reduce([rows[k] == v for k, v in cause.items()])
        rows.loc[m, "real"] *= factor
    return rows


def cube(
    rate_causes: list[dict[str, str]] = (),
    mix_to: dict[str, str] | None = None,
    days: int = 29,
    change_days: int = 1,
    rate_factor: float = 3.0,
    seed: int = 3,
    views_scale: float = 1.0,
    poisson: bool = False,
) -> tuple[pd.DataFrame, dt.date]:
    """A ratio-metric cube (numerator = reports, denominator = views) over DIMS, depth <= 2, for `days` days.

    Leaves under `rate_causes` get `rate_factor` x their report rate on the last `change_days` days; `mix_to`
    moves traffic (views) toward one slice without changing any rate; `views_scale` scales traffic and `poisson`
    draws reports as counts (sparse slices when both are small). Returns (cube rows, last day).
    """
    rng = np.random.default_rng(seed)
    leaves = pd.DataFrame(list(itertools.product(*DIMS.values())), columns=list(DIMS))
    base_views = rng.uniform(5e4, 2e5, len(leaves)) * views_scale
    base_rate = rng.uniform(0.002, 0.02, len(leaves))
    start = dt.date(2026, 3, 1)
    frames = []
    for i in range(days):
        day = start + dt.timedelta(days=i)
        views = base_views * (1 + rng.normal(0, 0.01, len(leaves)))
        rate = base_rate * (1 + rng.normal(0, 0.01, len(leaves)))
        if i >= days - change_days:
            for cause in rate_causes:
                m = np.logical_and.reduce([leaves[k] == v for k, v in cause.items()])
                rate[m] *= rate_factor
            if mix_to:
                m = np.logical_and.reduce([leaves[k] == v for k, v in mix_to.items()])
                views[m] *= 4
        reports = rng.poisson(views * rate).astype(float) if poisson else views * rate
        frames.append(leaves.assign(date=day, numerator=reports, denominator=views))
    daily = pd.concat(frames, ignore_index=True)
    out = []
    for depth in range(0, 3):
        for keys in itertools.combinations(list(DIMS), depth):
            g = daily.groupby(["date", *keys], as_index=False)[["numerator", "denominator"]].sum()
            out.append(g)
    rows = pd.concat(out, ignore_index=True)
    for d in DIMENSIONS:
        if d not in rows.columns:
            rows[d] = None
        rows[d] = rows[d].astype(object).where(rows[d].notna(), None)
    rows["metric"] = "report_rate"
    rows["value"] = rows["numerator"] / rows["denominator"]
    return rows[["metric", "date", *DIMENSIONS, "numerator", "denominator", "value"]], start + dt.timedelta(
        days=days - 1
    )
