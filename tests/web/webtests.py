"""Test support shared by tests/web, tests/report and tests/notify: a seeded mini world, an issue factory and
a real uvicorn server on a free port."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import uvicorn

from ecoradar.data.schema import DIMENSIONS, FORMATS, TABLES
from ecoradar.issues import service
from ecoradar.store import Issue, IssueActivity, IssueDay, Store, open_store
from ecoradar.web.auth import ROLES, add_user
from ecoradar.web.main import create_app
from ecoradar.web.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
START = dt.date(2026, 1, 1)
DAYS = 56
#: The mini world's one injected change: report_rate in region=JP triples from this day on.
SHIFT = dt.date(2026, 2, 12)
REGIONS = ("US", "BR", "JP")


def make_world(out: Path, *, seed: int = 7, impressions_per_day: int = 1500) -> Path:
    """Write a small, seeded data folder (impressions + a cube of catalog metrics) with one known change.

    The cube holds report_rate, impressions, format_share and top1pct_creator_share for the platform and each
    region / format slice; report_rate in JP is 3x higher from SHIFT on.
    """
    rng = np.random.default_rng(seed)
    for d in range(DAYS):
        day = START + dt.timedelta(days=d)
        n = impressions_per_day
        region = rng.choice(REGIONS, n)
        fmt = rng.choice(FORMATS, n, p=[0.6, 0.2, 0.15, 0.05])
        p_report = np.where((region == "JP") & (day >= SHIFT), 0.06, 0.02)
        cols = {
            "ts": np.full(n, np.datetime64(day, "us") + np.timedelta64(12, "h")),
            "user_id": rng.integers(0, 500, n),
            "video_id": rng.integers(0, 10**6, n),
            "creator_id": rng.zipf(1.6, n) % 2000,
            "region": region,
            "format": fmt,
            "category": rng.choice(["comedy", "food"], n),
            "surface": rng.choice(["for_you", "search"], n),
            "os": rng.choice(["ios", "android"], n),
            "app_version": np.full(n, "34.2.0"),
            "duration_ms": np.full(n, 10_000),
            "watch_ms": rng.integers(0, 10_000, n),
            "liked": rng.random(n) < 0.05,
            "shared": rng.random(n) < 0.01,
            "commented": rng.random(n) < 0.01,
            "followed": rng.random(n) < 0.01,
            "not_interested": rng.random(n) < 0.01,
            "reported": rng.random(n) < p_report,
        }
        table = pa.table(cols).cast(TABLES["impressions"])
        folder = out / "impressions" / f"date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, folder / "part-0.parquet")
        rows = []

        def add(metric, scope, num, den, rows=rows, day=day):
            value = num / den if den else num
            rows.append(
                {
                    "metric": metric,
                    "date": day,
                    **{k: scope.get(k) for k in DIMENSIONS},
                    "numerator": float(num),
                    "denominator": None if den is None else float(den),
                    "value": float(value),
                }
            )

        slices = [({}, np.ones(n, bool))]
        slices += [({"region": r}, region == r) for r in REGIONS]
        slices += [({"format": f}, fmt == f) for f in FORMATS]
        for scope, mask in slices:
            add("report_rate", scope, cols["reported"][mask].sum(), mask.sum())
            add("impressions", scope, mask.sum(), None)
        for f in FORMATS:
            add("format_share", {"format": f}, (fmt == f).sum(), n)
        counts = np.sort(np.bincount(cols["creator_id"]))[::-1]
        counts = counts[counts > 0]
        add("top1pct_creator_share", {}, counts[: max(1, int(np.ceil(len(counts) * 0.01)))].sum(), n)
        folder = out / "cube" / f"date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows), folder / "part-0.parquet")
    return out


def create_issue(store: Store, **overrides) -> int:
    """Insert an issue (as the daily run would) and return its id; fields default to the mini world's change."""
    fields = dict(
        fingerprint=f"fp-{time.perf_counter_ns()}",
        fingerprint_config="fingerprint:v1",
        title="Report rate up 200% in JP since 2026-02-12",
        category="content_quality",
        kind="level_shift",
        direction="up",
        severity=0.8,
        priority="P1",
        status="new",
        substatus="ongoing",
        owner="trust-safety",
        metric="report_rate",
        scope={"region": "JP"},
        root_causes=[{"scope": {"region": "JP"}, "contribution": 0.93, "observed": 0.06, "expected": 0.02}],
        related_events=[
            {
                "ts": "2026-02-12T00:00:00",
                "kind": "policy_change",
                "name": "stricter reporting in JP",
                "scope": {"region": "JP"},
                "score": 0.9,
            }
        ],
        mix_rate=[
            {
                "dimension": "format",
                "total_change": 0.04,
                "mix_effect": 0.002,
                "rate_effect": 0.038,
                "label": "rate_change",
            }
        ],
        start_date=SHIFT,
        first_seen=SHIFT,
        last_seen=SHIFT + dt.timedelta(days=3),
        times_seen=4,
        observed=0.06,
        expected=0.02,
        deviation=2.0,
        exposure=0.33,
    )
    fields.update(overrides)
    with store.transaction() as session:
        issue = Issue(**fields)
        session.add(issue)
        session.flush()
        issue.short_id = service.short_id(issue.id)
        for i in range(fields["times_seen"]):
            session.add(
                IssueDay(
                    issue_id=issue.id,
                    date=fields["first_seen"] + dt.timedelta(days=i),
                    observed=fields["observed"],
                    expected=fields["expected"],
                    score=0.9,
                    q_value=0.001,
                )
            )
        session.add(IssueActivity(issue_id=issue.id, actor="run", kind="created", to_value=fields["status"]))
        return issue.id


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """uvicorn serving an app in a background thread on 127.0.0.1 (a real HTTP server for tests)."""

    def __init__(self, app, *, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


# ------------------------------------------------------------------------------------------------ fixtures
# Test modules import the *_fixture functions (pytest registers them under their `name`); no conftest.py here,
# so tests/conftest.py stays the only conftest above these modules.
@pytest.fixture(scope="session", name="web_world")
def world_fixture(tmp_path_factory) -> Path:
    """The seeded mini world (impressions + cube), built once per session."""
    return make_world(tmp_path_factory.mktemp("web") / "world")


@pytest.fixture(scope="module", name="web_store")
def store_fixture(tmp_path_factory) -> Iterator[Store]:
    """A fresh migrated SQLite store per test module."""
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('store') / 'eco.db'}")
    yield store
    store.close()


@pytest.fixture(scope="module", name="web_tokens")
def tokens_fixture(web_store) -> dict[str, str]:
    """One user per role: role -> token."""
    tokens = {}
    with web_store.transaction() as session:
        for role in ROLES:
            _, tokens[role] = add_user(session, name=f"{role}-user", role=role)
    return tokens


@pytest.fixture(scope="module", name="web_server")
def server_fixture(web_world, web_store, web_tokens) -> Iterator[LiveServer]:
    """The app on a real uvicorn server over the mini world and the module's store."""
    settings = Settings(data_dir=web_world, db_url=web_store.url, sql_timeout_s=2.0, sql_row_limit=500)
    with LiveServer(create_app(settings, store=web_store)) as server:
        yield server


def client_for(server: LiveServer, token: str | None = None) -> httpx.Client:
    """An HTTP client against the live server, with a bearer token when given."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server.url, headers=headers, timeout=30)
