"""The chart has the three CausalImpact panels."""

from __future__ import annotations

from ecoradar.impact import estimate_impact
from ecoradar.impact.chart import impact_figure
from ecoradar.impact.synthetic import effect_series


def test_impact_figure_panels():
    y, controls, truth = effect_series(n=50, n_pre=35, seed=0)
    r = estimate_impact(y, controls, pre_period=truth["pre_period"], post_period=truth["post_period"])
    fig = impact_figure(r)
    names = [t.name for t in fig.data]
    assert {"observed", "counterfactual", "pointwise effect", "cumulative effect"} <= set(names)
    observed = next(t for t in fig.data if t.name == "observed")
    assert len(observed.x) == 50
    cumulative = next(t for t in fig.data if t.name == "cumulative effect")
    assert len(cumulative.x) == 15
    assert "recovered" in fig.layout.title.text
