"""The REST API over real HTTP (uvicorn on a free port, httpx): issues, metrics, anomalies, health, users."""

from __future__ import annotations

import pytest
from webtests import SHIFT, client_for, create_issue, server_fixture, store_fixture, tokens_fixture, world_fixture

FIXTURES = (server_fixture, store_fixture, tokens_fixture, world_fixture)  # pytest finds them here by name


@pytest.fixture(scope="module")
def seeded(web_store) -> dict[str, int]:
    """Issues of every priority, one resolved, in known categories."""
    ids = {
        "p2": create_issue(web_store, priority="P2", severity=0.3, category="diversity", owner="diversity-team"),
        "p0": create_issue(web_store, priority="P0", severity=0.9),
        "p1": create_issue(web_store, priority="P1", severity=0.7, metric="impressions", scope={}),
        "p3": create_issue(web_store, priority="P3", severity=0.1, status="resolved", substatus="recovered"),
    }
    return ids


def test_issues_are_sorted_by_priority_and_filtered(web_server, web_tokens, seeded):
    with client_for(web_server, web_tokens["viewer"]) as c:
        body = c.get("/api/issues", params={"status": "all"}).json()
        priorities = [i["priority"] for i in body["data"]]
        assert priorities == sorted(priorities)
        assert body["count"] == len(body["data"]) >= 4
        opened = c.get("/api/issues").json()  # default: every status
        assert {i["id"] for i in opened["data"]} >= set(seeded.values())
        only = c.get("/api/issues", params={"status": "open", "category": "diversity"}).json()
        assert [i["id"] for i in only["data"]] == [seeded["p2"]]
        assert c.get("/api/issues", params={"owner": "diversity-team"}).json()["count"] == 1
        assert c.get("/api/issues", params={"metric": "impressions"}).json()["data"][0]["id"] == seeded["p1"]
        bad = c.get("/api/issues", params={"priority": "P9"})
        assert bad.status_code == 400
        assert bad.json()["detail"] == "unknown priority 'P9'; allowed: P0, P1, P2, P3"


def test_read_issue_by_short_id_with_history(web_server, web_tokens, seeded):
    with client_for(web_server, web_tokens["viewer"]) as c:
        short = c.get(f"/api/issues/{seeded['p0']}").json()["short_id"]
        issue = c.get(f"/api/issues/{short}").json()
    assert issue["id"] == seeded["p0"]
    assert issue["scope"] == {"region": "JP"}
    assert issue["root_causes"][0]["scope"] == {"region": "JP"}
    assert [h["kind"] for h in issue["history"]] == ["created"]
    assert len(issue["days"]) == 4
    assert "triaged" in issue["allowed_transitions"]


def test_unknown_issue_is_404(web_server, web_tokens):
    with client_for(web_server, web_tokens["viewer"]) as c:
        for ref in ("999999", "ECO-ZZZZ", "nonsense"):
            r = c.get(f"/api/issues/{ref}")
            assert r.status_code == 404
            assert r.json() == {"detail": "Issue not found"}


def test_analyst_moves_assigns_and_comments(web_server, web_tokens, web_store):
    issue_id = create_issue(web_store)
    with client_for(web_server, web_tokens["analyst"]) as c:
        r = c.post(f"/api/issues/{issue_id}/transition", json={"status": "investigating", "note": "looking"})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "investigating"
        r = c.post(f"/api/issues/{issue_id}/assign", json={"owner": "ranking"})
        assert r.json()["owner"] == "ranking"
        r = c.post(f"/api/issues/{issue_id}/comments", json={"text": "rolled back v52"})
        assert r.status_code == 201
        assert r.json()["actor"] == "web:analyst-user"
        history = c.get(f"/api/issues/{issue_id}").json()["history"]
    assert [(h["kind"], h["from"], h["to"]) for h in history[1:]] == [
        ("status_change", "new", "investigating"),
        ("assign", "trust-safety", "ranking"),
        ("comment", None, None),
    ]
    assert history[1]["actor"] == "web:analyst-user" and history[1]["note"] == "looking"


