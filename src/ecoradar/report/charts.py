"""Chart builders shared by the web app and the weekly report: Plotly figures and tiny inline SVG sparklines."""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ecoradar.impact import chart
from ecoradar.impact.records import DiDEstimate, ImpactPoint, ImpactResult, PlaceboRun, PlaceboSummary

#: Colour per priority, worst first.
PRIORITY_COLOURS = {"P0": "#b91c1c", "P1": "#ea580c", "P2": "#ca8a04", "P3": "#6b7280"}
#: Shared layout; no named template on purpose: applying one deep-copies it and costs ~45 ms per figure.
_LAYOUT = dict(margin=dict(l=50, r=20, t=40, b=40), height=320, plot_bgcolor="#f8fafc", hovermode="x unified")


def sparkline_svg(values: Sequence[float], *, width: int = 120, height: int = 28, colour: str = "#2563eb") -> str:
    """An inline SVG polyline of a series (NaNs skipped); the last point is marked."""
    y = np.asarray(values, dtype=float)
    y = y[np.isfinite(y)]
    if len(y) < 2:
        return f'<svg width="{width}" height="{height}" role="img" aria-label="no data"></svg>'
    lo, hi = float(y.min()), float(y.max())
    span = hi - lo or 1.0
    xs = np.linspace(1, width - 3, len(y))
    ys = height - 3 - (y - lo) / span * (height - 6)
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs, ys, strict=True))
    label = html.escape(f"from {y[0]:.4g} to {y[-1]:.4g}")
    return (
        f'<svg width="{width}" height="{height}" role="img" aria-label="{label}">'
        f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{points}"/>'
        f'<circle cx="{xs[-1]:.1f}" cy="{ys[-1]:.1f}" r="2" fill="{colour}"/></svg>'
    )


def expected_band(values: pd.Series, *, window: int = 28, k: float = 3.0) -> pd.DataFrame:
    """A robust expected band from the days before each day: rolling median +- k * 1.4826 * MAD.

    Used to draw context around an issue's series when detection stored no band for those days.
    """
    past = values.shift(1)
    med = past.rolling(window, min_periods=7).median()
    mad = (past - med).abs().rolling(window, min_periods=7).median() * 1.4826
    return pd.DataFrame({"expected": med, "lower": med - k * mad, "upper": med + k * mad})


def format_share_figure(shares: pd.DataFrame) -> go.Figure:
    """Stacked area of each format's share of impressions per day."""
    fig = go.Figure()
    for fmt, part in shares.groupby("format", sort=True):
        fig.add_trace(go.Scatter(x=part["date"], y=part["share"], name=str(fmt), stackgroup="one", mode="lines"))
    fig.update_layout(title="Exposure share of formats", yaxis=dict(tickformat=".0%", range=[0, 1]), **_LAYOUT)
    return fig


