"""The store: migrations on open, models equal to migrations, older stores upgrade, bad URLs are one line."""

from __future__ import annotations

import multiprocessing

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from ecoradar.errors import InputError
from ecoradar.store import Base, head_revision, open_store, resolve_url
from store.storetests import store, store_url  # noqa: F401  (fixtures)

TABLES = {
    "issues",
    "issue_days",
    "issue_activity",
    "comments",
    "suppressions",
    "runs",
    "users",
    "webhook_deliveries",
    "alembic_version",
}


def test_open_creates_every_table_at_head(store):  # noqa: F811
    with store.engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) >= TABLES
        assert MigrationContext.configure(conn).get_current_revision() == head_revision()


def test_models_match_the_migrations(store):  # noqa: F811
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_reopening_is_a_no_op(store_url):  # noqa: F811
    first = open_store(store_url)
    with first.engine.begin() as conn:
        conn.execute(text("INSERT INTO users (name, role, created_at) VALUES ('ann', 'admin', CURRENT_TIMESTAMP)"))
    first.close()
    again = open_store(store_url)
    with again.engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM users")).scalars().all() == ["ann"]
    again.close()


def test_store_from_an_older_version_migrates(store_url):  # noqa: F811
    old = open_store(store_url, revision="0001")
    with old.engine.begin() as conn:
        assert "fingerprint_hint" not in {c["name"] for c in inspect(conn).get_columns("issues")}
        conn.execute(
            text(
                "INSERT INTO issues (fingerprint, fingerprint_config, title, category, kind, direction, severity, "
                "priority, status, metric, scope, root_causes, related_events, mix_rate, start_date, first_seen, "
                "last_seen, times_seen, version, created_at, updated_at) VALUES ('fp1', 'fingerprint:v1', 't', "
                "'supply', 'dip', 'down', 0.1, 'P1', 'new', 'm', '{}', '[]', '[]', '[]', '2026-02-10', "
                "'2026-02-10', '2026-02-10', 1, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(text("INSERT INTO issue_days (issue_id, date, observed) SELECT id, '2026-02-10', 0.5 FROM issues"))
    old.close()
    new = open_store(store_url)
    with new.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head_revision()
        assert conn.execute(text("SELECT fingerprint, fingerprint_hint FROM issues")).all() == [("fp1", None)]
        assert conn.execute(text("SELECT observed FROM issue_days")).scalars().all() == [0.5]  # nothing cascaded
    new.close()


def test_store_from_a_newer_version_is_refused(store_url):  # noqa: F811
    s = open_store(store_url)
    with s.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    s.close()
    with pytest.raises(InputError, match=r"revision '9999', written by a newer ecoradar"):
        open_store(store_url)


def test_unreachable_server_is_one_clear_line():
    with pytest.raises(InputError) as info:
        open_store("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    message = str(info.value)
    assert message.startswith("cannot open the store at postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    assert "\n" not in message


@pytest.mark.parametrize("url", ["nosuchdriver://x/y", "postgresql+nosuchdbapi://h/d"])
def test_malformed_url_names_the_url(url):
    with pytest.raises(InputError, match="bad database URL"):
        open_store(url)


def test_url_resolution(monkeypatch):
    monkeypatch.delenv("ECORADAR_DB", raising=False)
    assert resolve_url() == "sqlite:///ecoradar.db"
    assert resolve_url("some/file.db") == "sqlite:///some/file.db"
    monkeypatch.setenv("ECORADAR_DB", "postgresql+psycopg://u@h/d")
    assert resolve_url() == "postgresql+psycopg://u@h/d"
    assert resolve_url("sqlite:///x.db") == "sqlite:///x.db"


def _open_and_close(url: str) -> None:
    open_store(url).close()


def test_processes_opening_a_new_store_at_once_all_succeed(store_url):  # noqa: F811
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_open_and_close, args=(store_url,)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    s = open_store(store_url)
    with s.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head_revision()
    s.close()
