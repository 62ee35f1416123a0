"""The weekly report on the seeded mini world: sections hold the right issues, movers find the known change,
HTML is self-contained, Markdown reads, and the CLI writes either."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from webtests import SHIFT, create_issue, store_fixture, world_fixture

from cli_runner import run_cli
from ecoradar.errors import InputError
from ecoradar.issues import service
from ecoradar.metrics.loader import load_catalog
from ecoradar.report.ecosystem import Cube
from ecoradar.report.weekly import build_weekly, parse_week, render_html, render_md
from ecoradar.store import Issue

FIXTURES = (store_fixture, world_fixture)  # pytest finds them here by name
WEEK = "2026-W07"  # Monday 2026-02-09 .. Sunday 2026-02-15; SHIFT (2026-02-12) falls in it


@pytest.fixture(scope="module")
def seeded(web_store):
    ids = {
        "new": create_issue(web_store, priority="P0", title="Report rate up in JP"),
        "ongoing": create_issue(
            web_store,
            priority="P2",
            title="Old supply dip",
            category="supply",
            metric="impressions",
            scope={},
            start_date=dt.date(2026, 1, 20),
            first_seen=dt.date(2026, 1, 20),
            last_seen=dt.date(2026, 2, 10),
            times_seen=3,
        ),
        "outside": create_issue(
            web_store,
            priority="P1",
            title="Later problem",
            first_seen=dt.date(2026, 2, 20),
            start_date=dt.date(2026, 2, 20),
            last_seen=dt.date(2026, 2, 21),
            times_seen=2,
        ),
        "resolved": create_issue(
            web_store,
            priority="P1",
            title="Fixed thing",
            first_seen=dt.date(2026, 1, 25),
            start_date=dt.date(2026, 1, 25),
            last_seen=dt.date(2026, 2, 1),
            times_seen=3,
        ),
    }
    with web_store.session() as session:
        issue = session.get(Issue, ids["resolved"])
        service.transition(session, issue, "investigating", actor="test")
        service.transition(session, issue, "resolved", actor="test", fix_date=dt.date(2026, 2, 2))
        issue.resolved_at = dt.datetime(2026, 2, 11, 10, 0)
        service.record_impact(
            session,
            issue,
            {"verdict": "recovered", "relative_effect": -0.31, "p_value": 0.004, "series": []},
            actor="test",
        )
    return ids


@pytest.fixture(scope="module")
def report(web_store, web_world, seeded):
    with web_store.session() as session:
        return build_weekly(WEEK, session=session, cube=Cube(web_world), catalog=load_catalog())


def test_parse_week():
    assert parse_week("2026-W07") == dt.date(2026, 2, 9)
    assert parse_week("2026-W01") == dt.date(2025, 12, 29)
    for bad in ("2026-7", "2026W07", "2026-W54"):
        with pytest.raises(InputError, match="bad week"):
            parse_week(bad)
    with pytest.raises(InputError) as err:
        parse_week("2026-07")
    assert str(err.value) == "bad week '2026-07': write the ISO week as YYYY-Www, e.g. 2026-W07"


def test_issue_sections(report, seeded):
    assert [i["id"] for i in report.new] == [seeded["new"]]
    assert [i["id"] for i in report.ongoing] == [seeded["ongoing"]]
    assert [i["id"] for i in report.resolved] == [seeded["resolved"]]
    assert [f["id"] for f in report.fixes] == [seeded["resolved"]]


def test_movers_find_the_known_change(report):
    top = report.movers[0]
    assert top["metric"] == "report_rate"
    assert top["slice"] == "region=JP"
    assert top["change"] > 0.2  # JP triples from Thursday on: the platform rate is clearly up on the week
    assert top["issue"]["title"] == "Report rate up in JP"
    assert top["root_causes"][0]["scope"] == {"region": "JP"}


def test_health_marks_categories_with_serious_issues(report):
    health = {row["category"]: row for row in report.health}
    assert health["content_quality"]["status"] == "red"
    assert health["supply"]["status"] == "amber"
    rate = next(m for m in health["content_quality"]["metrics"] if m["name"] == "report_rate")
    assert rate["change"] > 0.2 and len(rate["values"]) == 46  # six weeks back, but the world starts on Jan 1


def test_html_is_self_contained(report):
    html = render_html(report)
    assert html.count("<script") == 2 + len(report.figures)  # plotly once, one per figure, the drawing script
    assert not re.search(r'<(?:script|link|img)[^>]+(?:src|href)="', html)
    assert html.count("Plotly.newPlot") == 1
    assert "Report rate up in JP" in html and "recovered" in html and "region=JP" in html


def test_markdown(report):
    md = render_md(report)
    assert md.startswith("# Ecosystem weekly report · 2026-W07")
    assert "| report_rate |" in md and "recovered" in md and "Old supply dip" in md


@pytest.mark.slow
def test_report_cli(tmp_path, web_world, web_store, seeded):
    out = tmp_path / "weekly.md"
    result = run_cli("report", "--week", WEEK, "--data", str(web_world), "--db", web_store.url, "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(out)
    assert "1 new, 1 ongoing, 1 resolved" in result.stderr
    assert out.read_text().startswith("# Ecosystem weekly report")
    assert SHIFT.isocalendar()[1] == 7
