"""The NAB scorer: hand-computed cases, then the published null- and perfect-detector anchors on the real corpus."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cli_runner import SHARED
from ecoradar.detect import nab

NAB = SHARED / "benchmarks" / "nab"
STD = nab.CostProfile("standard", tp=1.0, fp=0.11, fn=1.0)
LOW_FN = nab.CostProfile("reward_low_FN_rate", tp=1.0, fp=0.11, fn=2.0)


def _ts(n: int) -> pd.DatetimeIndex:
    return pd.date_range("2020-01-01", periods=n, freq="5min")


def _score(n, windows, detections, profile=STD):
    ts = _ts(n)
    scores = np.zeros(n)
    scores[list(detections)] = 1.0
    wins = [(ts[a], ts[b]) for a, b in windows]
    rows = nab.sweep_rows(ts, scores, wins, profile)
    return nab.score_at(rows, profile, 0.5), rows


def test_scaled_sigmoid_values():
    assert nab.scaled_sigmoid(0.0) == pytest.approx(0.0)
    assert nab.scaled_sigmoid(-1.0) == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    assert nab.scaled_sigmoid(3.5) == -1.0
    assert nab.scaled_sigmoid(1.0) == pytest.approx(2 / (1 + math.exp(5)) - 1)


def test_probation_length():
    assert nab.probation_length(1000) == 150
    assert nab.probation_length(10_000) == 750
    assert nab.probation_length(7) == 1


def test_first_row_of_window_scores_full_tp_weight():
    # rows 200..299 are the window (width 100); detecting row 200 earns tp * sigma(-1)/sigma(-1) = 1
    raw, _ = _score(1000, [(200, 299)], [200])
    assert raw == pytest.approx(1.0)


def test_later_detection_in_window_scores_less_and_only_best_counts():
    raw_mid, _ = _score(1000, [(200, 299)], [250])
    expected = nab.scaled_sigmoid(-(299 - 250 + 1) / 100) / nab.scaled_sigmoid(-1.0)
    assert raw_mid == pytest.approx(float(expected))
    raw_both, _ = _score(1000, [(200, 299)], [250, 210])
    assert raw_both == pytest.approx(float(nab.scaled_sigmoid(-(299 - 210 + 1) / 100) / nab.scaled_sigmoid(-1.0)))


def test_missed_window_costs_fn_weight():
    assert _score(1000, [(200, 299)], [])[0] == -1.0
    assert _score(1000, [(200, 299)], [], LOW_FN)[0] == -2.0


def test_false_positives_before_and_after_windows():
    # before any window: full cost -fp; just after a window the cost is small, far after it is -fp
    raw_before, _ = _score(1000, [(500, 599)], [300, 500])
    assert raw_before == pytest.approx(1.0 - 0.11)
    raw_after, _ = _score(1000, [(500, 599)], [500, 610])
    y = (610 - 599) / (100 - 1)
    assert raw_after == pytest.approx(1.0 + 0.11 * float(nab.scaled_sigmoid(y)))
    raw_far, _ = _score(2000, [(500, 599)], [500, 1500])
    assert raw_far == pytest.approx(1.0 - 0.11)


def test_probationary_rows_are_ignored():
    # 1000 rows: the first 150 are probationary, so a detection at row 10 costs nothing
    assert _score(1000, [(500, 599)], [10, 500])[0] == pytest.approx(1.0)


def test_sweep_equals_fixed_threshold_scoring():
    rng = np.random.default_rng(0)
    ts = _ts(3000)
    wins = [(ts[800], ts[999]), (ts[2000], ts[2199])]
    rows = nab.sweep_rows(ts, rng.random(3000), wins, STD)
    thresholds, scores = nab.score_by_threshold(rows, STD)
    for i in (0, 5, 100, 2000, len(thresholds) - 1):
        assert scores[i] == pytest.approx(nab.score_at(rows, STD, thresholds[i]))
    assert scores[0] == -2.0  # threshold 1.1: nothing detected


def test_normalize():
    assert nab.normalize(-116.0, -116.0, 116, STD) == 0.0
    assert nab.normalize(116.0, -116.0, 116, STD) == 100.0
    assert nab.normalize(0.0, -232.0, 116, LOW_FN) == pytest.approx(100 * 232 / 348)


@pytest.fixture(scope="module")
def corpus():
    if not (NAB / "labels" / "combined_windows.json").exists():
        pytest.skip("NAB benchmark data not found beside the repo (../shared/benchmarks/nab)")
    windows = nab.load_windows(NAB / "labels" / "combined_windows.json")
    profiles = nab.load_profiles(NAB / "config" / "profiles.json")
    stamps = {f: pd.DatetimeIndex(pd.to_datetime(pd.read_csv(NAB / "data" / f)["timestamp"])) for f in windows}
    return windows, profiles, stamps


def test_null_detector_reproduces_published_raw_scores(corpus):
    windows, profiles, stamps = corpus
    results = {f: (ts, np.full(len(ts), 0.5)) for f, ts in stamps.items()}
    out = nab.evaluate(results, windows, profiles)
    # config/thresholds.json: null raw scores -116 (standard), -116 (low FP), -232 (low FN)
    assert [out[p]["raw"] for p in ("standard", "reward_low_FP_rate", "reward_low_FN_rate")] == [-116, -116, -232]
    assert all(out[p]["score"] == 0.0 for p in out)


def test_perfect_detector_scores_100(corpus):
    windows, profiles, stamps = corpus
    results = {}
    for f, ts in stamps.items():
        s = np.zeros(len(ts))
        s[[ts.get_loc(a) for a, _ in windows[f]]] = 1.0
        results[f] = (ts, s)
    out = nab.evaluate(results, windows, profiles)
    assert all(out[p]["score"] == pytest.approx(100.0) for p in out)
