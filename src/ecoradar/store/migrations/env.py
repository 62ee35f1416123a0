"""Alembic environment: runs on the connection `ecoradar.store.engine.open_store` hands over."""

from __future__ import annotations

from alembic import context

from ecoradar.store.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things in place
)
with context.begin_transaction():
    context.run_migrations()
