"""Hierarchy pruning on hand-made fired anomalies: keep the slice that explains the change."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from ecoradar.data.schema import DIMENSIONS
from ecoradar.detect.cube import prune_hierarchy
from ecoradar.metrics.model import Metric

DIMS = list(DIMENSIONS)
DAY = dt.date(2026, 3, 1)
VIEWS = Metric(
    name="views", description="v", table="impressions", kind="count", dimensions=["region"], category="supply"
)
RATE = Metric(
    name="rate",
    description="r",
    table="impressions",
    kind="ratio",
    numerator="liked",
    denominator="1",
    dimensions=["region"],
    category="supply",
)


def _fired(rows):
    out = []
    for metric, scope, observed, expected, den in rows:
        out.append(
            {
                "metric": metric,
                "date": DAY,
                **{d: scope.get(d) for d in DIMS},
                "observed": observed,
                "expected": expected,
                "denominator": den,
            }
        )
    return pd.DataFrame(out)


def _scopes(frame):
    return sorted(tuple((d, frame.loc[i, d]) for d in DIMS if isinstance(frame.loc[i, d], str)) for i in frame.index)


def test_child_that_explains_replaces_parent_and_root():
    found = _fired(
        [
            ("views", {}, 900.0, 1000.0, None),
            ("views", {"region": "BR"}, 100.0, 190.0, None),
            ("views", {"region": "BR", "format": "photo"}, 20.0, 105.0, None),
        ]
    )
    kept = prune_hierarchy(found, DIMS, {"views": VIEWS})
    assert _scopes(kept) == [(("region", "BR"), ("format", "photo"))]


def test_broad_change_keeps_parent_drops_children():
    found = _fired(
        [
            ("views", {"region": "BR"}, 500.0, 1000.0, None),
            ("views", {"region": "BR", "format": "photo"}, 150.0, 300.0, None),
            ("views", {"region": "BR", "format": "live"}, 170.0, 340.0, None),
            ("views", {"region": "BR", "format": "short_video"}, 180.0, 360.0, None),
        ]
    )
    kept = prune_hierarchy(found, DIMS, {"views": VIEWS})
    assert _scopes(kept) == [(("region", "BR"),)]


def test_ratio_child_weighted_by_denominator_share():
    # the child holds 10% of the parent's trials: a 0.1 move there explains only 0.01 of the parent's 0.05 move
    found = _fired(
        [
            ("rate", {"region": "BR"}, 0.15, 0.10, 10_000.0),
            ("rate", {"region": "BR", "format": "live"}, 0.20, 0.10, 1_000.0),
        ]
    )
    assert _scopes(prune_hierarchy(found, DIMS, {"rate": RATE})) == [(("region", "BR"),)]
    found.loc[1, "denominator"] = 5_000.0  # half the trials, all of the change: concentrated in the child
    found.loc[1, "observed"] = 0.20
    assert _scopes(prune_hierarchy(found, DIMS, {"rate": RATE})) == [(("region", "BR"), ("format", "live"))]


def test_dominant_child_moving_with_its_parent_does_not_replace_it():
    # a child holding 90% of the parent moves in proportion: the change is broad, the parent stays
    found = _fired(
        [
            ("views", {"region": "BR"}, 2000.0, 1000.0, None),
            ("views", {"region": "BR", "os": "android"}, 1800.0, 900.0, None),
        ]
    )
    assert _scopes(prune_hierarchy(found, DIMS, {"views": VIEWS})) == [(("region", "BR"),)]


def test_opposite_direction_child_is_kept_and_other_metrics_untouched():
    found = _fired(
        [
            ("views", {"region": "BR"}, 500.0, 1000.0, None),
            ("views", {"region": "BR", "format": "photo"}, 400.0, 300.0, None),
            ("rate", {"region": "BR", "format": "photo"}, 0.2, 0.1, 100.0),
        ]
    )
    kept = prune_hierarchy(found, DIMS, {"views": VIEWS, "rate": RATE})
    assert len(kept) == 3
