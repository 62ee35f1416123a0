"""Hierarchy and overlap pruning on hand-made fired anomalies: keep the slice that explains the change."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from ecoradar.data.schema import DIMENSIONS
from ecoradar.detect.cube import gate_hierarchy, prune_hierarchy, prune_overlaps, slice_sizes
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


SHARE = Metric(
    name="fmt_share",
    description="s",
    table="impressions",
    kind="share",
    entity="format",
    dimensions=["region", "format"],
    category="traffic_balance",
)
GINI = Metric(
    name="gini",
    description="g",
    table="impressions",
    kind="gini",
    entity="creator_id",
    dimensions=["region", "format"],
    category="diversity",
)


def _fired(rows, band=None):
    """Fired anomalies (metric, scope, observed, expected, denominator); `band`: half-width of lower..upper."""
    out = []
    for metric, scope, observed, expected, den in rows:
        out.append(
            {
                "metric": metric,
                "date": DAY,
                **{d: scope.get(d) for d in DIMS},
                "observed": observed,
                "expected": expected,
                "lower": expected - (band or 0.0),
                "upper": expected + (band or 0.0),
                "denominator": den,
            }
        )
    return pd.DataFrame(out)


def _sizes(metric, sizes):
    """`slice_sizes` of parent slices given as {scope: denominator}."""
    rows = pd.DataFrame(
        [{"metric": metric, "date": DAY, **{d: dict(k).get(d) for d in DIMS}, "denominator": v} for k, v in sizes]
    )
    return slice_sizes(rows.assign(value=0.0), DIMS)


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


def test_echoes_of_a_change_in_an_overlapping_slice_are_dropped():
    # android x photo (10% of the platform, a third of photo) loses half its rate: every slice overlapping it
    # shows that, diluted by its share; JP's own, larger drop is not an echo
    source = {"format": "photo", "os": "android"}
    found = _fired(
        [
            ("rate", source, 0.05, 0.10, 100.0),
            ("rate", {"region": "US"}, 0.095, 0.10, 250.0),
            ("rate", {"region": "US", "format": "photo"}, 0.0835, 0.10, 80.0),
            ("rate", {"region": "JP"}, 0.08, 0.10, 250.0),
        ],
        band=0.003,
    )
    sizes = _sizes("rate", [((), 1000.0), ((("format", "photo"),), 300.0)])
    kept = prune_overlaps(found, DIMS, {"rate": RATE}, sizes)
    assert _scopes(kept) == [(("format", "photo"), ("os", "android")), (("region", "JP"),)]


def test_an_echo_never_explains_its_source_and_unknown_parents_explain_nothing():
    found = _fired([("rate", {"format": "photo", "os": "android"}, 0.05, 0.10, 100.0)], band=0.003)
    echo = _fired([("rate", {"region": "US", "format": "photo"}, 0.0835, 0.10, 80.0)], band=0.003)
    both = pd.concat([echo, found], ignore_index=True)  # the echo first: order is by relative deviation, not rows
    root_only = _sizes("rate", [((), 1000.0)])  # {format: photo} unknown: no estimate of the echo, nothing dropped
    assert len(prune_overlaps(both, DIMS, {"rate": RATE}, root_only)) == 2
    sizes = _sizes("rate", [((), 1000.0), ((("format", "photo"),), 300.0)])
    assert _scopes(prune_overlaps(both, DIMS, {"rate": RATE}, sizes)) == [(("format", "photo"), ("os", "android"))]


def test_a_share_taken_from_one_format_shows_in_its_siblings_only():
    # photo loses 0.08 of BR; short_video (0.7 of BR before) takes 0.08 * 0.7 / 0.8 of it
    found = _fired(
        [
            ("fmt_share", {"region": "BR", "format": "photo"}, 0.12, 0.20, 1000.0),
            ("fmt_share", {"region": "BR", "format": "short_video"}, 0.77, 0.70, 1000.0),
            ("fmt_share", {"format": "short_video"}, 0.72, 0.70, 5000.0),
        ],
        band=0.01,
    )
    kept = prune_overlaps(found, DIMS, {"fmt_share": SHARE}, _sizes("fmt_share", [((), 9000.0)]))
    assert _scopes(kept) == [(("format", "short_video"),), (("region", "BR"), ("format", "photo"))]


def test_kinds_that_do_not_decompose_are_left_alone():
    found = _fired(
        [("gini", {"format": "photo", "os": "android"}, 0.5, 0.8, 100.0), ("gini", {"region": "US"}, 0.77, 0.8, 250.0)],
        band=0.01,
    )
    sizes = _sizes("gini", [((), 1000.0)])
    assert len(prune_overlaps(found, DIMS, {"gini": GINI}, sizes)) == 2


def test_a_noisy_small_slice_overshooting_the_source_does_not_explain_it_away():
    # gaming x for_you's rate rises 50% (clear); gaming x app 34.2.0, half of gaming, shows +142% on few events:
    # by relative change it would "explain" for_you's rise (0.5 * 1.42 = 0.71), by significance it comes second
    found = _fired(
        [
            ("rate", {"category": "gaming", "surface": "for_you"}, 0.15, 0.10, 600.0),
            ("rate", {"category": "gaming", "app_version": "34.2.0"}, 0.242, 0.10, 500.0),
        ],
        band=0.025,
    )
    found["p_value"] = [1e-12, 1e-5]
    sizes = _sizes("rate", [((), 10_000.0), ((("category", "gaming"),), 1000.0)])
    kept = prune_overlaps(found, DIMS, {"rate": RATE}, sizes)
    assert (("category", "gaming"), ("surface", "for_you")) in _scopes(kept)
    assert len(prune_overlaps(found.drop(columns="p_value"), DIMS, {"rate": RATE}, sizes)) == 1  # by size of move


def test_a_share_within_one_region_is_not_gated_by_its_platform_wide_parent():
    # BR's photo share halves; the platform's photo share, BR being a tenth of it, hardly moves: for a share,
    # {region: BR, format: photo} is BR's format mix, a one-dim slice; a count's two-dim slice still needs a parent
    found = _fired(
        [
            ("fmt_share", {"region": "BR", "format": "photo"}, 0.10, 0.20, 1000.0),
            ("views", {"region": "BR", "format": "photo"}, 50.0, 100.0, None),
        ]
    )
    found["p_adj"] = 1e-9
    metrics = {"fmt_share": SHARE, "views": VIEWS}
    kept = gate_hierarchy(found, DIMS, gate_p=0.01, metrics=metrics)
    assert kept["metric"].tolist() == ["fmt_share"]
    assert gate_hierarchy(found, DIMS, gate_p=0.01).empty  # without knowing it is a share, both are gated