def test_bad_transition_and_stale_version(web_server, web_tokens, web_store):
    issue_id = create_issue(web_store)
    with client_for(web_server, web_tokens["analyst"]) as c:
        r = c.post(f"/api/issues/{issue_id}/transition", json={"status": "regressed"})
        assert r.status_code == 400
        assert "only the daily run reopens issues as regressed" in r.json()["detail"]
        r = c.post(f"/api/issues/{issue_id}/transition", json={"status": "flying"})
        assert r.status_code == 400
        assert r.json()["detail"].startswith("unknown status 'flying'; allowed: new, regressed")
        version = c.get(f"/api/issues/{issue_id}").json()["version"]
        assert c.post(f"/api/issues/{issue_id}/assign", json={"owner": "a", "version": version}).status_code == 200
        stale = c.post(f"/api/issues/{issue_id}/assign", json={"owner": "b", "version": version})
        assert stale.status_code == 409
        assert "was changed by someone else" in stale.json()["detail"]


def test_fix_date_and_impact(web_server, web_tokens, web_store):
    issue_id = create_issue(web_store)
    with client_for(web_server, web_tokens["analyst"]) as c:
        assert c.get(f"/api/issues/{issue_id}/impact").json() == {"detail": "No impact estimate yet"}
        r = c.post(f"/api/issues/{issue_id}/transition", json={"status": "mitigating", "fix_date": str(SHIFT)})
        assert r.status_code == 200 and r.json()["fix_date"] == str(SHIFT)
        early = c.post(f"/api/issues/{issue_id}/transition", json={"status": "resolved", "fix_date": "2025-01-01"})
        assert early.status_code == 400 and "is before issue" in early.json()["detail"]


@pytest.mark.parametrize(
    ("role", "method", "path", "body", "status", "detail"),
    [
        (None, "get", "/api/issues", None, 401, "Not authenticated"),
        ("bogus", "get", "/api/issues", None, 401, "Invalid token"),
        ("viewer", "post", "/api/issues/1/transition", {"status": "triaged"}, 403, "Requires role analyst"),
        ("viewer", "post", "/api/issues/1/comments", {"text": "x"}, 403, "Requires role analyst"),
        ("analyst", "get", "/api/users", None, 403, "Requires role admin"),
        ("analyst", "post", "/api/users", {"name": "x", "role": "admin"}, 403, "Requires role admin"),
    ],
)
def test_roles(web_server, web_tokens, seeded, role, method, path, body, status, detail):
    token = web_tokens.get(role, "eco_not-a-token") if role else None
    with client_for(web_server, token) as c:
        r = c.request(method.upper(), path, json=body)
    assert r.status_code == status
    assert r.json() == {"detail": detail}


