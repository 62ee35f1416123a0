"""Every registered detector x seeded generators: invariants, then each detector's own known answers."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from ecoradar.detect import KINDS, Detector, detector_names, get_detector
from ecoradar.detect.level_shift import lag1_autocorrelation
from ecoradar.errors import NotFound
from ecoradar.simulate import series as gen

GENERATORS = {
    "flat": lambda seed: gen.flat(120, noise_std=0.0, seed=seed),
    "noisy": lambda seed: gen.flat(120, noise_std=1.0, seed=seed),
    "weekly": lambda seed: gen.weekly(120, seed=seed),
    "spike": lambda seed: gen.spike(120, at=110, size=15.0, seed=seed),
    "level_shift": lambda seed: gen.level_shift(120, at=105, size=5.0, seed=seed),
    "trend": lambda seed: gen.trend(120, at=60, slope=0.6, seed=seed),
}


def _run(name: str, panel: np.ndarray, split: int = 90):
    """Fit on the first `split` points, score the rest; ratio detectors get rates and denominators."""
    det = get_detector(name)()
    if name == "ratio":
        den = np.full(panel.shape, 100_000.0)
        rates = panel / 1000.0
        return det.fit_score(rates[:, :split], rates[:, split:], denominators=(den[:, :split], den[:, split:]))
    return det.fit_score(panel[:, :split], panel[:, split:])


def test_registry_lists_every_detector():
    assert {"seasonal", "level_shift", "trend", "ratio", "robust_z"} <= set(detector_names())
    for name in detector_names():
        cls = get_detector(name)
        assert issubclass(cls, Detector) and cls.name == name


def test_unknown_detector_suggests_the_closest():
    with pytest.raises(NotFound, match="did you mean 'seasonal'"):
        get_detector("seasonl")


@pytest.mark.parametrize("name", detector_names())
def test_tunables_are_explicit_keywords(name):
    params = inspect.signature(get_detector(name).__init__).parameters.values()
    kinds = {p.kind for p in params if p.name != "self"}
    assert kinds <= {inspect.Parameter.KEYWORD_ONLY}


@pytest.mark.parametrize("gen_name", sorted(GENERATORS))
@pytest.mark.parametrize("name", detector_names())
def test_invariants(name, gen_name):
    """No crash, shapes and ranges hold, no NaN score, row order follows series order, quiet on clean series."""
    panel = np.stack([GENERATORS[gen_name](seed)[0] for seed in range(4)])
    s = _run(name, panel)
    assert s.score.shape == s.p_value.shape == s.kind.shape == (4, 30)
    assert np.isfinite(s.score).all() and np.isfinite(s.p_value).all()
    assert ((s.score >= 0) & (s.score <= 1)).all() and ((s.p_value >= 0) & (s.p_value <= 1)).all()
    assert set(np.unique(s.kind)) <= set(range(len(KINDS)))
    # output rows follow input rows: scoring a permuted panel permutes the scores
    perm = [2, 0, 3, 1]
    s2 = _run(name, panel[perm])
    np.testing.assert_allclose(s2.score, s.score[perm])
    if gen_name in ("flat", "noisy", "weekly"):
        assert (s.p_value > 1e-4).all(), f"{name} fired on a clean {gen_name} series"


@pytest.mark.parametrize("name", detector_names())
def test_bad_input_never_nan(name):
    """All missing, constant, gappy and too-short series: not judged or judged, never NaN, never a crash."""
    x, _ = gen.flat(120, noise_std=1.0)
    gappy = x.copy()
    gappy[::3] = np.nan
    panel = np.stack([np.full(120, np.nan), np.full(120, 5.0), gappy, np.r_[np.full(115, np.nan), x[:5]]])
    s = _run(name, panel)
    assert np.isfinite(s.score).all() and np.isfinite(s.p_value).all()
    assert not s.valid[0].any() and not s.valid[3].any()
    assert (s.score[0] == 0).all() and (s.p_value[0] == 1).all()


def test_seasonal_finds_spike_and_dip_exactly():
    x, truth = gen.weekly(120, spike_at=100, size=12.0, noise_std=1.0, seed=3)
    x[110] -= 12.0
    s = get_detector("seasonal")().fit_score(x[None, :95], x[None, 95:])
    fired = np.flatnonzero(s.p_value[0] < 1e-4) + 95
    assert fired.tolist() == [truth[0], 110]
    assert KINDS[s.kind[0, 100 - 95]] == "spike" and KINDS[s.kind[0, 110 - 95]] == "dip"


def test_seasonal_noise_free_exact_and_band():
    x, _ = gen.weekly(70, noise_std=0.0)
    s = get_detector("seasonal")().fit_score(x[None, :63], x[None, 63:])
    np.testing.assert_allclose(s.expected[0], x[63:], atol=1e-6)
    assert (s.lower[0] <= x[63:]).all() and (x[63:] <= s.upper[0]).all()


def test_seasonal_ignores_holidays_and_outliers_in_history():
    x, _ = gen.weekly(63, noise_std=1.0, seed=1)
    polluted = x.copy()
    polluted[[20, 41]] += 300.0  # two holidays
    polluted[30] -= 200.0  # an outlier nobody flagged
    mask = np.zeros(56, dtype=bool)
    mask[[20, 41]] = True
    s = get_detector("seasonal")().fit_score(polluted[None, :56], x[None, 56:], calendar_mask=(mask, None))
    assert (s.p_value > 1e-3).all()
    np.testing.assert_allclose(s.expected[0], x[56:], atol=3.0)


def test_level_shift_found_within_margin_and_quiet_on_spike():
    margin = 2
    for seed in range(5):
        x, truth = gen.level_shift(120, at=100, size=4.0, noise_std=0.5, seed=seed)
        s = get_detector("level_shift")().fit_score(x[None, :90], x[None, 90:])
        fired = np.flatnonzero((s.p_value[0] < 1e-4) & (s.kind[0] == 3)) + 90
        assert fired.size and truth[0] <= fired[0] <= truth[0] + margin
        start = 90 + s.start[0, fired[0] - 90]
        assert abs(start - truth[0]) <= margin
    x, _ = gen.spike(120, at=100, size=20.0, seed=1)
    s = get_detector("level_shift")().fit_score(x[None, :90], x[None, 90:])
    assert (s.p_value > 1e-4).all()


def test_level_shift_noise_free_exact():
    x = np.r_[np.full(100, 10.0), np.full(20, 12.0)]
    s = get_detector("level_shift")().fit_score(x[None, :90], x[None, 90:])
    fired = np.flatnonzero(s.p_value[0] < 1e-6) + 90
    assert fired[0] == 101 and 90 + s.start[0, fired[0] - 90] == 100


def test_level_shift_a_small_sustained_move_is_no_shift():
    """A week a little above the level (2 sd) could be the reference's own error: not a shift; 8 sd is one."""
    rng = np.random.default_rng(3)
    history = 50 + rng.standard_normal((200, 35))
    for size, quiet in ((2.0, True), (8.0, False)):
        week = 50 + size + 0.3 * rng.random((200, 7))
        s = get_detector("level_shift")(period=1).fit_score(history, week)
        last = s.p_value[:, -1]
        assert (last > 1e-8).all() if quiet else (last < 1e-6).all()


