"""Novelty, the default `detect-series` detector: known anomalies found, clean series quiet, causal, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecoradar.detect import get_detector
from ecoradar.detect.novelty import Novelty
from ecoradar.detect.robust_z import RobustZ
from ecoradar.detect.series import default_series_detector, detect_series

N = 4000
T = np.arange(N)


def _seasonal(seed: int, noise: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100 + 10 * np.sin(2 * np.pi * T / 96) + rng.normal(0, noise, N)


def _alarms(x: np.ndarray) -> np.ndarray:
    det = Novelty()
    return np.flatnonzero(det.stream(x).score[0] >= det.alarm_score)


def test_default_detector_is_registered_novelty():
    assert isinstance(default_series_detector(), Novelty)
    assert get_detector("novelty") is Novelty


def test_spike_and_level_shift_found_at_once():
    for seed in range(4):
        spike = _seasonal(seed)
        spike[3000] += 40.0
        assert 3000 in _alarms(spike)
        shift = _seasonal(seed)
        shift[3000:] += 25.0
        assert ((_alarms(shift) >= 3000) & (_alarms(shift) <= 3002)).any()
        # a spike that stays inside the range the series has already visited is not novel
        inside = _seasonal(seed)
        inside[3000] = 95.0
        assert 3000 not in _alarms(inside)


def test_clean_series_quiet():
    assert len(_alarms(100 + 10 * np.sin(2 * np.pi * T / 96))) == 0
    assert len(_alarms(np.full(N, 7.0))) == 0
    # stationary noise still sets new records now and then (their rate falls as 1/t): fewer than 0.25% of rows
    counts = [len(_alarms(_seasonal(seed))) for seed in range(8)]
    counts += [len(_alarms(100 + np.random.default_rng(seed).normal(0, 1, N))) for seed in range(8)]
    assert sum(counts) < 0.0025 * N * len(counts)


def test_constant_series_that_moves_alarms():
    x = np.r_[np.full(1000, 5.0), np.full(500, 6.0)]
    assert 1000 in _alarms(x)


def test_stream_is_causal_with_gaps():
    x = _seasonal(3)
    x[3000] += 40.0
    x[::17] = np.nan
    det = Novelty()
    full = det.stream(x).score[0]
    for cut in (150, 900, 3001):
        np.testing.assert_allclose(full[:cut], det.stream(x[:cut]).score[0])
    assert np.isfinite(full).all() and (full[::17] == 0).all()


def test_short_series_use_robust_z_warmup():
    """Before the first stage the score is RobustZ's, so short series still get spikes flagged."""
    rng = np.random.default_rng(1)
    x = 100 + rng.normal(0, 1, 150)
    x[120] += 15.0
    ours = Novelty().stream(x).score[0]
    np.testing.assert_allclose(ours[:120], RobustZ(refractory=0.0).stream(x).score[0][:120])
    assert ours[120] >= 0.5


def test_panel_interface_is_robust_z():
    rng = np.random.default_rng(2)
    panel = 100 + rng.normal(0, 1, (3, 120))
    ours = Novelty().fit_score(panel[:, :90], panel[:, 90:])
    theirs = RobustZ(refractory=0.0).fit_score(panel[:, :90], panel[:, 90:])
    np.testing.assert_allclose(ours.score, theirs.score)


def test_bad_input_reasons_never_nan():
    short = detect_series(pd.DataFrame({"v": [1.0, 2.0, 3.0, 4.0]}), value_col="v", online=True)
    assert (short["reason"] == "short_series").all() and not short["alarm"].any()
    missing = detect_series(pd.DataFrame({"v": [np.nan] * 2000}), value_col="v", online=True)
    assert (missing["reason"] == "missing").all() and (missing["score"] == 0).all()
    const = detect_series(pd.DataFrame({"v": np.full(2000, 3.0)}), value_col="v", online=True)
    assert not const["alarm"].any() and const["reason"].isin(["constant", "warmup"]).all()
    gappy = _seasonal(4).astype(object)
    gappy[::3] = "n/a"
    gappy[5] = np.inf
    out = detect_series(pd.DataFrame({"v": gappy}), value_col="v", online=True)
    assert out["score"].notna().all() and out["score"].between(0, 1).all()
    assert (out.loc[::3, "reason"] == "missing").all() and out.loc[5, "reason"] == "missing"
    assert (out.loc[::3, "score"] == 0).all()
    scores = Novelty().stream(np.r_[np.full(300, np.nan), _seasonal(5)[:900]])
    assert np.isfinite(scores.score).all() and np.isfinite(scores.p_value).all()
    assert not scores.valid[0, :300].any()
