"""Chart builders with known answers: the expected band, detection's stored expectations, sparklines, formats."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ecoradar.report import charts


def _series(values) -> pd.DataFrame:
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(len(values))]
    return pd.DataFrame({"date": days, "value": values})


def test_band_is_the_median_of_the_days_before_and_freezes_at_the_start():
    values = [1.0] * 30 + [5.0] * 10
    fig = charts.issue_figure(_series(values), title="t", start=dt.date(2026, 1, 31))
    traces = {t.get("name", "upper"): t for t in fig["data"]}
    expected = traces["expected"]["y"]
    assert expected[:7] == [None] * 7  # not enough history yet
    assert expected[7:] == [1.0] * 33  # the shift after day 30 does not drag the expectation up
    assert traces["expected band"]["y"][-1] == 1.0 and traces["upper"]["y"][-1] == 1.0  # zero MAD on a flat past
    assert traces["observed"]["y"] == values


def test_stored_expectations_override_the_rolling_band_on_their_days():
    stored = pd.DataFrame({"date": [dt.date(2026, 1, 20)], "observed": [1.0], "expected": [0.5]})
    fig = charts.issue_figure(_series([1.0] * 30), title="t", anomalies=stored, first_seen="2026-01-20")
    expected = next(t for t in fig["data"] if t.get("name") == "expected")["y"]
    assert expected[19] == 0.5 and expected[18] == 1.0 and expected[20] == 1.0
    anomaly = next(t for t in fig["data"] if t.get("name") == "anomaly")
    assert anomaly["x"] == ["2026-01-20"] and anomaly["y"] == [1.0]
    assert fig["layout"]["shapes"][0]["x0"] == "2026-01-20"


def test_sparkline_and_number_formats():
    svg = charts.sparkline_svg([1, 2, np.nan, 3], width=100, height=20)
    assert svg.count(",") == 3 and 'aria-label="from 1 to 3"' in svg
    assert 'aria-label="no data"' in charts.sparkline_svg([np.nan])
    assert charts.fmt_num(0.123456) == "0.1235" and charts.fmt_num(None) == "–" and charts.fmt_num(float("nan")) == "–"
    assert charts.fmt_pct(0.25) == "+25.0%" and charts.fmt_pct("x") == "–" and charts.fmt_share(0.254) == "25%"