def test_level_shift_weeks_after_a_step_is_quiet_and_a_steady_trend_still_followed():
    # uploads fall by 30% in every slice (and so in the total, row 0) and stay there: 20 days on, a 28-day
    # reference holding the step must not read it as a decline carried forward, nor lend it to every slice as the
    # total's growth (that called the new level a rise of 50%)
    rng = np.random.default_rng(7)
    level = rng.uniform(2_000, 6_000, size=(40, 1)) * np.r_[np.ones(20), np.full(28, 0.7)]
    level[0] = level[1:].sum(axis=0)
    panel = rng.poisson(level).astype(float)
    s = get_detector("level_shift")(period=1, shared_growth=True).fit_score(panel[:, 12:40], panel[:, 40:])
    assert (s.p_value > 1e-4).all()
    # a steady decline is a slope: the next week on the line is no shift
    line = 14_500.0 - 80.0 * np.arange(95) + rng.normal(0, 150, (100, 95))
    s = get_detector("level_shift")(period=1).fit_score(line[:, :85], line[:, 85:])
    assert (s.p_value > 1e-4).all()


def test_trend_finds_a_new_drift_within_margin():
    x, truth = gen.trend(120, at=90, slope=0.8, noise_std=0.5, seed=2)
    s = get_detector("trend")().fit_score(x[None, :90], x[None, 90:])
    fired = np.flatnonzero(s.p_value[0] < 1e-4) + 90
    # the drift is material (10% of the level) after ~13 days; from then on every day reports it
    assert fired.tolist() == list(range(102, 120)) and (s.kind[0, fired - 90] == 4).all()


