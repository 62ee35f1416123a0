"""The weekly ecosystem report: one self-contained HTML file (Plotly JS embedded once, charts inlined) or
Markdown, built from the data folder's cube and the issue store."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
import plotly.offline
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ecoradar.errors import InputError
from ecoradar.issues.lifecycle import OPEN
from ecoradar.issues.service import issue_to_dict
from ecoradar.report import charts
from ecoradar.report.ecosystem import Cube, category_health, format_scope, movers
from ecoradar.report.process import process_health
from ecoradar.store import Issue

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("ecoradar.report", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_TEMPLATES.filters.update(pct=charts.fmt_pct, num=charts.fmt_num, share=charts.fmt_share)
_TEMPLATES.globals.update(sparkline=charts.sparkline_svg, format_scope=format_scope)


def parse_week(week: str) -> dt.date:
    """The Monday of an ISO week written like 2026-W07.

    Example:
        >>> parse_week("2026-W07")
        datetime.date(2026, 2, 9)
    """
    match = _WEEK.match(week.strip())
    if not match:
        raise InputError(f"bad week {week!r}: write the ISO week as YYYY-Www, e.g. 2026-W07")
    try:
        return dt.date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        raise InputError(f"bad week {week!r}: week {match.group(2)} does not exist in {match.group(1)}") from None


@dataclass
class WeeklyReport:
    """Everything the report shows, independent of the output format."""

    week: str
    monday: dt.date
    sunday: dt.date
    health: list[dict] = field(default_factory=list)
    new: list[dict] = field(default_factory=list)
    ongoing: list[dict] = field(default_factory=list)
    resolved: list[dict] = field(default_factory=list)
    movers: list[dict] = field(default_factory=list)
    fixes: list[dict] = field(default_factory=list)
    process: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, str] = field(default_factory=dict)


def _issues(session: Session, *conditions) -> list[dict]:
    query = select(Issue).where(*conditions).order_by(Issue.priority, Issue.severity.desc(), Issue.id)
    return [issue_to_dict(i, history=False) for i in session.scalars(query)]


def _root_causes_by_metric(rows: list[dict]) -> dict[str, dict]:
    """The most serious issue per metric among those active in the week (their root causes explain movers)."""
    out: dict[str, dict] = {}
    for row in rows:
        out.setdefault(row["metric"], row)
    return out


def build_weekly(week: str, *, session: Session, cube: Cube | None, catalog) -> WeeklyReport:
    """Collect the week's health, issues, movers, fix effectiveness and process health.

    Args:
        week (str): ISO week, e.g. 2026-W07.
        session (Session): an open store session.
        cube (Cube | None): the data folder's cube (None: the report has only the store's sections).
        catalog (Mapping[str, Metric]): the metric catalog.
    """
    monday = parse_week(week)
    sunday = monday + dt.timedelta(days=6)
    end = dt.datetime.combine(sunday + dt.timedelta(days=1), dt.time())
    start = dt.datetime.combine(monday, dt.time())
    report = WeeklyReport(week=week, monday=monday, sunday=sunday)
    open_values = sorted(s.value for s in OPEN)
    report.new = _issues(session, Issue.first_seen.between(monday, sunday))
    report.ongoing = _issues(
        session, Issue.first_seen < monday, Issue.last_seen >= monday, Issue.status.in_(open_values)
    )
    report.resolved = _issues(session, Issue.resolved_at >= start, Issue.resolved_at < end)
    report.fixes = [
        i
        for i in _issues(
            session,
            Issue.impact.is_not(None),
            or_(
                Issue.fix_date.between(monday - dt.timedelta(days=28), sunday),
                and_(Issue.resolved_at >= start, Issue.resolved_at < end),
            ),
        )
        if i["impact"]
    ]
    report.process = process_health(session, date_from=monday - dt.timedelta(days=21), date_to=sunday)
    counts: dict[str, dict[str, int]] = {}
    for row in report.new + report.ongoing:
        counts.setdefault(row["category"], {}).setdefault(row["priority"], 0)
        counts[row["category"]][row["priority"]] += 1
    totals = {p: sum(c.get(p, 0) for c in counts.values()) for p in charts.PRIORITY_COLOURS}
    report.figures["priorities"] = charts.priority_figure(totals).to_json()
    series = pd.DataFrame(columns=["metric", "date", "value"])
    if cube is not None and cube.available:
        series = cube.series(list(catalog), {}, monday - dt.timedelta(days=42), sunday)
        moved = movers(cube, catalog, monday)
        causes = _root_causes_by_metric(report.new + report.ongoing)
        for record in moved.to_dict("records") if len(moved) else []:
            row = {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in record.items()}
            issue = causes.get(row["metric"])
            row["issue"] = issue
            row["root_causes"] = (issue or {}).get("root_causes") or []
            report.movers.append(row)
        if "format_share" in set(cube.metrics()):
            shares = cube.children("format_share", "format", monday - dt.timedelta(days=42), sunday)
            shares = shares.rename(columns={"key": "format", "value": "share"})
            report.figures["formats"] = charts.format_share_figure(shares).to_json()
    report.health = category_health(catalog, series, counts)
    for fix in report.fixes:
        fig = charts.impact_figure(fix["impact"])
        if fig is not None:
            report.figures[f"impact-{fix['short_id']}"] = fig.to_json()
    return report


def render_html(report: WeeklyReport) -> str:
    """A single HTML file: Plotly's JS embedded once, every chart inlined, no external request."""
    figures = {k: v.replace("</", "<\\/") for k, v in report.figures.items()}
    return _TEMPLATES.get_template("weekly.html").render(
        r=report, figures=figures, plotly_js=plotly.offline.get_plotlyjs()
    )


def render_md(report: WeeklyReport) -> str:
    """The same report as Markdown (tables, no charts) for chat and email."""
    return _TEMPLATES.get_template("weekly.md").render(r=report)


def write_report(report: WeeklyReport, out: Path, fmt: str) -> Path:
    """Render the report as `fmt` (html | md) into `out`."""
    if fmt not in ("html", "md"):
        raise InputError(f"unknown report format {fmt!r}; allowed: html, md")
    text = render_html(report) if fmt == "html" else render_md(report)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out
