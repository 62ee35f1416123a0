"""Shared fixtures and factories for the store and issues tests: one store per backend (SQLite, PostgreSQL).

Test modules import what they use: `from store.storetests import store, anomaly, ...`. PostgreSQL tests get
a fresh schema each (dropped afterwards), so parallel runs and other suites never collide; they skip when no
server answers, except under CI (env CI set), where they fail instead.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ecoradar.detect.records import Anomaly
from ecoradar.metrics.model import Metric
from ecoradar.store import Base, open_store

PG_URL = os.environ.get("ECORADAR_TEST_PG_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
D0 = dt.date(2026, 2, 10)


@functools.cache
def pg_unreachable() -> str | None:
    """Why PostgreSQL cannot be used for tests, or None when it can."""
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # any failure to connect means: no server for these tests
        return f"PostgreSQL at {PG_URL} is unreachable ({type(exc).__name__}); set ECORADAR_TEST_PG_URL"
    return None


def require_pg() -> None:
    """Skip (locally) or fail (in CI) when PostgreSQL is not there."""
    reason = pg_unreachable()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must run the PostgreSQL tests)")
        pytest.skip(reason)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request, tmp_path):
    """A URL of an empty store: a SQLite file, or a fresh PostgreSQL schema (via search_path)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'eco.db'}"
        return
    require_pg()
    schema = f"eco_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def store(store_url):
    """An opened (migrated) store on each backend."""
    s = open_store(store_url)
    yield s
    s.close()


def catalog() -> dict[str, Metric]:
    """A small catalog: a share metric with its family variant, a ratio and a moderation metric."""
    metrics = [
        Metric(
            name="photo_share",
            description="Photo share of impressions",
            table="impressions",
            kind="share",
            entity="format",
            dimensions=["region", "format", "os"],
            category="traffic_balance",
            unit="share",
        ),
        Metric(
            name="photo_share__for_you",
            description="Photo share of For You impressions",
            table="impressions",
            kind="share",
            entity="format",
            dimensions=["region", "format", "os"],
            category="traffic_balance",
            unit="share",
        ),
        Metric(
            name="like_rate",
            description="Likes per impression",
            table="impressions",
            kind="ratio",
            numerator="sum(liked::int)",
            denominator="count(*)",
            dimensions=["region", "format", "os"],
            category="user_experience",
            owner="engagement",
        ),
        Metric(
            name="removal_rate",
            description="Share of moderation decisions that remove the video",
            table="moderation",
            kind="ratio",
            numerator="sum((decision='removed')::int)",
            denominator="count(*)",
            dimensions=["region", "policy"],
            category="moderation",
            unit="share",
        ),
    ]
    return {m.name: m for m in metrics}


def anomaly(
    scope: dict[str, str] | None = None,
    date: dt.date = D0,
    *,
    metric: str = "photo_share",
    observed: float = 0.08,
    expected: float = 0.12,
    start: dt.date | None = None,
    kind: str = "level_shift",
    score: float = 0.9,
    **extra,
) -> Anomaly:
    """An Anomaly record as detect/ would hand it over."""
    return Anomaly(
        metric=metric,
        scope=dict(scope or {}),
        date=date,
        observed=observed,
        expected=expected,
        lower=expected * 0.95,
        upper=expected * 1.05,
        score=score,
        p_value=1e-4,
        q_value=1e-3,
        direction="down" if observed < expected else "up",
        kind=kind,
        detector="test",
        start=start,
        extra=dict(extra),
    )


def day(n: int) -> dt.date:
    """D0 + n days."""
    return D0 + dt.timedelta(days=n)


def dump(s) -> dict[str, list[tuple]]:
    """Every row of every store table (volatile-free order), to compare whole stores."""
    out = {}
    with s.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            cols = [c for c in table.columns]
            rows = conn.execute(table.select().order_by(*table.primary_key.columns)).all()
            out[table.name] = [tuple(r) for r in rows] if cols else []
    return out