def test_trend_quiet_on_flat_steps_and_steady_growth():
    flat, _ = gen.flat(120, noise_std=1.0, seed=2)
    assert (get_detector("trend")().fit_score(flat[None, :80], flat[None, 80:]).p_value == 1).all()
    # growth that was already there before the window is the series' normal behaviour, not a new drift
    steady, _ = gen.trend(120, at=0, slope=0.3, noise_std=0.5, seed=2)
    assert (get_detector("trend")().fit_score(steady[None, :90], steady[None, 90:]).p_value == 1).all()
    # slow growth below the material change (10% over the window) is not a finding either
    slow, _ = gen.trend(120, at=60, slope=0.05, noise_std=0.1, seed=2)
    assert (get_detector("trend")().fit_score(slow[None, :80], slow[None, 80:]).p_value == 1).all()


def test_robust_z_stream_is_causal():
    x, _ = gen.spike(300, at=250, size=20.0, seed=4)
    det = get_detector("robust_z")()
    full = det.stream(x).score[0]
    cut = det.stream(x[:260]).score[0]
    np.testing.assert_allclose(full[:260], cut)
    assert full[250] >= det.alarm_score


def test_lag1_autocorrelation_separates_noise_from_wandering():
    rng = np.random.default_rng(3)
    noise = rng.normal(100, 5, size=(50, 35))
    walk = 100 + np.cumsum(rng.normal(0, 5, size=(50, 35)), axis=1)
    line = np.tile(np.arange(35.0) * 3, (50, 1)) + rng.normal(0, 5, size=(50, 35))  # steady growth: noise only
    assert np.median(lag1_autocorrelation(noise)) < 0.1
    assert np.median(lag1_autocorrelation(line)) < 0.1
    assert np.median(lag1_autocorrelation(walk)) > 0.5
    gappy = noise.copy()
    gappy[:, ::4] = np.nan
    assert np.all(np.isfinite(lag1_autocorrelation(gappy)))


@pytest.mark.parametrize("name", ["seasonal", "level_shift"])
def test_volume_panel_follows_the_totals_growth(name):
    # 40 slices of a volume growing 0.4%/day with Poisson noise: too slow for one slice to prove, so a flat
    # baseline calls it a shift; the total's growth carried to every slice keeps them quiet, and a real step shows
    rng = np.random.default_rng(11)
    level = rng.uniform(200, 600, size=(40, 1)) * 1.004 ** np.arange(90)
    level[0] = level[1:].sum(axis=0)  # row 0 is the total
    panel = rng.poisson(level).astype(float)
    panel[5, 84:] *= 1.4
    flat = get_detector(name)().fit_score(panel[:, :84], panel[:, 84:])
    shared = get_detector(name)(shared_growth=True).fit_score(panel[:, :84], panel[:, 84:])
    others = np.ones(40, dtype=bool)
    others[5] = False
    false_flat = (flat.p_value[others] < 1e-2).sum()
    false_shared = (shared.p_value[others] < 1e-2).sum()
    assert false_shared <= false_flat and false_shared / flat.p_value[others].size < 0.01
    assert shared.p_value[5].min() < 1e-4
