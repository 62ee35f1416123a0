"""`ecoradar localize` and `ecoradar explain` as real processes, including bad input."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from worlds import cube, leaf_table

from cli_runner import run_cli
from ecoradar.metrics.cube import CUBE_SCHEMA
from ecoradar.metrics.loader import load_catalog

# each test starts a real `ecoradar` process, whose start-up imports every stage (seconds on an idle machine)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def leaves_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("leaves") / "leaves.csv"
    leaf_table([{"region": "ID", "format": "photo"}]).to_csv(path, index=False)
    return path


def test_localize_json(leaves_csv):
    res = run_cli("localize", "--leaves", leaves_csv, "--dims", "region,format,os,surface", "--json")
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    assert [r["scope"] for r in out] == [{"region": "ID", "format": "photo"}]
    assert out[0]["contribution"] == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dims", "region,formt"], "no column 'formt'"),
        (["--dims", "region", "--method", "squeze"], "unknown localizer 'squeze'"),
    ],
)
def test_localize_bad_input(leaves_csv, args, message):
    res = run_cli("localize", "--leaves", leaves_csv, *args)
    assert res.exit_code == 2
    assert message in res.stderr and "Traceback" not in res.stderr


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A data folder holding only a cube (hive-partitioned by date) of a real catalog ratio metric."""
    metric = next(m for m in load_catalog().values() if m.is_ratio and {"region", "format", "os"} <= set(m.dimensions))
    rows, day = cube(rate_causes=[{"region": "JP", "format": "live"}])
    rows["metric"] = metric.name
    root = tmp_path_factory.mktemp("world")
    for d, part in rows.groupby("date"):
        folder = root / "cube" / f"date={d}"
        folder.mkdir(parents=True)
        pq.write_table(pa.Table.from_pandas(part, schema=CUBE_SCHEMA, preserve_index=False), folder / "part-0.parquet")
    return root, metric.name, day


def test_explain_cli(data_dir):
    root, name, day = data_dir
    res = run_cli("explain", "--data", root, "--metric", name, "--date", day)
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == f"{name} on {day} in all: rate_change"
    first_cause = next(line for line in lines if "region=" in line)
    assert "region=JP,format=live" in first_cause
    assert "Mix vs rate" in res.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--metric", "no_such_metric"], "unknown metric"),
        (["--date", "1999-01-01"], "outside the data"),
        (["--slice", "regoin=JP"], "did you mean 'region'"),
    ],
)
def test_explain_bad_input(data_dir, args, message):
    root, name, day = data_dir
    base = {"--metric": name, "--date": str(day)}
    for k, v in zip(args[::2], args[1::2], strict=True):
        base[k] = v
    res = run_cli("explain", "--data", root, *[x for kv in base.items() for x in kv])
    assert res.exit_code == 2, res.stdout
    assert message in res.stderr and "Traceback" not in res.stderr
