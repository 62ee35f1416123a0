"""`ecoradar issues ...` and `ecoradar health`: in-process on both backends, errors through the real entry point."""

from __future__ import annotations

import csv
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from typer.testing import CliRunner

from cli_runner import run_cli
from ecoradar.cli import app
from ecoradar.errors import InputError, NotFound
from ecoradar.issues.daily import ingest_day
from ecoradar.store import open_store
from store.storetests import anomaly, catalog, day, store, store_url  # noqa: F401

runner = CliRunner()


@pytest.fixture
def url(store):  # noqa: F811
    """A store with two issues: ECO-001 (like_rate on ios) and ECO-002 (photo_share in JP)."""
    with store.session() as s:
        ingest_day(
            s,
            day(0),
            [
                anomaly({"region": "JP"}, day(0)),
                anomaly({"os": "ios"}, day(0), metric="like_rate", observed=0.05, expected=0.06),
            ],
            [],
            catalog(),
        )
    return store.url


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200", "USER": "tester"})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.output


def test_list_show_and_json(url):
    listing = invoke("issues", "list", "--db", url)
    assert "2 of 2 issues" in listing and "ECO-001" in listing and "ECO-002" in listing
    data = json.loads(invoke("issues", "list", "--json", "--category", "traffic_balance", "--db", url))
    assert data["count"] == 1 and data["data"][0]["scope"] == {"region": "JP"}
    shown = invoke("issues", "show", "ECO-002", "--db", url)
    assert "Photo share of impressions down 33% in JP since 2026-02-10" in shown and "history" in shown
    full = json.loads(invoke("issues", "show", "2", "--json", "--db", url))
    assert full["short_id"] == "ECO-002" and full["history"][0]["kind"] == "created"


def test_work_an_issue_through_its_lifecycle(url):
    assert "ECO-002: new -> triaged" in invoke("issues", "status", "ECO-002", "triaged", "--note", "real", "--db", url)
    assert "owner growth" in invoke("issues", "assign", "ECO-002", "growth", "--actor", "ann", "--db", url)
    assert "comment added" in invoke("issues", "comment", "ECO-002", "JP feed change", "--db", url)
    invoke("issues", "status", "ECO-002", "resolved", "--fix-date", "2026-02-12", "--db", url)
    full = json.loads(invoke("issues", "show", "ECO-002", "--json", "--db", url))
    assert (full["status"], full["owner"], full["fix_date"]) == ("resolved", "growth", "2026-02-12")
    assert [(h["kind"], h["actor"]) for h in full["history"]][1:] == [
        ("status_change", "tester"),
        ("assign", "ann"),
        ("comment", "tester"),
        ("status_change", "tester"),
    ]
    assert json.loads(invoke("issues", "list", "--json", "--status", "open", "--db", url))["count"] == 1


def test_export_json_and_csv(url, tmp_path):
    dumped = json.loads(invoke("issues", "export", "--format", "json", "--db", url))
    assert [d["short_id"] for d in dumped] == ["ECO-001", "ECO-002"] and "history" in dumped[0]
    out = tmp_path / "issues.csv"
    assert "wrote 2 issues" in invoke("issues", "export", "--format", "csv", "--out", out, "--db", url)
    rows = list(csv.DictReader(out.open()))
    assert [r["short_id"] for r in rows] == ["ECO-001", "ECO-002"]
    assert json.loads(rows[1]["scope"]) == {"region": "JP"}


def test_health_table(url):
    invoke("issues", "status", "ECO-001", "false_positive", "--db", url)
    text = invoke("health", "--from", "2026-02-01", "--to", "2026-02-28", "--by", "category", "--db", url)
    assert "Process health by category" in text and "user_experience" in text and "100%" in text
    records = json.loads(invoke("health", "--json", "--db", url))
    assert records[-1]["metric"] == "all" and records[-1]["issues"] == 2


def test_user_errors_are_one_line_with_a_non_zero_exit(tmp_path):
    """Through the real entry point, two processes side by side: a bad transition and an unreachable store."""
    db = f"sqlite:///{tmp_path / 'eco.db'}"
    with open_store(db).session() as s:
        ingest_day(s, day(0), [anomaly({"region": "JP"}, day(0))], [], catalog())
    calls = {
        "bad transition": ("issues", "status", "ECO-001", "regressed", "--db", db),
        "unreachable": ("issues", "list", "--db", "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"),
    }
    with ThreadPoolExecutor(len(calls)) as pool:
        results = dict(zip(calls, pool.map(lambda args: run_cli(*args, cwd=tmp_path), calls.values()), strict=True))
    expected = {
        "bad transition": "error: cannot move issue ECO-001 from 'new' to 'regressed' (only the daily run reopens "
        "issues as regressed); allowed from 'new': triaged, investigating, mitigating, resolved, wont_fix, "
        "false_positive",
        "unreachable": "error: cannot open the store at postgresql+psycopg://postgres@127.0.0.1:1/nowhere: ",
    }
    for name, res in results.items():
        assert res.exit_code == 2, (name, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(expected[name]), (name, res.stderr)


@pytest.mark.parametrize(
    "args, error, message",
    [
        (("issues", "show", "ECO-0ZZ"), NotFound, "unknown issue 'ECO-0ZZ': no issue with that id in the store"),
        (
            ("issues", "status", "ECO-001", "resolved", "--fix-date", "12/02/2026"),
            InputError,
            "--fix-date '12/02/2026' is not a date; use YYYY-MM-DD",
        ),
        (("issues", "status", "ECO-001", "fixed"), InputError, "unknown status 'fixed'; allowed: new, regressed"),
        (("issues", "export", "--format", "xml"), InputError, "unknown export format 'xml'; allowed: json, csv"),
        (("health", "--by", "team"), InputError, "unknown grouping 'team'; allowed: metric, category, owner"),
        (("health", "--from", "2026-03-01", "--to", "2026-02-01"), InputError, "--from 2026-03-01 is after --to"),
    ],
)
def test_bad_input_raises_the_error_the_entry_point_prints(url, args, error, message):
    result = runner.invoke(app, [*args, "--db", url])
    assert isinstance(result.exception, error) and str(result.exception).startswith(message)
    assert result.exception.exit_code == 2 and "\n" not in str(result.exception)
