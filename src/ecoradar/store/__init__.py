"""The issue store: SQLAlchemy 2 tables, migrations run on open, SQLite by default and PostgreSQL by URL."""

from ecoradar.store.engine import DEFAULT_URL, Store, head_revision, migrate, open_store, resolve_url
from ecoradar.store.models import (
    Base,
    Comment,
    Issue,
    IssueActivity,
    IssueDay,
    Run,
    Suppression,
    User,
    WebhookDelivery,
    utcnow,
)

__all__ = [
    "DEFAULT_URL",
    "Base",
    "Comment",
    "Issue",
    "IssueActivity",
    "IssueDay",
    "Run",
    "Store",
    "Suppression",
    "User",
    "WebhookDelivery",
    "head_revision",
    "migrate",
    "open_store",
    "resolve_url",
    "utcnow",
]
