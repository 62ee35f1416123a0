"""The verdict rule: interval vs 0, direction that is good, and the post-fix level vs the pre-issue band."""

from __future__ import annotations

import numpy as np
import pytest

from ecoradar.errors import InputError
from ecoradar.impact import estimate_impact, verdict
from ecoradar.impact.synthetic import issue_scenario


def stats(lower: float, upper: float, effect: float | None = None, predicted: float = 94.0) -> dict:
    effect = (lower + upper) / 2 if effect is None else effect
    return {"average_effect": effect, "lower": lower, "upper": upper, "predicted_average": predicted, "alpha": 0.05}


@pytest.mark.parametrize(
    ("interval", "direction", "post_level", "baseline", "expected"),
    [
        ((4.0, 8.0), "up", 99.5, 100.0, "recovered"),
        ((4.0, 8.0), "up", 96.0, 100.0, "partially_recovered"),
        ((4.0, 8.0), "up", 96.0, (95.0, 105.0), "recovered"),
        ((4.0, 8.0), "up", 96.0, None, "recovered"),
        ((-1.0, 2.0), "up", 95.0, 100.0, "no_effect"),
        ((-8.0, -4.0), "up", 90.0, 100.0, "worse"),
        ((-8.0, -4.0), "down", 90.0, 88.0, "recovered"),
        ((-8.0, -4.0), "down", 95.0, 88.0, "partially_recovered"),
        ((4.0, 8.0), "down", 99.0, 88.0, "worse"),
    ],
)
def test_verdict_table(interval, direction, post_level, baseline, expected):
    word, reason, _ = verdict(
        stats(*interval), post_level=post_level, noise_sd=1.0, good_direction=direction, baseline=baseline
    )
    assert word == expected
    assert reason


def test_recovered_share_is_the_closed_part_of_the_gap():
    # counterfactual 94, baseline 100: an effect of 3 closes half of the gap
    _, _, share = verdict(stats(2.0, 4.0, 3.0), post_level=97.0, noise_sd=1.0, baseline=100.0)
    assert share == pytest.approx(0.5)


def test_bad_direction_is_an_input_error():
    with pytest.raises(InputError, match="good_direction"):
        verdict(stats(1, 2), post_level=0, noise_sd=1, good_direction="sideways")


@pytest.mark.parametrize("outcome", ["recovered", "partial", "ongoing", "worse"])
def test_issue_scenarios_end_to_end(outcome):
    # a clean world (little noise, little drift of the shared factor): the verdict is exact
    y, controls, truth = issue_scenario(outcome, n=90, issue_at=30, fix_at=60, noise_sd=0.3, drift=0.1, seed=4)
    r = estimate_impact(
        y, controls, pre_period=truth["pre_period"], post_period=truth["post_period"], baseline=truth["baseline"]
    )
    assert r.verdict == truth["verdict"], r.verdict_reason


def test_auto_baseline_follows_platform_wide_drift():
    # the whole platform trends down 0.08/day: a fixed pre-issue level says "not back", the no-issue forecast from the
    # controls says "back"
    y, controls, truth = issue_scenario("recovered", n=90, issue_at=30, fix_at=60, noise_sd=0.3, drift=0.0, seed=4)
    trend = -0.08 * np.arange(90)
    y, controls = y + trend, controls.add(trend, axis=0)
    kw = {"pre_period": truth["pre_period"], "post_period": truth["post_period"]}
    fixed = estimate_impact(y, controls, baseline=truth["baseline"], **kw)
    auto = estimate_impact(y, controls, baseline="auto", **kw)
    assert fixed.verdict == "partially_recovered"
    assert auto.verdict == "recovered", auto.verdict_reason
    assert isinstance(auto.baseline, tuple) and auto.baseline[1] < truth["baseline"] - 3


def test_auto_baseline_needs_history():
    y, controls, truth = issue_scenario("recovered", n=90, issue_at=30, fix_at=60, seed=4)
    with pytest.raises(InputError, match="needs at least 8 points before the pre-period"):
        estimate_impact(
            y, controls, pre_period=(y.index[3], y.index[59]), post_period=truth["post_period"], baseline="auto"
        )
