"""What the pages show, computed once per data day: the ecosystem overview and an issue's charts."""

from __future__ import annotations

import datetime as dt
import functools

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ecoradar.issues.lifecycle import OPEN
from ecoradar.metrics.loader import Catalog
from ecoradar.report import charts
from ecoradar.report.ecosystem import Cube, category_health, creator_concentration, format_scope, format_shares
from ecoradar.report.process import process_health
from ecoradar.store import Issue


def fig_json(fig: go.Figure | dict) -> str:
    """A figure (or a plain figure dict) as JSON safe to place inside a <script> element."""
    return pio.to_json(fig, validate=False).replace("</", "<\\/")


def open_counts(session: Session) -> dict[str, dict[str, int]]:
    """Open issues per category and priority: {category: {P0: n, ...}}."""
    rows = session.execute(
        select(Issue.category, Issue.priority, func.count())
        .where(Issue.status.in_(sorted(s.value for s in OPEN)))
        .group_by(Issue.category, Issue.priority)
    ).all()
    out: dict[str, dict[str, int]] = {}
    for category, priority, n in rows:
        out.setdefault(category, {})[priority] = n
    return out


@functools.lru_cache(maxsize=8)
def ecosystem_figures(cube: Cube, last_day: dt.date, days: int) -> dict[str, str]:
    """Format exposure shares and creator concentration charts, cached per cube and last cube day.

    Shares and the top-1% series come from the cube's format_share / top1pct_creator_share metrics when it has
    them (else from raw impressions); the Lorenz curve always needs raw impressions (the last 7 days).
    """
    since = last_day - dt.timedelta(days=days - 1)
    metrics = set(cube.metrics())
    lorenz, top1 = creator_concentration(cube.data_dir, last_day - dt.timedelta(days=6))
    if "format_share" in metrics:
        shares = cube.children("format_share", "format", since).rename(columns={"key": "format", "value": "share"})
    else:
        shares = format_shares(cube.data_dir, since)
    if "top1pct_creator_share" in metrics:
        top1 = cube.series(["top1pct_creator_share"], {}, since).rename(columns={"value": "top1_share"})
    return {
        "formats": fig_json(charts.format_share_figure(shares)),
        "lorenz": fig_json(charts.lorenz_figure(lorenz)),
        "top1": fig_json(charts.top_share_figure(top1)),
    }


def overview(session: Session, cube: Cube | None, catalog: Catalog, *, days: int = 60) -> dict:
    """Everything the Overview page shows."""
    counts = open_counts(session)
    totals = {p: sum(c.get(p, 0) for c in counts.values()) for p in charts.PRIORITY_COLOURS}
    span = cube.date_range() if cube is not None and cube.available else None
    series = pd.DataFrame(columns=["metric", "date", "value"])
    figures = {"priorities": fig_json(charts.priority_figure(totals))}
    if span is not None:
        since = span[1] - dt.timedelta(days=days - 1)
        series = cube.series(list(catalog), {}, since, span[1])
        figures.update(ecosystem_figures(cube, span[1], days))
    since = span[1] - dt.timedelta(days=27) if span else None
    return {
        "health": category_health(catalog, series, counts),
        "figures": figures,
        "span": span,
        "totals": totals,
        "process": process_health(session, date_from=since, date_to=span[1] if span else None),
    }


def issue_charts(issue: dict, cube: Cube | None, *, context_days: int = 60) -> dict[str, str]:
    """The issue page's charts: the metric in its scope with band and anomalies, the mix/rate waterfall, impact."""
    figures: dict[str, str] = {}
    if cube is not None and cube.available:
        start = dt.date.fromisoformat(issue["start_date"] or issue["first_seen"])
        last = dt.date.fromisoformat(issue["last_seen"])
        series = cube.series([issue["metric"]], issue["scope"])  # whole series: one cached query per slice
        lo, hi = (
            pd.Timestamp(start - dt.timedelta(days=context_days)),
            pd.Timestamp(last + dt.timedelta(days=context_days)),
        )
        series = series[pd.to_datetime(series["date"]).between(lo, hi)]
        if len(series):
            days = pd.DataFrame(issue.get("days") or [], columns=["date", "observed", "expected"])
            days["date"] = pd.to_datetime(days["date"]).dt.date
            figures["series"] = fig_json(
                charts.issue_figure(
                    series,
                    title=f"{issue['metric']} in {format_scope(issue['scope'])}",
                    anomalies=days,
                    start=start,
                    first_seen=issue["first_seen"],
                    fix_date=issue.get("fix_date"),
                )
            )
    if issue.get("mix_rate"):
        figures["waterfall"] = fig_json(charts.waterfall_figure(issue["mix_rate"]))
    if issue.get("impact") and issue.get("fix_date"):
        fig = charts.impact_figure(issue["impact"])
        if fig is not None:
            figures["impact"] = fig_json(fig)
    return figures
