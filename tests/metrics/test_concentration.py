"""Gini, entropy, top share and effective count per slice against closed forms, on hand-built impressions."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ecoradar.data.schema import TABLES
from ecoradar.metrics.cube import compute_cube, read_cube
from ecoradar.metrics.loader import Catalog, load_catalog
from ecoradar.metrics.model import Metric

DAY = dt.date(2026, 4, 1)
FORMATS = ["short_video", "long_video", "photo", "live"]


def pairwise_gini(x: np.ndarray) -> float:
    """Mean absolute difference over twice the mean: the textbook definition, no sorting."""
    return float(np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean()))


@pytest.fixture(scope="module")
def cube(tmp_path_factory):
    folder = tmp_path_factory.mktemp("conc")
    # US: creator i (1..200) gets i impressions, formats round-robin (equal mix);
    # BR: creators 1001..1050 get 3 impressions each, all photos.
    us = np.repeat(np.arange(1, 201), np.arange(1, 201))
    br = np.repeat(np.arange(1001, 1051), 3)
    creator = np.concatenate([us, br])
    n = len(creator)
    fmt = np.array(FORMATS * (len(us) // 4 + 1))[: len(us)].tolist() + ["photo"] * len(br)
    frame = pd.DataFrame(
        {
            "ts": pd.Timestamp(DAY) + pd.to_timedelta(np.arange(n) % 86_400, unit="s"),
            "user_id": np.arange(n) % 97,
            "video_id": np.arange(n),
            "creator_id": creator,
            "region": ["US"] * len(us) + ["BR"] * len(br),
            "format": fmt,
            "category": "comedy",
            "surface": "for_you",
            "os": "ios",
            "app_version": "34.2.0",
            "duration_ms": 10_000,
            "watch_ms": 5_000,
            **{f: False for f in ("liked", "shared", "commented", "followed", "not_interested", "reported")},
        }
    )
    path = folder / "impressions" / f"date={DAY}" / "part-0.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pandas(frame, schema=TABLES["impressions"], preserve_index=False), path)
    ids = np.unique(creator)
    creators = pd.DataFrame(
        {
            "creator_id": ids,
            "region": "US",
            "tier": "nano",
            "join_date": DAY - dt.timedelta(days=100),
            "primary_category": "comedy",
        }
    )
    (folder / "creators").mkdir()
    pq.write_table(
        pa.Table.from_pandas(creators, schema=TABLES["creators"], preserve_index=False),
        folder / "creators" / "part-0.parquet",
    )
    names = ["creator_exposure_gini", "top1pct_creator_share", "format_mix_entropy", "exposed_creators"]
    effective = Metric(
        name="effective_creators",
        description="inverse Simpson index of impressions per creator",
        table="impressions",
        kind="effective_count",
        entity="creator_id",
        dimensions=["region", "format"],
        category="diversity",
    )
    compute_cube(folder, catalog=Catalog([*load_catalog().select(names), effective]), depth=1)
    frame = read_cube(folder).to_pandas()
    frame = frame[
        frame[["format", "category", "surface", "os", "app_version", "tier", "creator_age"]].isna().all(axis=1)
    ]
    return frame.set_index(["metric", frame["region"].fillna("all")])


def test_gini_closed_form(cube):
    n = 200
    assert cube.loc[("creator_exposure_gini", "US"), "value"] == pytest.approx((n - 1) / (3 * n), rel=1e-12)
    assert cube.loc[("creator_exposure_gini", "BR"), "value"] == pytest.approx(0.0, abs=1e-12)
    both = np.concatenate([np.arange(1, 201), np.full(50, 3)]).astype(float)
    assert cube.loc[("creator_exposure_gini", "all"), "value"] == pytest.approx(pairwise_gini(both), rel=1e-12)
    assert cube.loc[("creator_exposure_gini", "all"), "denominator"] == 250


def test_top_share(cube):
    # US: floor(1% of 200) = 2 creators, with 200 and 199 impressions
    assert cube.loc[("top1pct_creator_share", "US"), "value"] == pytest.approx(399 / 20_100, rel=1e-12)
    assert cube.loc[("top1pct_creator_share", "US"), "numerator"] == 399
    # BR: floor(0.5) = 0, so at least one creator (all tie at 3)
    assert cube.loc[("top1pct_creator_share", "BR"), "value"] == pytest.approx(3 / 150, rel=1e-12)
    # all: floor(2.5) = 2 creators
    assert cube.loc[("top1pct_creator_share", "all"), "value"] == pytest.approx(399 / 20_250, rel=1e-12)


def test_entropy_closed_form(cube):
    assert cube.loc[("format_mix_entropy", "US"), "value"] == pytest.approx(math.log(4), rel=1e-12)
    assert cube.loc[("format_mix_entropy", "BR"), "value"] == pytest.approx(0.0, abs=1e-12)
    p = np.array([5025, 5025, 5025 + 150, 5025]) / 20_250
    assert cube.loc[("format_mix_entropy", "all"), "value"] == pytest.approx(float(-(p * np.log(p)).sum()), rel=1e-12)


def test_distinct_entities(cube):
    assert cube.loc[("exposed_creators", "all"), "value"] == 250
    assert cube.loc[("exposed_creators", "BR"), "value"] == 50


def test_effective_count_is_the_inverse_simpson_index(cube):
    # US: creator i has i impressions, so (sum i)^2 / sum i^2; BR: 50 equal creators are 50 effective ones
    i = np.arange(1, 201, dtype=float)
    assert cube.loc[("effective_creators", "US"), "value"] == pytest.approx(i.sum() ** 2 / (i**2).sum(), rel=1e-12)
    assert cube.loc[("effective_creators", "US"), "denominator"] == 200
    assert cube.loc[("effective_creators", "BR"), "value"] == pytest.approx(50.0, rel=1e-12)
    both = np.concatenate([i, np.full(50, 3.0)])
    assert cube.loc[("effective_creators", "all"), "value"] == pytest.approx(both.sum() ** 2 / (both**2).sum())
