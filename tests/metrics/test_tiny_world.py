"""End to end on the simulated tiny world: every built-in metric, every day, consistent with the raw tables."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from ecoradar.metrics.compiler import CUBE_COLUMNS
from ecoradar.metrics.cube import compute_cube, read_cube
from ecoradar.metrics.loader import load_catalog

DIMS = list(CUBE_COLUMNS[2:13])


@pytest.mark.slow
def test_cube_of_the_tiny_world(tiny_world, tmp_path):
    out = tmp_path / "cube"
    result = compute_cube(tiny_world, out=out, depth=1)
    assert result.metrics_skipped == []
    assert len(result.days_computed) == 60 and result.days_skipped == []
    cube = read_cube(out).to_pandas()
    assert set(cube["metric"]) == set(load_catalog())
    assert not np.isinf(cube["value"].astype(float)).any()
    total = cube[cube[DIMS].isna().all(axis=1)].pivot(index="date", columns="metric", values="value")
    raw = duckdb.sql(
        f"SELECT CAST(ts AS DATE) AS d, count(*) AS n, avg(CAST(coalesce(liked, false) AS DOUBLE)) AS lr "
        f"FROM read_parquet('{tiny_world}/impressions/**/*.parquet') GROUP BY 1 ORDER BY 1"
    ).df()
    np.testing.assert_allclose(total["impressions"].to_numpy(), raw["n"].to_numpy())
    np.testing.assert_allclose(total["like_rate"].to_numpy(), raw["lr"].to_numpy(), rtol=1e-12)
    # shares of formats add up to 1 in every slice that has format
    shares = cube[cube["metric"] == "format_share"]
    others = [d for d in DIMS if d != "format"]
    sums = shares.fillna({d: "*" for d in others}).groupby(["date", *others])["value"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0)
    assert cube["value"][cube["metric"] == "creator_exposure_gini"].between(0, 1).all()
    # a second run is a no-op
    assert compute_cube(tiny_world, out=out, depth=1).days_computed == []
