"""Webhooks against a real local HTTP receiver: retries with backoff, recorded deliveries, never fatal."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select
from webtests import create_issue, free_port, store_fixture

from ecoradar.errors import InputError
from ecoradar.issues import service
from ecoradar.notify import NotifyConfig, Webhook, load_config, notify_issues, notify_since, slack_message
from ecoradar.store import Issue, WebhookDelivery, utcnow

FIXTURES = (store_fixture,)  # pytest finds it here by name


class Receiver:
    """A local webhook receiver answering 500 for the first `failures` requests, then 200; it keeps every body."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.bodies: list[dict] = []
        self.times: list[float] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802  (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.bodies.append(body)
                receiver.times.append(time.monotonic())
                ok = len(receiver.bodies) > receiver.failures
                self.send_response(200 if ok else 500)
                self.end_headers()
                self.wfile.write(b"ok" if ok else b"boom")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def hook(url: str, **kw) -> NotifyConfig:
    return NotifyConfig(webhooks=[Webhook(url=url, backoff_s=kw.pop("backoff_s", 0.05), **kw)])


def test_fails_twice_then_succeeds_with_backoff(web_store):
    issue_id = create_issue(web_store, priority="P0")
    with Receiver(failures=2) as rx, web_store.session() as session:
        issue = session.get(Issue, issue_id)
        rows = notify_issues(session, [issue], "new_issue", hook(rx.url, retries=3, backoff_s=0.1))
    assert len(rx.bodies) == 3
    gaps = [b - a for a, b in zip(rx.times, rx.times[1:], strict=False)]
    assert gaps[0] >= 0.1 and gaps[1] >= 0.2  # exponential backoff: 0.1 s, then 0.2 s
    assert [(r.status, r.attempts, r.last_error) for r in rows] == [("delivered", 3, None)]
    body = rx.bodies[-1]
    assert body["text"].startswith("[P0] New issue ECO-")
    assert body["blocks"][0]["type"] == "section"
    with web_store.session() as session:
        stored = session.scalars(select(WebhookDelivery).where(WebhookDelivery.issue_id == issue_id)).all()
    assert [(d.status, d.attempts, d.event, d.url) for d in stored] == [("delivered", 3, "new_issue", rx.url)]
    assert stored[0].payload == body


def test_a_dead_receiver_is_recorded_and_never_raises(web_store):
    issue_id = create_issue(web_store, priority="P1")
    dead = f"http://127.0.0.1:{free_port()}/nobody"
    with web_store.session() as session:
        rows = notify_issues(session, [session.get(Issue, issue_id)], "new_issue", hook(dead, retries=2))
    assert [(r.status, r.attempts) for r in rows] == [("failed", 3)]
    assert "ConnectError" in rows[0].last_error
    with Receiver(failures=100) as rx, web_store.session() as session:
        rows = notify_issues(session, [session.get(Issue, issue_id)], "new_issue", hook(rx.url, retries=1))
    assert rows[0].status == "failed" and rows[0].last_error == "HTTP 500: boom" and len(rx.bodies) == 2


def test_client_errors_are_not_retried(web_store):
    issue_id = create_issue(web_store, priority="P1")
    with Receiver() as rx, web_store.session() as session:
        rx.server.RequestHandlerClass.do_POST = lambda self: (self.send_response(404), self.end_headers())
        rows = notify_issues(session, [session.get(Issue, issue_id)], "new_issue", hook(rx.url, retries=3))
    assert (rows[0].status, rows[0].attempts) == ("failed", 1)


def test_priority_event_filters_and_no_duplicates(web_store):
    p1 = create_issue(web_store, priority="P1")
    p2 = create_issue(web_store, priority="P2")
    with Receiver() as rx, web_store.session() as session:
        config = NotifyConfig(
            webhooks=[
                Webhook(url=rx.url, events=["new_issue"], min_priority="P1"),
                Webhook(url=rx.url + "?all", events=["regression"], min_priority="P3"),
            ]
        )
        issues = [session.get(Issue, p1), session.get(Issue, p2)]
        first = notify_issues(session, issues, "new_issue", config)
        again = notify_issues(session, issues, "new_issue", config)
    assert [(r.issue_id, r.url) for r in first] == [(p1, rx.url)]
    assert again == [] and len(rx.bodies) == 1


def test_regressions_notify_once_per_regression(web_store):
    issue_id = create_issue(web_store, priority="P2", status="resolved", substatus="recovered")
    started = utcnow()
    with Receiver() as rx, web_store.session() as session:
        issue = session.get(Issue, issue_id)
        service.mark_regressed(session, issue, actor="run", note="fired again")
        session.commit()
        config = hook(rx.url, min_priority="P2")
        rows = notify_since(session, started, config)
        assert notify_since(session, started, config) == []
    assert [(r.issue_id, r.event, r.status) for r in rows] == [(issue_id, "regression", "delivered")]
    assert rx.bodies[0]["text"].startswith("[P2] Regression ECO-")


def test_notify_since_picks_up_new_issues(web_store):
    started = utcnow()
    issue_id = create_issue(web_store, priority="P0")
    with Receiver() as rx, web_store.session() as session:
        rows = notify_since(session, started, hook(rx.url))
    assert [(r.issue_id, r.event) for r in rows] == [(issue_id, "new_issue")]


def test_no_webhooks_means_nothing_happens(web_store):
    issue_id = create_issue(web_store, priority="P0")
    with web_store.session() as session:
        assert notify_issues(session, [session.get(Issue, issue_id)], "new_issue", NotifyConfig()) == []
        with pytest.raises(ValueError, match="unknown event 'launch'"):
            notify_issues(session, [session.get(Issue, issue_id)], "launch", NotifyConfig())


def test_slack_message_names_the_issue():
    issue = {
        "priority": "P1",
        "short_id": "ECO-00A",
        "title": "Photo share down 34% in JP",
        "metric": "format_share",
        "scope": {"region": "JP", "format": "photo"},
        "category": "traffic_balance",
        "owner": None,
        "observed": 0.1,
        "expected": 0.15,
        "root_causes": [{"scope": {"region": "JP"}, "contribution": 0.8}],
    }
    msg = slack_message(issue, "new_issue", base_url="http://eco:8000/")
    assert msg["text"] == "[P1] New issue ECO-00A: Photo share down 34% in JP"
    assert "<http://eco:8000/issues/ECO-00A|" in msg["blocks"][0]["text"]["text"]
    fields = " ".join(f["text"] for f in msg["blocks"][1]["fields"])
    assert "region=JP, format=photo" in fields and "unassigned" in fields and "0.1 / 0.15" in fields
    assert msg["blocks"][2]["elements"][0]["text"] == "Root cause: region=JP (80%)"


def test_load_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_config() == NotifyConfig()
    (tmp_path / "notify.yaml").write_text("url: https://hooks.example/x\nmin_priority: P0\n")
    assert load_config().webhooks[0].min_priority == "P0"
    other = tmp_path / "other.yaml"
    other.write_text("webhooks:\n  - url: http://a/b\n    events: [regression]\n    retries: 1\n")
    monkeypatch.setenv("ECORADAR_NOTIFY", str(other))
    assert load_config().webhooks[0].events == ["regression"]
    other.write_text("webhooks:\n  - url: ftp://a\n")
    with pytest.raises(InputError, match=r"webhooks\.0\.url"):
        load_config()
    other.write_text("webhooks: [\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_config()
    with pytest.raises(InputError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
