"""Open the issue store: resolve its URL, connect, migrate to the current schema, hand out sessions."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ecoradar.errors import InputError

#: Where the store lives when neither --db nor $ECORADAR_DB says otherwise (relative to the working folder).
DEFAULT_URL = "sqlite:///ecoradar.db"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_LOCK_KEY = 0x45434F  # PostgreSQL advisory lock held while migrating ("ECO")


def resolve_url(url: str | None = None) -> str:
    """The store URL: `url`, else $ECORADAR_DB, else ./ecoradar.db; a bare path means a SQLite file."""
    url = url or os.environ.get("ECORADAR_DB") or DEFAULT_URL
    return url if "://" in url else f"sqlite:///{url}"


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    """The schema revision this version of ecoradar writes."""
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(parsed, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        connect_args = {"connect_timeout": 5} if parsed.get_backend_name() == "postgresql" else {}
        return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise InputError(
            f"bad database URL {url!r}: {exc}; e.g. sqlite:///ecoradar.db or postgresql+psycopg://user@host:5432/db"
        ) from None


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the store's schema to `revision` (no-op when it is there already), one process at a time.

    PostgreSQL migrates under an advisory lock; SQLite inside BEGIN IMMEDIATE (pysqlite would otherwise run each
    CREATE TABLE in autocommit) with foreign keys off, so a table rebuilt by a migration cascades nothing.
    """
    script = ScriptDirectory.from_config(_alembic_config())
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        try:
            _upgrade(conn, script, revision, engine.url.render_as_string(hide_password=True))
            conn.commit()
        finally:
            conn.rollback()
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()


def _upgrade(conn, script: ScriptDirectory, revision: str, shown: str) -> None:
    current = MigrationContext.configure(conn).get_current_revision()
    known = {rev.revision for rev in script.walk_revisions()}
    if current is not None and current not in known:
        raise InputError(
            f"the store at {shown} has schema revision {current!r}, written by a newer ecoradar (this one knows up "
            f"to {script.get_current_head()!r}); upgrade ecoradar"
        )
    target = script.get_current_head() if revision == "head" else revision
    if current == target:
        return
    cfg = _alembic_config()
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)


@dataclass
class Store:
    """A migrated issue store: an engine and the sessions on it."""

    url: str
    engine: Engine
    sessionmaker: sessionmaker[Session]

    def session(self) -> Session:
        """A new session (use as `with store.session() as s:`; commit explicitly or via the service layer)."""
        return self.sessionmaker()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on any error."""
        with self.sessionmaker.begin() as session:
            yield session

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()


def open_store(url: str | None = None, *, revision: str = "head") -> Store:
    """Connect to the store at `url` (see resolve_url) and migrate it to `revision`.

    Args:
        url (str | None): SQLAlchemy URL or SQLite file path; None reads $ECORADAR_DB, then ./ecoradar.db.
        revision (str): schema revision to migrate to; only tests ask for anything but "head".

    Returns:
        Store: the engine and a session factory (expire_on_commit=False, so objects stay readable).

    Raises:
        InputError: the URL is malformed, the server cannot be reached, or the store is from a newer ecoradar.
    """
    url = resolve_url(url)
    engine = _engine(url)
    shown = engine.url.render_as_string(hide_password=True)
    try:
        migrate(engine, revision)
    except OperationalError as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc).splitlines()[0]
        raise InputError(f"cannot open the store at {shown}: {reason}") from None
    return Store(url=url, engine=engine, sessionmaker=sessionmaker(engine, expire_on_commit=False))