def lorenz_figure(lorenz: pd.DataFrame) -> go.Figure:
    """Lorenz curve of impressions over creators, with the line of equality."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], name="equality", mode="lines", line=dict(dash="dot", color="#999")))
    fig.add_trace(go.Scatter(x=lorenz["creators"], y=lorenz["impressions"], name="impressions", mode="lines"))
    fig.update_layout(
        title="Creator concentration (Lorenz curve)",
        xaxis=dict(title="share of creators", tickformat=".0%"),
        yaxis=dict(title="share of impressions", tickformat=".0%"),
        **{**_LAYOUT, "hovermode": "closest"},
    )
    return fig


def top_share_figure(top1: pd.DataFrame) -> go.Figure:
    """Daily share of impressions going to the top 1% of creators."""
    fig = go.Figure(go.Scatter(x=top1["date"], y=top1["top1_share"], name="top 1% share", mode="lines"))
    fig.update_layout(title="Top-1% creators' share of impressions", yaxis=dict(tickformat=".0%"), **_LAYOUT)
    return fig


def priority_figure(counts: dict[str, int]) -> go.Figure:
    """Bar chart of open issues by priority."""
    keys = list(PRIORITY_COLOURS)
    fig = go.Figure(
        go.Bar(x=keys, y=[counts.get(k, 0) for k in keys], marker_color=[PRIORITY_COLOURS[k] for k in keys])
    )
    fig.update_layout(title="Open issues by priority", **{**_LAYOUT, "hovermode": "closest"})
    return fig


def issue_figure(
    series: pd.DataFrame,
    *,
    title: str,
    anomalies: pd.DataFrame | None = None,
    start=None,
    first_seen=None,
    fix_date=None,
) -> dict:
    """The metric in the issue's scope: observed line, expected band, anomaly markers, first-seen and fix dates.

    Returned as a plain Plotly figure dict (serialize with `plotly.io.to_json(fig, validate=False)`): the issue
    page is the hottest page, and building validated go.Figure objects costs more than the query behind it.

    Args:
        series (pd.DataFrame): columns date, value (one row per day).
        anomalies (pd.DataFrame | None): columns date (datetime.date), observed and optionally expected / lower /
            upper as stored by detection; where given they override the rolling band on their days.
        start: the day the change began; from then on the band stays at its value just before.
    """
    s = series.sort_values("date").reset_index(drop=True)
    band = expected_band(s["value"])
    if start is not None:  # from the change on, expect what the days before it predicted
        after = pd.to_datetime(s["date"]) >= pd.Timestamp(start)
        before = band[~after].dropna()
        if len(before):
            band.loc[after, :] = before.iloc[-1].to_numpy()
    if anomalies is not None and len(anomalies):  # what detection expected on its days beats the rolling guess
        stored = anomalies.drop_duplicates("date").set_index("date")
        days = pd.to_datetime(s["date"]).dt.date
        idx = days.isin(set(stored.index))
        for col in ("expected", "lower", "upper"):
            if col in stored.columns:
                values = days[idx].map(stored[col]).astype(float)
                band.loc[idx & values.reindex(band.index).notna(), col] = values.dropna()
    x = pd.to_datetime(s["date"]).dt.strftime("%Y-%m-%d").tolist()

    def line(y) -> list:
        return [None if pd.isna(v) else float(v) for v in y]

    data = [
        dict(type="scatter", x=x, y=line(band["upper"]), mode="lines", line=dict(width=0), showlegend=False),
        dict(
            type="scatter",
            x=x,
            y=line(band["lower"]),
            mode="lines",
            line=dict(width=0),
            fill="tonexty",
            fillcolor="rgba(37,99,235,0.15)",
            name="expected band",
        ),
        dict(type="scatter", x=x, y=line(band["expected"]), mode="lines", name="expected", line=dict(dash="dot")),
        dict(type="scatter", x=x, y=line(s["value"]), mode="lines+markers", name="observed", marker=dict(size=4)),
    ]
    if anomalies is not None and len(anomalies):
        data.append(
            dict(
                type="scatter",
                x=[str(d)[:10] for d in anomalies["date"]],
                y=line(anomalies["observed"]),
                mode="markers",
                name="anomaly",
                marker=dict(color="#b91c1c", size=10, symbol="x"),
            )
        )
    marks = [(str(when)[:10], label) for when, label in ((first_seen, "first seen"), (fix_date, "fix")) if when]
    layout = dict(
        title=dict(text=title),
        shapes=[dict(type="line", x0=d, x1=d, yref="paper", y0=0, y1=1, line=dict(dash="dash")) for d, _ in marks],
        annotations=[dict(x=d, y=1, yref="paper", text=t, showarrow=False, xanchor="left") for d, t in marks],
        **_LAYOUT,
    )
    return {"data": data, "layout": layout}


def waterfall_figure(splits: list[dict]) -> go.Figure:
    """Mix vs rate waterfall of the strongest split: mix effect + rate effect = total change."""
    top = max(splits, key=lambda s: abs(s.get("total_change") or 0.0))
    fig = go.Figure(
        go.Waterfall(
            x=[f"mix ({top['dimension']})", f"rate (within {top['dimension']})", "total change"],
            y=[top["mix_effect"], top["rate_effect"], top["total_change"]],
            measure=["relative", "relative", "total"],
        )
    )
    fig.update_layout(title=f"Mix vs rate along {top['dimension']}: {top['label']}", **_LAYOUT)
    return fig


def series_figure(series: pd.DataFrame, *, title: str) -> go.Figure:
    """Plain daily series of one or more metrics (columns metric, date, value)."""
    fig = go.Figure()
    for metric, part in series.groupby("metric", sort=True):
        fig.add_trace(go.Scatter(x=part["date"], y=part["value"], name=str(metric), mode="lines"))
    fig.update_layout(title=title, **_LAYOUT)
    return fig


def breakdown_figure(breakdown: pd.DataFrame, *, by: str, title: str) -> go.Figure:
    """Horizontal bars of a metric's value per child slice."""
    b = breakdown.head(30).iloc[::-1]
    fig = go.Figure(go.Bar(x=b["value"], y=b["key"].astype(str), orientation="h"))
    fig.update_layout(title=title, yaxis=dict(title=by), **{**_LAYOUT, "hovermode": "closest"})
    return fig


def impact_result(impact: dict) -> ImpactResult | None:
    """Rebuild the ImpactResult stored on an issue (ImpactResult.to_dict() plus extra keys); None when the stored
    dict is not one (an older or hand-written estimate)."""
    names = {f.name for f in dataclasses.fields(ImpactResult)}
    try:
        fields = {k: v for k, v in impact.items() if k in names}
        for key in ("pre_period", "post_period", "baseline"):  # tuples that JSON turned into lists
            if isinstance(fields.get(key), list):
                fields[key] = tuple(fields[key])
        fields["series"] = [ImpactPoint(**p) for p in impact.get("series") or []]
        fields["did"] = DiDEstimate(**impact["did"]) if impact.get("did") else None
        if impact.get("placebo"):
            placebo = impact["placebo"]
            fields["placebo"] = PlaceboSummary(
                runs=[PlaceboRun(**r) for r in placebo.get("runs", [])],
                coverage=placebo["coverage"],
                p_value=placebo.get("p_value"),
            )
        return ImpactResult(**fields) if fields["series"] else None
    except (TypeError, KeyError):
        return None


def impact_figure(impact: dict) -> go.Figure | None:
    """The impact stage's chart (observed vs counterfactual, pointwise and cumulative effect) for an estimate
    stored on an issue; None when there is nothing to draw."""
    result = impact_result(impact)
    return None if result is None else chart.impact_figure(result)


def fmt_num(value) -> str:
    """A number for people (4 significant digits); '–' for missing, NaN or anything that is not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        return "–"
    return f"{value:.4g}"


def fmt_pct(value) -> str:
    """A signed relative change as a percentage; '–' for missing, NaN or anything that is not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        return "–"
    return f"{value:+.1%}"


def fmt_share(value) -> str:
    """A share (0..1) as a whole percentage; '–' for missing, NaN or anything that is not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        return "–"
    return f"{value:.0%}"
