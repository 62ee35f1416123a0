"""The CausalImpact-style chart: observed vs counterfactual band, pointwise effect, cumulative effect."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ecoradar.impact.records import ImpactResult

_BAND = "rgba(99, 110, 250, 0.2)"


def _band(fig: go.Figure, x: list, lower: list, upper: list, row: int, name: str) -> None:
    """A shaded interval: the upper edge, then the lower edge filled up to it."""
    fig.add_trace(go.Scatter(x=x, y=upper, mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip"), row, 1)
    fig.add_trace(
        go.Scatter(x=x, y=lower, mode="lines", line={"width": 0}, fill="tonexty", fillcolor=_BAND, name=name),
        row,
        1,
    )


def impact_figure(result: ImpactResult, *, title: str | None = None) -> go.Figure:
    """Three stacked panels sharing the time axis, with a dashed line at the start of the post-period.

    Args:
        result (ImpactResult): output of estimate_impact.
        title (str | None): figure title; defaults to the estimate and the verdict.

    Returns:
        A plotly Figure (use fig.to_html(include_plotlyjs=...) in web/ and report/).
    """
    s = result.series
    x = [p.time for p in s]
    post = [p for p in s if p.period == "post"]
    xp = [p.time for p in post]
    level = f"{1 - result.alpha:.0%}"
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        subplot_titles=("Observed vs counterfactual", "Pointwise effect", "Cumulative effect"),
    )
    _band(fig, x, [p.predicted_lower for p in s], [p.predicted_upper for p in s], 1, f"counterfactual {level}")
    fig.add_trace(go.Scatter(x=x, y=[p.predicted for p in s], name="counterfactual", line={"dash": "dash"}), 1, 1)
    fig.add_trace(go.Scatter(x=x, y=[p.observed for p in s], name="observed", line={"color": "black"}), 1, 1)
    _band(fig, x, [p.point_lower for p in s], [p.point_upper for p in s], 2, f"effect {level}")
    fig.add_trace(go.Scatter(x=x, y=[p.point_effect for p in s], name="pointwise effect"), 2, 1)
    _band(fig, xp, [p.cumulative_lower for p in post], [p.cumulative_upper for p in post], 3, f"cumulative {level}")
    fig.add_trace(go.Scatter(x=xp, y=[p.cumulative_effect for p in post], name="cumulative effect"), 3, 1)
    for row in (2, 3):
        fig.add_hline(y=0, line={"color": "grey", "width": 1}, row=row, col=1)
    # a vertical line per panel at the first post-period point (category-safe: works for dates and row numbers)
    for row in (1, 2, 3):
        fig.add_vline(x=xp[0], line={"color": "grey", "dash": "dot"}, row=row, col=1)
    fig.update_layout(
        title=title
        or (
            f"Average effect {result.average_effect:.4g} [{result.lower:.4g}, {result.upper:.4g}], "
            f"p={result.p_value:.3g}: {result.verdict}"
        ),
        height=750,
        hovermode="x unified",
        legend={"orientation": "h"},
    )
    return fig