def test_malformed_authorization_header(web_server):
    with client_for(web_server) as c:
        r = c.get("/api/issues", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401
    assert r.json() == {"detail": "Invalid authorization header"}
    assert r.headers["www-authenticate"] == "Bearer"


def test_admin_manages_users(web_server, web_tokens):
    with client_for(web_server, web_tokens["admin"]) as c:
        r = c.post("/api/users", json={"name": "carol", "role": "analyst"})
        assert r.status_code == 201
        token = r.json()["token"]
        assert token.startswith("eco_")
        assert c.post("/api/users", json={"name": "carol", "role": "viewer"}).json() == {
            "detail": "user 'carol' already exists"
        }
        names = [u["name"] for u in c.get("/api/users").json()["data"]]
        assert "carol" in names and all("token" not in u for u in c.get("/api/users").json()["data"])
    with client_for(web_server, token) as c:
        assert c.get("/api/users/me").json() == {"name": "carol", "role": "analyst"}
    with client_for(web_server, web_tokens["admin"]) as c:
        assert c.delete("/api/users/carol").status_code == 204
    with client_for(web_server, token) as c:
        assert c.get("/api/users/me").status_code == 401


def test_metric_series_and_breakdown_have_the_known_change(web_server, web_tokens):
    with client_for(web_server, web_tokens["viewer"]) as c:
        metrics = c.get("/api/metrics").json()
        assert "report_rate" in {m["name"] for m in metrics["data"]}
        assert c.get("/api/metrics/report_rate").json()["category"] == "content_quality"
        series = c.get("/api/metrics/report_rate/series", params={"slice": "region=JP"}).json()
        before = [p["value"] for p in series["data"] if p["date"] < str(SHIFT)]
        after = [p["value"] for p in series["data"] if p["date"] >= str(SHIFT)]
        assert series["scope"] == {"region": "JP"}
        assert sum(before) / len(before) == pytest.approx(0.02, abs=0.005)
        assert sum(after) / len(after) == pytest.approx(0.06, abs=0.01)
        top = c.get("/api/metrics/report_rate/breakdown", params={"by": "region"}).json()
        assert top["data"][0]["key"] == "JP" and top["count"] == 3
        assert c.get("/api/metrics/nope").json() == {"detail": "Metric not found"}
        bad = c.get("/api/metrics/report_rate/series", params={"slice": "colour=red"})
        assert bad.status_code == 404 and bad.json()["detail"].startswith("unknown dimension 'colour'")
        bad = c.get("/api/metrics/report_rate/breakdown", params={"by": "region", "slice": "region=JP"})
        assert bad.json() == {"detail": "cannot break down by 'region': the slice already fixes region=JP"}


def test_anomalies_and_health(web_server, web_tokens, seeded):
    with client_for(web_server, web_tokens["viewer"]) as c:
        anomalies = c.get("/api/anomalies", params={"metric": "impressions"}).json()
        assert {a["issue_id"] for a in anomalies["data"]} == {seeded["p1"]}
        assert anomalies["count"] == 4
        health = c.get("/api/health").json()
        assert health["overall"]["issues"] >= 4
        assert health["overall"]["time_to_detect_days"] == 0.0
        assert "diversity" in health["by_category"]


def test_openapi_lists_every_resource(web_server):
    with client_for(web_server) as c:
        spec = c.get("/openapi.json").json()
    tags = {op["tags"][0] for path in spec["paths"].values() for op in path.values()}
    assert tags == {"metrics", "issues", "anomalies", "health", "sql", "users"}
    assert "issues-transition_issue" in {op["operationId"] for p in spec["paths"].values() for op in p.values()}


def test_estimate_impact_of_a_fix(web_server, web_tokens, web_store):
    issue_id = create_issue(web_store, start_date=SHIFT, first_seen=SHIFT)
    with client_for(web_server, web_tokens["analyst"]) as c:
        no_fix = c.post(f"/api/issues/{issue_id}/impact", json={"estimator": "did"})
        assert no_fix.status_code == 400
        r = c.post(f"/api/issues/{issue_id}/transition", json={"status": "mitigating", "fix_date": "2026-02-19"})
        assert r.status_code == 200
        r = c.post(f"/api/issues/{issue_id}/impact", json={"estimator": "did"})
        assert r.status_code == 200, r.text
        impact = r.json()["impact"]
        # JP's report rate stays tripled after the "fix": the fix did nothing
        assert impact["verdict"] in ("no_effect", "worse") and impact["fix_date"] == "2026-02-19"
        assert {"region=US", "region=BR"} & set(impact["controls"])
        assert r.json()["history"][-1]["kind"] == "impact"
        assert c.get(f"/api/issues/{issue_id}/impact").json()["verdict"] == impact["verdict"]
    with client_for(web_server, web_tokens["viewer"]) as c:
        denied = c.post(f"/api/issues/{issue_id}/impact", json={})
        assert denied.status_code == 403
