"""detect_series and the `ecoradar detect-series` / `ecoradar detect` commands, run as real processes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cli_runner import run_cli
from ecoradar.detect.series import detect_series, read_series_csv
from ecoradar.errors import InputError
from ecoradar.simulate.series import spike


def _csv(tmp_path, values, name="s.csv"):
    path = tmp_path / name
    times = pd.date_range("2026-01-01", periods=len(values), freq="D")
    pd.DataFrame({"ts": times.astype(str), "v": values}).to_csv(path, index=False)
    return path


def test_spike_alarm_online_and_offline():
    x, truth = spike(200, at=150, size=15.0, seed=3)
    frame = pd.DataFrame({"v": x})
    for online in (True, False):
        out = detect_series(frame, value_col="v", online=online)
        assert list(out.columns) == ["row", "time", "score", "alarm", "reason"]
        assert out["score"].between(0, 1).all() and out["score"].notna().all()
        assert out["alarm"].iloc[truth[0]]
        assert out["alarm"].sum() <= 3


def test_online_scores_use_only_past_rows():
    x, _ = spike(200, at=150, size=15.0, seed=3)
    full = detect_series(pd.DataFrame({"v": x}), value_col="v", online=True)["score"].to_numpy()
    cut = detect_series(pd.DataFrame({"v": x[:160]}), value_col="v", online=True)["score"].to_numpy()
    np.testing.assert_allclose(full[:160], cut)


def test_bad_series_get_reasons_not_nan():
    short = detect_series(pd.DataFrame({"v": [1.0, 2.0, 3.0]}), value_col="v")
    assert (short["reason"] == "short_series").all() and (short["score"] == 0).all()
    missing = detect_series(pd.DataFrame({"v": [np.nan] * 50}), value_col="v")
    assert (missing["reason"] == "missing").all()
    const = detect_series(pd.DataFrame({"v": [5.0] * 50}), value_col="v")
    assert not const["alarm"].any() and (const["reason"].isin(["constant", "warmup"])).all()
    gappy = pd.DataFrame({"v": ["1", "x", "3", "", "2"] * 20})
    out = detect_series(gappy, value_col="v")
    assert out["score"].notna().all() and (out.loc[[1, 3], "reason"] == "missing").all()


def test_cli_json(tmp_path):
    x, truth = spike(120, at=100, size=20.0, seed=1)
    res = run_cli(
        "detect-series", "--csv", _csv(tmp_path, x), "--value-col", "v", "--time-col", "ts", "--online", "--json"
    )
    assert res.exit_code == 0, res.stderr
    rows = json.loads(res.stdout)
    assert len(rows) == 120 and set(rows[0]) == {"row", "time", "score", "alarm"}
    assert rows[100]["alarm"] and rows[100]["time"] == "2026-04-11"
    assert all(0 <= r["score"] <= 1 for r in rows)


def test_cli_errors_are_one_line(tmp_path):
    path = _csv(tmp_path, spike(60, at=50, size=20.0)[0])
    bad = run_cli("detect-series", "--csv", path, "--value-col", "value")
    assert bad.exit_code == 2 and "column 'value' is not in s.csv; columns: ts, v" in bad.stderr
    assert "Traceback" not in bad.stderr
    res = run_cli("detect", "--data", tmp_path)
    assert res.exit_code == 2 and "no metric cube" in res.stderr and "Traceback" not in res.stderr


def test_csv_reading_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_series_csv(tmp_path / "nope.csv", "v")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match="cannot read"):
        read_series_csv(tmp_path / "empty.csv", "v")
