"""Ratio metrics are judged with their denominators."""

from __future__ import annotations

import numpy as np

from ecoradar.detect import get_detector
from ecoradar.simulate.series import binomial_rate


def _score(rate, trials, split):
    det = get_detector("ratio")()
    return det.fit_score(
        rate[None, :split], rate[None, split:], denominators=(trials[None, :split], trials[None, split:])
    )


def test_tiny_slice_one_to_three_of_twenty_is_not_an_alarm():
    rate, trials, _ = binomial_rate(60, trials=20, rate=0.05, seed=1)
    rate[-1] = 3 / 20
    s = _score(rate, trials, 59)
    assert s.p_value[0, 0] > 0.01  # far from the 1e-3 level detection uses, before any multiple-testing control


def test_large_slice_half_point_move_is_an_alarm():
    rate, trials, truth = binomial_rate(60, trials=2_000_000, rate=0.2, at=59, new_rate=0.205, seed=1)
    s = _score(rate, trials, 59)
    assert s.p_value[0, 0] < 1e-10 and s.kind[0, 0] == 1


def test_overdispersion_learned_from_history_keeps_noisy_rates_quiet():
    rate, trials, _ = binomial_rate(120, trials=1_000_000, rate=0.2, overdispersion=1e-3, seed=2)
    s = _score(rate, trials, 90)
    assert (s.p_value > 1e-4).all()
    # the same history judged as pure binomial would have fired
    det = get_detector("ratio")().fit(rate[None, :90], denominators=trials[None, :90])
    assert det.rho_[0] > 1e-4


def test_rate_drop_found_and_expected_rate_right():
    rate, trials, _ = binomial_rate(70, trials=5000, rate=0.1, at=65, new_rate=0.05, seed=3)
    s = _score(rate, trials, 65)
    assert (s.p_value[0] < 1e-6).all() and (s.kind[0] == 2).all()
    np.testing.assert_allclose(s.expected[0], 0.1, atol=0.01)


def test_exact_and_normal_tails_agree_on_mid_sized_slices():
    rate, trials, _ = binomial_rate(60, trials=4000, rate=0.1, seed=4)
    rate[-1] = 0.115
    exact = get_detector("ratio")(exact_below=10_000)
    approx = get_detector("ratio")(exact_below=0)
    args = (rate[None, :59], rate[None, 59:])
    dens = (trials[None, :59], trials[None, 59:])
    pe = exact.fit_score(*args, denominators=dens).p_value[0, 0]
    pa = approx.fit_score(*args, denominators=dens).p_value[0, 0]
    assert 0.3 < pe / pa < 3


def test_rare_events_in_a_large_slice_use_count_tails():
    # ~1 report a day in 7,000 impressions: a day with 3 is ordinary, a day with 20 is not
    rng = np.random.default_rng(7)
    trials = np.full(60, 7000.0)
    rate = rng.binomial(7000, 1.5e-4, size=60) / 7000
    det = get_detector("ratio")()
    for k, quiet in ((3, True), (20, False)):
        new = np.array([[k / 7000]])
        s = det.fit_score(rate[None, :59], new, denominators=(trials[None, :59], trials[None, 59:]))
        assert (s.p_value[0, 0] > 1e-3) == quiet


def test_slice_with_few_events_is_shrunk_toward_the_panel_rate():
    # 30 slices at 1e-3 and their total (the largest series); one slice saw no event in its history: its
    # expected rate is pulled toward the total's, not left at ~0
    rng = np.random.default_rng(9)
    trials = np.full((31, 40), 2000.0)
    events = rng.binomial(2000, 1e-3, size=(30, 40)).astype(float)
    events[0] = 0.0
    trials[30] = trials[:30].sum(axis=0)
    rate = np.vstack([events / 2000, events.sum(axis=0) / trials[30]])
    shrunk = get_detector("ratio")().fit(rate[:, :39], denominators=trials[:, :39])
    alone = get_detector("ratio")(prior_events=0).fit(rate[:, :39], denominators=trials[:, :39])
    assert shrunk.rate_[0].min() > 5 * alone.rate_[0].max()
    assert abs(shrunk.rate_[1:30].mean() - 1e-3) < 2e-4
