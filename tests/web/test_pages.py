"""Server-rendered pages over real HTTP: sign-in into a session cookie, CSRF on every form, offline assets."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import numpy as np
import pandas as pd
import plotly.offline
import pytest
from webtests import LiveServer, client_for, create_issue, server_fixture, store_fixture, tokens_fixture, world_fixture

from ecoradar.impact import estimate_impact
from ecoradar.report import charts
from ecoradar.web.main import create_app
from ecoradar.web.settings import Settings

FIXTURES = (server_fixture, store_fixture, tokens_fixture, world_fixture)  # pytest finds them here by name
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@contextmanager
def signed_in(server, token: str) -> Iterator[tuple[httpx.Client, str]]:
    """A cookie-carrying client signed in through the login form, and its CSRF token."""
    with httpx.Client(base_url=server.url, timeout=30) as c:
        csrf = CSRF.search(c.get("/login").text).group(1)
        r = c.post("/login", data={"token": token, "csrf": csrf, "next": "/issues"})
        assert r.status_code == 303 and r.headers["location"] == "/issues"
        page = c.get("/issues")
        yield c, CSRF.search(page.text).group(1)


def test_pages_redirect_to_login(web_server):
    with client_for(web_server) as c:
        for path in ("/", "/issues", "/issues/1", "/explorer", "/sql", "/users"):
            r = c.get(path)
            assert r.status_code == 303
            assert r.headers["location"] == f"/login?next={path}"


def test_login_rejects_bad_token_and_missing_csrf(web_server):
    with httpx.Client(base_url=web_server.url) as c:
        csrf = CSRF.search(c.get("/login").text).group(1)
        bad = c.post("/login", data={"token": "eco_wrong", "csrf": csrf})
        assert bad.status_code == 401 and "Invalid token" in bad.text
        forged = c.post("/login", data={"token": "eco_wrong", "csrf": "forged"})
        assert forged.status_code == 403
        assert forged.json() == {"detail": "CSRF token missing or invalid"}


def test_every_page_renders_for_a_signed_in_viewer(web_server, web_tokens, web_store):
    issue_id = create_issue(web_store)
    with signed_in(web_server, web_tokens["viewer"]) as (c, _):
        overview = c.get("/")
        assert overview.status_code == 200
        for needle in (
            "Health by category",
            "Process health",
            'data-plot="plot-formats"',
            'data-plot="plot-lorenz"',
            'data-plot="plot-top1"',
            'data-plot="plot-priorities"',
            "<svg",
        ):
            assert needle in overview.text
        inbox = c.get("/issues", params={"status": "open", "priority": "P1"})
        assert inbox.status_code == 200 and "Report rate up 200% in JP" in inbox.text
        page = c.get(f"/issues/{issue_id}")
        assert page.status_code == 200
        assert 'data-plot="plot-series"' in page.text and 'data-plot="plot-waterfall"' in page.text
        assert "stricter reporting in JP" in page.text and "region=JP" in page.text
        assert "Viewers can read" in page.text  # no edit controls for a viewer
        explorer = c.get("/explorer", params={"metric": "report_rate", "by": "region"})
        assert explorer.status_code == 200 and 'data-plot="plot-breakdown"' in explorer.text
        assert c.get("/explorer", params={"metric": "report_rate", "slice": "nope=1"}).status_code == 200
        assert c.get("/sql").status_code == 200
        assert c.get("/users").status_code == 403


def test_pages_and_assets_work_offline(web_server, web_tokens, web_store):
    issue_id = create_issue(web_store)
    with signed_in(web_server, web_tokens["viewer"]) as (c, _):
        for path in ("/", "/issues", f"/issues/{issue_id}", "/explorer", "/sql"):
            html = c.get(path).text
            for ref in re.findall(r'(?:src|href)="([^"]+)"', html):
                assert not ref.startswith(("http:", "https:", "//")), f"{path} loads {ref} from the network"
        js = c.get("/static/plotly.min.js")
    assert js.status_code == 200
    assert js.text == plotly.offline.get_plotlyjs()


def test_forms_need_the_session_csrf_token(web_server, web_tokens, web_store):
    issue_id = create_issue(web_store)
    with signed_in(web_server, web_tokens["analyst"]) as (c, csrf):
        forged = c.post(f"/issues/{issue_id}/status", data={"status": "triaged", "csrf": "nope"})
        assert forged.status_code == 403 and forged.json() == {"detail": "CSRF token missing or invalid"}
        missing = c.post(f"/issues/{issue_id}/status", data={"status": "triaged"})
        assert missing.status_code == 422
        ok = c.post(f"/issues/{issue_id}/status", data={"status": "triaged", "note": "seen", "csrf": csrf})
        assert ok.status_code == 303 and ok.headers["location"] == f"/issues/{issue_id}"
        assert c.post(f"/issues/{issue_id}/assign", data={"owner": "ranking", "csrf": csrf}).status_code == 303
        assert c.post(f"/issues/{issue_id}/comment", data={"text": "on it", "csrf": csrf}).status_code == 303
        bad = c.post(f"/issues/{issue_id}/status", data={"status": "new", "csrf": csrf})
        assert "cannot+move" in bad.headers["location"] or "cannot%20move" in bad.headers["location"]
        # the API over the cookie needs the same token in a header for unsafe methods
        api = c.post(f"/api/issues/{issue_id}/comments", json={"text": "x"})
        assert api.status_code == 403 and api.json() == {"detail": "CSRF token missing or invalid"}
        api = c.post(f"/api/issues/{issue_id}/comments", json={"text": "x"}, headers={"X-CSRF-Token": csrf})
        assert api.status_code == 201
        issue = c.get(f"/api/issues/{issue_id}").json()
        page = c.get(f"/issues/{issue_id}").text
    assert issue["status"] == "triaged" and issue["owner"] == "ranking"
    assert [h["kind"] for h in issue["history"]] == ["created", "status_change", "assign", "comment", "comment"]
    assert "web:analyst-user" in page and "seen" in page


def test_viewer_cannot_change_issues_through_forms(web_server, web_tokens, web_store):
    issue_id = create_issue(web_store)
    with signed_in(web_server, web_tokens["viewer"]) as (c, csrf):
        r = c.post(f"/issues/{issue_id}/status", data={"status": "triaged", "csrf": csrf})
        assert r.status_code == 403 and r.json() == {"detail": "Requires role analyst"}


def test_sign_out_and_admin_creates_users(web_server, web_tokens):
    with signed_in(web_server, web_tokens["admin"]) as (c, csrf):
        created = c.post("/users", data={"name": "dora", "role": "viewer", "csrf": csrf})
        token = re.search(r'data-testid="new-token">([^<]+)<', created.text).group(1)
        assert token.startswith("eco_")
        assert c.post("/logout", data={"csrf": csrf}).status_code == 303
        assert c.get("/").status_code == 303
    with client_for(web_server, token) as api:
        assert api.get("/api/users/me").json() == {"name": "dora", "role": "viewer"}


def test_sql_page_shows_results_and_refusals(web_server, web_tokens):
    with signed_in(web_server, web_tokens["viewer"]) as (c, csrf):
        ok = c.post("/sql", data={"sql": "SELECT 6 * 7 AS answer", "csrf": csrf})
        assert ok.status_code == 200 and "<td>42</td>" in ok.text
        refused = c.post("/sql", data={"sql": "COPY cube TO '/tmp/x.csv'", "csrf": csrf})
        assert refused.status_code == 400 and "only SELECT/WITH queries are accepted, not COPY" in refused.text


def test_no_auth_is_loud_and_makes_everyone_admin(web_world, web_store):
    settings = Settings(data_dir=web_world, db_url=web_store.url, auth=False)
    with LiveServer(create_app(settings, store=web_store)) as server, client_for(server) as c:
        assert c.get("/api/users/me").json() == {"name": "anonymous", "role": "admin"}
        assert "Authentication is OFF" in c.get("/").text


def test_settings_refuse_weak_secrets_and_missing_folders(tmp_path):
    with pytest.raises(ValueError, match="too weak"):
        Settings(secret_key="changethis")
    with pytest.raises(ValueError, match="does not exist"):
        Settings(data_dir=tmp_path / "missing")


def test_issue_page_draws_the_stored_impact(web_server, web_tokens, web_store):
    days = pd.date_range("2026-01-01", periods=60)
    rng = np.random.default_rng(3)
    control = 10 + rng.normal(0, 0.2, 60)
    target = control + rng.normal(0, 0.1, 60) + np.where(np.arange(60) >= 40, 2.0, 0.0)
    result = estimate_impact(
        pd.Series(target, index=days),
        pd.DataFrame({"US": control}, index=days),
        pre_period=(days[0], days[39]),
        post_period=(days[40], days[-1]),
        estimator="did",
    )
    stored = json.loads(json.dumps(result.to_dict(), default=str))  # what the store's JSON column hands back
    assert charts.impact_result(stored) == result
    issue_id = create_issue(web_store, fix_date=days[40].date(), impact=stored, start_date=days[0].date())
    with signed_in(web_server, web_tokens["viewer"]) as (c, _):
        page = c.get(f"/issues/{issue_id}").text
        assert c.get(f"/api/issues/{issue_id}/impact").json()["verdict"] == result.verdict
    assert 'data-plot="plot-impact"' in page


def test_estimate_impact_from_the_issue_page(web_server, web_tokens, web_store):
    issue_id = create_issue(web_store, status="mitigating", fix_date=dt.date(2026, 2, 19))
    with signed_in(web_server, web_tokens["analyst"]) as (c, csrf):
        assert "Estimate the fix's impact" in c.get(f"/issues/{issue_id}").text
        r = c.post(f"/issues/{issue_id}/impact", data={"csrf": csrf, "estimator": "did"})
        assert r.status_code == 303 and r.headers["location"] == f"/issues/{issue_id}"
        page = c.get(f"/issues/{issue_id}").text
        bad = c.post(f"/issues/{issue_id}/impact", data={"csrf": csrf, "estimator": "magic"})
    assert 'data-plot="plot-impact"' in page
    assert "error=" in bad.headers["location"]
