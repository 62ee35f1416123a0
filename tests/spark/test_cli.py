"""`ecoradar metrics compute --engine spark` as a real process."""

from __future__ import annotations

import pytest

from ecoradar.metrics.cube import read_cube

pytestmark = pytest.mark.spark


def test_spark_master_needs_spark_engine(cli, tmp_path):
    res = cli("metrics", "compute", "--data", tmp_path, "--spark-master", "local[1]")
    assert res.exit_code == 2
    assert "--spark-master needs --engine spark" in res.stderr


@pytest.mark.slow
def test_metrics_compute_on_spark(cli, tiny_world, tmp_path):
    out = tmp_path / "cube"
    res = cli(
        "metrics", "compute", "--data", tiny_world, "--out", out, "--engine", "spark", "--spark-master", "local[1]",
        "--metric", "impressions", "--metric", "like_rate", "--from", "2026-01-10", "--to", "2026-01-10",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr[-2000:]
    assert "2 metrics, 1 days computed" in res.stdout
    cube = read_cube(out)
    assert set(cube["metric"].to_pylist()) == {"impressions", "like_rate"}
    assert cube.num_rows > 100
