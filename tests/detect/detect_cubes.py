"""Small seeded metric cubes with known injected changes, for detect tests (no simulator needed)."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pandas as pd

from ecoradar.data.schema import DIMENSIONS
from ecoradar.metrics.model import Metric

REGIONS = ("US", "BR", "DE", "JP")
FORMATS = ("short_video", "photo", "live")
START = dt.date(2026, 1, 1)

VIEWS = Metric(
    name="views",
    description="impressions",
    table="impressions",
    kind="count",
    dimensions=["region", "format"],
    category="supply",
)
LIKE_RATE = Metric(
    name="like_rate",
    description="likes per impression",
    table="impressions",
    kind="ratio",
    numerator="liked",
    denominator="1",
    dimensions=["region", "format"],
    category="user_experience",
    min_denominator=50,
)


def make_cube(
    n_days: int = 90,
    *,
    seed: int = 0,
    changes: tuple[tuple[dict, int, float], ...] = (),
    rate_changes: tuple[tuple[dict, int, float], ...] = (),
    scale: float = 1000.0,
) -> pd.DataFrame:
    """Cube rows for `views` (count, weekly season) and `like_rate` (ratio) over region x format and their rollups.

    Args:
        changes: (leaf scope, first day index, factor): multiply views of matching leaves from that day on.
        rate_changes: (leaf scope, first day index, new rate): the like rate of matching leaves from that day on.
        scale: views per day of the smallest leaf.
    """
    rng = np.random.default_rng(seed)
    leaves = list(itertools.product(REGIONS, FORMATS))
    t = np.arange(n_days)
    season = 1 + 0.2 * np.sin(2 * np.pi * t / 7)
    mean = np.array([[scale * (i + 1) * (j + 1)] for i in range(len(REGIONS)) for j in range(len(FORMATS))]) * season
    rate = np.full((len(leaves), n_days), 0.1)
    for scope, day, factor in changes:
        hit = [k for k, (r, f) in enumerate(leaves) if _matches(scope, r, f)]
        mean[np.ix_(hit, np.arange(day, n_days))] *= factor
    for scope, day, new_rate in rate_changes:
        hit = [k for k, (r, f) in enumerate(leaves) if _matches(scope, r, f)]
        rate[np.ix_(hit, np.arange(day, n_days))] = new_rate
    views = rng.poisson(mean).astype(float)
    likes = rng.binomial(views.astype(int), rate).astype(float)
    dates = [START + dt.timedelta(days=int(d)) for d in t]
    frames = []
    groups = [{}] + [{"region": r} for r in REGIONS] + [{"format": f} for f in FORMATS]
    groups += [{"region": r, "format": f} for r, f in leaves]
    for scope in groups:
        hit = [k for k, (r, f) in enumerate(leaves) if _matches(scope, r, f)]
        v, lk = views[hit].sum(axis=0), likes[hit].sum(axis=0)
        dims = {d: scope.get(d) for d in DIMENSIONS}
        frames.append(
            pd.DataFrame({"metric": "views", "date": dates, **dims, "numerator": v, "denominator": np.nan, "value": v})
        )
        frames.append(
            pd.DataFrame(
                {"metric": "like_rate", "date": dates, **dims, "numerator": lk, "denominator": v, "value": lk / v}
            )
        )
    return pd.concat(frames, ignore_index=True)


def _matches(scope: dict, region: str, fmt: str) -> bool:
    return all({"region": region, "format": fmt}[k] == v for k, v in scope.items())


OSES = ("android", "ios")


def make_wide_cube(
    n_days: int = 90, *, seed: int = 0, rate_changes: tuple[tuple[dict, int, float], ...] = (), scale: float = 4000.0
) -> pd.DataFrame:
    """`like_rate` over region x format x os leaves, rolled up to every slice of at most two dims (as the real cube).

    A change in a two-dim slice such as {format, os} then shows, diluted, in slices that overlap it without
    containing it ({region}, {region, format}): what overlap pruning is for.
    """
    rng = np.random.default_rng(seed)
    leaves = list(itertools.product(REGIONS, FORMATS, OSES))
    keys = [dict(zip(("region", "format", "os"), leaf, strict=True)) for leaf in leaves]
    mean = np.full((len(leaves), n_days), scale)
    rate = np.full((len(leaves), n_days), 0.1)
    for scope, day, new_rate in rate_changes:
        hit = [k for k, key in enumerate(keys) if all(key[d] == v for d, v in scope.items())]
        rate[np.ix_(hit, np.arange(day, n_days))] = new_rate
    views = rng.poisson(mean).astype(float)
    likes = rng.binomial(views.astype(int), rate).astype(float)
    dates = [START + dt.timedelta(days=d) for d in range(n_days)]
    values = {"region": REGIONS, "format": FORMATS, "os": OSES}
    groups = [{}] + [
        dict(zip(pair, combo, strict=True))
        for k in (1, 2)
        for pair in itertools.combinations(values, k)
        for combo in itertools.product(*(values[d] for d in pair))
    ]
    frames = []
    for scope in groups:
        hit = [k for k, key in enumerate(keys) if all(key[d] == v for d, v in scope.items())]
        v, lk = views[hit].sum(axis=0), likes[hit].sum(axis=0)
        dims = {d: scope.get(d) for d in DIMENSIONS}
        frames.append(
            pd.DataFrame(
                {"metric": "like_rate", "date": dates, **dims, "numerator": lk, "denominator": v, "value": lk / v}
            )
        )
    return pd.concat(frames, ignore_index=True)
