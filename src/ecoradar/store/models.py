"""SQLAlchemy 2 tables of the issue store; the Alembic migrations under migrations/ create exactly these."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    """Naive UTC now: both SQLite and PostgreSQL store our timestamps as UTC without a zone."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    """Declarative base of every store table."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Issue(Base):
    """Aggregated anomalies that are one problem: grouped by fingerprint, owned, worked on and resolved."""

    __tablename__ = "issues"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    short_id: Mapped[str | None] = mapped_column(String(16), unique=True)
    """`ECO-` + Crockford base32 of the id, the handle people type."""
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    fingerprint_config: Mapped[str] = mapped_column(String(32))
    """Id of the grouping config that computed the fingerprint (e.g. 'fingerprint:v1'); old issues keep theirs."""
    fingerprint_hint: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """What contributed to the fingerprint and what did not (migration 0002)."""
    title: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(8))
    severity: Mapped[float] = mapped_column(Float, default=0.0)
    priority: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(24))
    substatus: Mapped[str | None] = mapped_column(String(24))
    owner: Mapped[str | None] = mapped_column(String(128))
    metric: Mapped[str] = mapped_column(String(128))
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    root_causes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    related_events: Mapped[list[Any]] = mapped_column(JSON, default=list)
    mix_rate: Mapped[list[Any]] = mapped_column(JSON, default=list)
    start_date: Mapped[dt.date] = mapped_column(Date)
    """When the change began (the detector's change start when it knows it, else first_seen)."""
    first_seen: Mapped[dt.date] = mapped_column(Date)
    last_seen: Mapped[dt.date] = mapped_column(Date)
    times_seen: Mapped[int] = mapped_column(Integer, default=0)
    observed: Mapped[float | None] = mapped_column(Float)
    expected: Mapped[float | None] = mapped_column(Float)
    deviation: Mapped[float | None] = mapped_column(Float)
    """Relative deviation (observed - expected) / |expected| on the strongest day."""
    exposure: Mapped[float | None] = mapped_column(Float)
    """Share of the platform's denominator (impressions, uploads, decisions) inside the issue's scope."""
    impact: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The last causal impact estimate (ecoradar.impact) after a fix."""
    fix_date: Mapped[dt.date | None] = mapped_column(Date)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    days: Mapped[list[IssueDay]] = relationship(
        back_populates="issue", order_by="IssueDay.date", cascade="all, delete-orphan"
    )
    activities: Mapped[list[IssueActivity]] = relationship(
        back_populates="issue", order_by="(IssueActivity.ts, IssueActivity.id)", cascade="all, delete-orphan"
    )
    comments: Mapped[list[Comment]] = relationship(
        back_populates="issue", order_by="(Comment.ts, Comment.id)", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_issues_status_last_seen", "status", "last_seen", "id"),
        Index("ix_issues_category_status", "category", "status"),
        Index("ix_issues_priority_status", "priority", "status"),
        Index("ix_issues_owner_status", "owner", "status"),
        Index("ix_issues_metric_last_seen", "metric", "last_seen"),
        Index("ix_issues_first_seen", "first_seen"),
    )


class IssueDay(Base):
    """One day on which an issue's anomaly fired: the daily points behind its chart."""

    __tablename__ = "issue_days"

    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    observed: Mapped[float | None] = mapped_column(Float)
    expected: Mapped[float | None] = mapped_column(Float)
    score: Mapped[float | None] = mapped_column(Float)
    q_value: Mapped[float | None] = mapped_column(Float)

    issue: Mapped[Issue] = relationship(back_populates="days")


class IssueActivity(Base):
    """One change in an issue's history: who did what, when, from which value to which."""

    __tablename__ = "issue_activity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    ts: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    """status_change, assign, comment, regression, recovered, ongoing, priority_change, impact, created."""
    from_value: Mapped[str | None] = mapped_column(String(128))
    to_value: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)

    issue: Mapped[Issue] = relationship(back_populates="activities")

    __table_args__ = (Index("ix_issue_activity_issue_ts", "issue_id", "ts"), Index("ix_issue_activity_kind", "kind"))


class Comment(Base):
    """A note a person left on an issue (also mirrored as an activity)."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), index=True)
    ts: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)

    issue: Mapped[Issue] = relationship(back_populates="comments")


class Suppression(Base):
    """A fingerprint people marked as a false positive: its anomalies open no issue."""

    __tablename__ = "suppressions"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Run(Base):
    """A day the daily job ingested, written in the same transaction as its issues (idempotence)."""

    __tablename__ = "runs"

    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    started: Mapped[dt.datetime] = mapped_column(DateTime)
    finished: Mapped[dt.datetime | None] = mapped_column(DateTime)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class User(Base):
    """A person or service with an API token; role viewer, analyst or admin (auth lives in web/)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str | None] = mapped_column(String(128), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class WebhookDelivery(Base):
    """One attempt-tracked notification sent to a webhook (built by notify/ and web/)."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    event: Mapped[str] = mapped_column(String(64))
    issue_id: Mapped[int | None] = mapped_column(ForeignKey("issues.id", ondelete="SET NULL"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    last_error: Mapped[str | None] = mapped_column(Text)
    ts: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (Index("ix_webhook_deliveries_status_ts", "status", "ts"),)


__all__ = [
    "Base",
    "Comment",
    "Issue",
    "IssueActivity",
    "IssueDay",
    "Run",
    "Suppression",
    "User",
    "WebhookDelivery",
    "utcnow",
]
