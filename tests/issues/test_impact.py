"""Issue impact: a fix on a synthetic cube with a known recovery, stored on the issue; bad input says what is wrong."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ecoradar.errors import InputError
from ecoradar.issues import service
from ecoradar.issues.daily import ingest_day
from ecoradar.issues.impact import issue_impact, parse_controls
from ecoradar.metrics.cube import CUBE_SCHEMA
from ecoradar.store import open_store
from store.storetests import anomaly, catalog

START = dt.date(2026, 1, 1)
DAYS = 70
BREAK, FIX = 35, 50  # JP photo share drops 30% on day 35; the fix on day 50 restores it


def write_cube(folder, seed=3):
    """photo_share per region: a shared weekly pattern + noise; JP breaks at BREAK and recovers at FIX."""
    rng = np.random.default_rng(seed)
    regions = ["JP", "US", "BR", "DE", "MX", "GB"]
    common = 0.12 + 0.01 * np.sin(np.arange(DAYS) * 2 * np.pi / 7)
    values = {r: common * (1 + 0.1 * i) + rng.normal(0, 0.001, DAYS) for i, r in enumerate(regions)}
    values["JP"][BREAK:FIX] *= 0.7
    for t in range(DAYS):
        rows = [
            {
                "metric": "photo_share",
                "date": START + dt.timedelta(days=t),
                "region": r,
                "numerator": None,
                "denominator": 1000.0,
                "value": float(values[r][t]),
            }
            for r in regions
        ]
        rows.append(
            {
                "metric": "photo_share",
                "date": START + dt.timedelta(days=t),
                "numerator": None,
                "denominator": 6000.0,
                "value": float(np.mean([values[r][t] for r in regions])),
            }
        )
        part = folder / "cube" / f"date={START + dt.timedelta(days=t)}"
        part.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=CUBE_SCHEMA), part / "part-0.parquet")


@pytest.fixture
def world(tmp_path):
    """A data folder with a cube and a SQLite store beside it holding the JP issue (ECO-001)."""
    write_cube(tmp_path)
    url = f"sqlite:///{tmp_path / 'ecoradar.db'}"
    broke = START + dt.timedelta(days=BREAK)
    with open_store(url).session() as s:
        ingest_day(s, broke, [anomaly({"region": "JP"}, broke)], [], catalog())
        ingest_day(s, broke + dt.timedelta(days=1), [], [], catalog())
    return tmp_path, url


def test_a_fix_that_worked_is_recovered_and_stored(world):
    folder, url = world
    fix = START + dt.timedelta(days=FIX)
    result = issue_impact("ECO-001", fix_date=fix, db=url, data=folder)
    assert result.verdict == "recovered", result.verdict_reason
    assert result.average_effect > 0.02 and result.lower > 0  # JP share back up by ~0.036
    assert set(result.controls) <= {"region=US", "region=BR", "region=DE", "region=MX", "region=GB"}
    with open_store(url).session() as s:
        d = service.issue_to_dict(service.get_issue(s, 1))
    assert d["impact"]["verdict"] == "recovered" and d["impact"]["fix_date"] == fix.isoformat()
    assert d["history"][-1]["kind"] == "impact" and d["history"][-1]["actor"] == "ecoradar-impact"


def test_bad_input_says_what_is_missing(world):
    folder, url = world
    with pytest.raises(InputError, match="has no fix date"):
        issue_impact("ECO-001", db=url, data=folder)
    with pytest.raises(InputError, match=r"is after the data \(last day 2026-03-11\)"):
        issue_impact("ECO-001", fix_date="2026-04-01", db=url, data=folder)
    with pytest.raises(InputError, match="is not after issue ECO-001 started"):
        issue_impact("ECO-001", fix_date="2026-01-10", db=url, data=folder)
    with pytest.raises(InputError, match="control slice region=KR has no series"):
        issue_impact("ECO-001", fix_date="2026-02-20", controls="region=KR", db=url, data=folder)
    with pytest.raises(InputError, match="no metric cube under"):
        issue_impact("ECO-001", fix_date="2026-02-20", db=url, data=folder / "elsewhere")


def test_parse_controls():
    assert parse_controls("region=US; region=BR,format=photo") == [
        {"region": "US"},
        {"region": "BR", "format": "photo"},
    ]
    with pytest.raises(InputError, match="bad control slice 'planet=mars'"):
        parse_controls("planet=mars")
