"""The cube on disk: layout, incremental runs equal a full recompute, idempotence, ranges and bad data."""

from __future__ import annotations

import datetime as dt
import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest
from metricdata import START, make_data

from ecoradar.errors import DataError, InputError, NotFound
from ecoradar.metrics.compiler import CUBE_COLUMNS
from ecoradar.metrics.cube import CUBE_SCHEMA, compute_cube, read_cube
from ecoradar.metrics.loader import Catalog, load_catalog
from ecoradar.metrics.model import Metric

FEW = ["impressions", "like_rate", "format_share", "creator_exposure_gini", "removal_rate", "review_latency_p90_h"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cube") / "data"
    make_data(folder, days=4, impressions=400, seed=3)
    return folder


def copy_data(data, tmp_path, days=None):
    """A copy of the data folder, optionally with only the first `days` daily partitions."""
    out = tmp_path / "data"
    shutil.copytree(data, out, ignore=shutil.ignore_patterns("cube"))
    if days is not None:
        for table in ("impressions", "uploads", "moderation"):
            for part in sorted((out / table).glob("date=*"))[days:]:
                shutil.rmtree(part)
    return out


def sorted_rows(table):
    return table.to_pandas().sort_values(list(CUBE_COLUMNS[:13])).reset_index(drop=True)


def test_layout_and_schema(data, tmp_path):
    folder = copy_data(data, tmp_path)
    result = compute_cube(folder, metrics=FEW)
    assert result.path == folder / "cube"
    assert result.days_computed == [START + dt.timedelta(days=k) for k in range(4)]
    parts = sorted((folder / "cube").glob("*/*"))
    assert [p.relative_to(folder / "cube").as_posix() for p in parts] == [
        f"date={START + dt.timedelta(days=k)}/part-0.parquet" for k in range(4)
    ]
    table = pq.read_table(parts[0])
    assert table.schema.remove_metadata() == CUBE_SCHEMA
    assert set(table["date"].to_pylist()) == {START}
    cube = read_cube(folder)
    assert cube.num_rows == result.rows
    df = cube.to_pandas()
    # the all-NULL total exists for every metric and day
    total = df[df[list(CUBE_COLUMNS[2:13])].isna().all(axis=1)]
    assert set(total["metric"]) == set(FEW) - {"format_share"}
    assert len(total) == 4 * (len(FEW) - 1)
    # format_share exists only where format is in the slice, and sums to 1 over formats
    shares = df[df["metric"] == "format_share"]
    assert shares["format"].notna().all()
    others = [c for c in CUBE_COLUMNS[2:13] if c != "format"]
    sums = shares[shares[others].isna().all(axis=1)].groupby("date")["value"].sum()
    np.testing.assert_allclose(sums, 1.0)
    # NULL data values are '(none)', so NULL keeps meaning "all"
    versions = df[(df["metric"] == "impressions") & df["app_version"].notna()]["app_version"]
    assert "(none)" in set(versions)


def test_incremental_equals_full_and_is_idempotent(data, tmp_path):
    full_dir = copy_data(data, tmp_path / "full")
    compute_cube(full_dir, metrics=FEW)
    inc_dir = copy_data(data, tmp_path / "inc", days=2)
    first = compute_cube(inc_dir, metrics=FEW)
    assert len(first.days_computed) == 2
    for table in ("impressions", "uploads", "moderation"):
        for part in sorted((full_dir / table).glob("date=*"))[2:]:
            shutil.copytree(part, inc_dir / table / part.name)
    second = compute_cube(inc_dir, metrics=FEW)
    assert second.days_computed == [START + dt.timedelta(days=2), START + dt.timedelta(days=3)]
    assert second.days_skipped == [START, START + dt.timedelta(days=1)]
    before = {p: p.stat().st_mtime_ns for p in (inc_dir / "cube").glob("*/*.parquet")}
    again = compute_cube(inc_dir, metrics=FEW)
    assert again.days_computed == [] and again.rows == 0
    assert before == {p: p.stat().st_mtime_ns for p in (inc_dir / "cube").glob("*/*.parquet")}
    assert sorted_rows(read_cube(inc_dir)).equals(sorted_rows(read_cube(full_dir)))


def test_range_forces_recompute(data, tmp_path):
    folder = copy_data(data, tmp_path)
    compute_cube(folder, metrics=FEW)
    day = START + dt.timedelta(days=1)
    result = compute_cube(folder, metrics=FEW, date_from=day, date_to=day)
    assert result.days_computed == [day]
    assert read_cube(folder, date_from=day, date_to=day)["date"].to_pylist() == [day] * result.rows


def test_changed_definition_recomputes_and_subsets_merge(data, tmp_path):
    folder = copy_data(data, tmp_path)
    compute_cube(folder, metrics=["impressions", "like_rate"])
    # computing another metric keeps the rows of the first ones in each day's partition
    compute_cube(folder, metrics=["uploads"])
    assert set(read_cube(folder)["metric"].to_pylist()) == {"impressions", "like_rate", "uploads"}
    # a changed definition makes every day stale
    catalog = load_catalog()
    changed = catalog.get("like_rate").model_copy(update={"filter": "surface = 'for_you'"})
    custom = Catalog([changed if m.name == "like_rate" else m for m in catalog.values()])
    result = compute_cube(folder, catalog=custom, metrics=["impressions", "like_rate"])
    assert len(result.days_computed) == 4
    assert len(compute_cube(folder, catalog=custom, metrics=["impressions", "like_rate"]).days_computed) == 0


def test_read_cube_filters(data, tmp_path):
    folder = copy_data(data, tmp_path)
    compute_cube(folder, metrics=FEW)
    day = START + dt.timedelta(days=2)
    table = read_cube(folder / "cube", metrics=["like_rate"], date_from=day)
    assert set(table["metric"].to_pylist()) == {"like_rate"}
    assert min(table["date"].to_pylist()) == day
    assert read_cube(folder, metrics=["nope"]).num_rows == 0
    with pytest.raises(DataError, match="no metric cube"):
        read_cube(tmp_path / "nothing")


def test_depth_and_dimensions(data, tmp_path):
    folder = copy_data(data, tmp_path)
    compute_cube(folder, metrics=["impressions"], depth=1, dimensions=["region", "os"], out=tmp_path / "c1")
    df = read_cube(tmp_path / "c1").to_pandas()
    assert df[["region", "os"]].notna().sum(axis=1).max() == 1
    assert df[[c for c in CUBE_COLUMNS[2:13] if c not in ("region", "os")]].isna().all().all()
    compute_cube(folder, metrics=["impressions"], depth=0, out=tmp_path / "c0")
    assert read_cube(tmp_path / "c0").num_rows == 4


def test_empty_date_range(data, tmp_path):
    with pytest.raises(InputError, match="empty date range: no data between 2030-01-01 .* covers 2026-03-01 to"):
        compute_cube(data, metrics=FEW, date_from=dt.date(2030, 1, 1), out=tmp_path / "c")
    with pytest.raises(InputError, match="empty date range"):
        compute_cube(data, metrics=FEW, date_from=dt.date(2026, 3, 3), date_to=dt.date(2026, 3, 1), out=tmp_path / "c")


def test_missing_column_names_table_and_column(data, tmp_path):
    folder = copy_data(data, tmp_path)
    for part in (folder / "impressions").glob("date=*/part-0.parquet"):
        pq.write_table(pq.read_table(part).drop_columns(["liked"]), part)
    with pytest.raises(DataError, match="impressions.*missing column 'liked'"):
        compute_cube(folder, metrics=["like_rate"])


def test_missing_table(data, tmp_path):
    folder = copy_data(data, tmp_path)
    shutil.rmtree(folder / "moderation")
    with pytest.raises(DataError, match="needs table 'moderation'"):
        compute_cube(folder, metrics=["removal_rate"])
    result = compute_cube(folder, metrics=None, catalog=Catalog(load_catalog().select(FEW)))
    assert set(result.metrics_skipped) == {"removal_rate", "review_latency_p90_h"}


def test_unknown_metric_and_engine(data, tmp_path):
    with pytest.raises(NotFound, match="did you mean 'like_rate'"):
        compute_cube(data, metrics=["like_rat"], out=tmp_path / "c")
    with pytest.raises(NotFound, match="unknown engine 'duckdbb'"):
        compute_cube(data, metrics=FEW, engine="duckdbb", out=tmp_path / "c")


def test_division_by_zero_is_null(data, tmp_path):
    folder = copy_data(data, tmp_path)
    metric = Metric(
        name="ms_per_second_of_duration",
        description="watch_ms / (duration_ms / 1000), where some durations are 0",
        table="impressions",
        kind="mean",
        numerator="watch_ms / (duration_ms - duration_ms)",
        dimensions=["region"],
        category="user_experience",
    )
    compute_cube(folder, catalog=Catalog([metric]), out=tmp_path / "c")
    values = read_cube(tmp_path / "c")["value"].to_pylist()
    assert values and all(v is None for v in values)
