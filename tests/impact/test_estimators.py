"""Every registered estimator recovers a known effect and finds none where there is none."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecoradar.errors import NotFound
from ecoradar.impact import ImpactEstimator, estimate_impact, estimator_names, get_estimator
from ecoradar.impact.synthetic import effect_series

ESTIMATORS = estimator_names()
#: Estimators whose counterfactual comes from a regression on the controls (DiD assumes parallel trends instead).
REGRESSION = [name for name in ESTIMATORS if name.startswith("bsts")]


def test_registry_lists_the_family():
    assert {"bsts", "bsts_adaptive", "did"} <= set(ESTIMATORS)
    assert all(isinstance(get_estimator(name), ImpactEstimator) for name in ESTIMATORS)


def test_unknown_estimator_says_did_you_mean():
    with pytest.raises(NotFound, match="did you mean 'bsts'"):
        get_estimator("bstss")


@pytest.mark.parametrize("name", REGRESSION)
@pytest.mark.parametrize("effect", [3.0, -3.0])
def test_known_effect_is_found_with_sign_and_size(name, effect):
    y, controls, truth = effect_series(n=90, n_pre=60, effect=effect, seed=3)
    r = estimate_impact(y, controls, pre_period=truth["pre_period"], post_period=truth["post_period"], estimator=name)
    assert abs(r.average_effect - effect) < 1.0
    assert np.sign(r.lower) == np.sign(r.upper) == np.sign(effect)
    assert r.p_value < 0.05
    assert r.verdict == ("recovered" if effect > 0 else "worse")
    assert r.cumulative_effect == pytest.approx(r.average_effect * r.n_post, rel=0.05)


@pytest.mark.parametrize("name", REGRESSION)
def test_no_effect_is_not_found(name):
    y, controls, truth = effect_series(n=90, n_pre=60, effect=0.0, seed=5)
    r = estimate_impact(y, controls, pre_period=truth["pre_period"], post_period=truth["post_period"], estimator=name)
    assert r.lower < 0 < r.upper
    assert r.verdict == "no_effect"
    assert r.p_value > 0.05


def test_noise_free_step_without_controls_is_exact():
    y = pd.Series(np.r_[np.full(40, 10.0), np.full(20, 12.0)])
    r = estimate_impact(y, None, pre_period=(0, 39), post_period=(40, 59))
    assert r.average_effect == pytest.approx(2.0, abs=0.05)
    assert r.relative_effect == pytest.approx(0.2, abs=0.01)


def test_weekly_seasonal_component_tightens_the_interval():
    y, controls, truth = effect_series(
        n=84, n_pre=63, effect=1.5, noise_sd=0.3, weekly=2.0, n_controls=0, drift=0.0, seed=2
    )
    kw = {"pre_period": truth["pre_period"], "post_period": truth["post_period"]}
    plain = estimate_impact(y, None, **kw)
    weekly = estimate_impact(y, None, estimator_options={"nseasons": 7}, **kw)
    assert weekly.lower <= 1.5 <= weekly.upper
    assert weekly.upper - weekly.lower < 0.5 * (plain.upper - plain.lower)


def test_did_on_a_constructed_panel():
    # two control units and a treated unit with parallel trends; treated gets +4 from t=30
    rng = np.random.default_rng(0)
    t = np.arange(50)
    trend = 0.2 * t
    controls = pd.DataFrame({"a": 20 + trend + rng.normal(0, 0.2, 50), "b": 30 + trend + rng.normal(0, 0.2, 50)})
    y = pd.Series(25 + trend + 4.0 * (t >= 30) + rng.normal(0, 0.2, 50))
    r = estimate_impact(y, controls, pre_period=(0, 29), post_period=(30, 49), estimator="did")
    assert r.average_effect == pytest.approx(4.0, abs=0.2)
    assert r.lower < 4.0 < r.upper
    # the cross-check on a BSTS result carries the same DiD number
    b = estimate_impact(y, controls, pre_period=(0, 29), post_period=(30, 49))
    assert b.did.average_effect == pytest.approx(r.average_effect, abs=1e-9)


def test_same_seed_same_result():
    y, controls, truth = effect_series(n=60, n_pre=40, seed=1)
    kw = {"pre_period": truth["pre_period"], "post_period": truth["post_period"]}
    assert estimate_impact(y, controls, **kw).summary() == estimate_impact(y, controls, **kw).summary()


def test_result_series_and_json_contract():
    y, controls, truth = effect_series(n=60, n_pre=40, seed=1)
    r = estimate_impact(y, controls, pre_period=truth["pre_period"], post_period=truth["post_period"])
    assert list(r.summary()) == [
        "average_effect",
        "lower",
        "upper",
        "cumulative_effect",
        "relative_effect",
        "p_value",
        "verdict",
    ]
    frame = r.series_frame()
    assert len(frame) == 60 and (frame["period"] == "post").sum() == 20
    assert frame.index[40] == "2024-02-10"
    assert (frame["predicted_lower"] <= frame["predicted_upper"]).all()
    assert (frame.loc[frame["period"] == "pre", "cumulative_effect"] == 0).all()
    assert frame["cumulative_effect"].iloc[-1] == pytest.approx(r.cumulative_effect, rel=0.02)
    assert r.controls == ["c0", "c1"]
    assert r.to_dict()["series"][0]["time"] == "2024-01-01"
