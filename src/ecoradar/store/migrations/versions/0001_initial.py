"""Initial store: issues, their days, activity and comments, suppressions, runs, users, webhook deliveries.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "issues",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("short_id", sa.String(16), unique=True),
        sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
        sa.Column("fingerprint_config", sa.String(32), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("severity", sa.Float, nullable=False),
        sa.Column("priority", sa.String(2), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("substatus", sa.String(24)),
        sa.Column("owner", sa.String(128)),
        sa.Column("metric", sa.String(128), nullable=False),
        sa.Column("scope", sa.JSON, nullable=False),
        sa.Column("root_causes", sa.JSON, nullable=False),
        sa.Column("related_events", sa.JSON, nullable=False),
        sa.Column("mix_rate", sa.JSON, nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("first_seen", sa.Date, nullable=False),
        sa.Column("last_seen", sa.Date, nullable=False),
        sa.Column("times_seen", sa.Integer, nullable=False),
        sa.Column("observed", sa.Float),
        sa.Column("expected", sa.Float),
        sa.Column("deviation", sa.Float),
        sa.Column("exposure", sa.Float),
        sa.Column("impact", sa.JSON),
        sa.Column("fix_date", sa.Date),
        sa.Column("resolved_at", sa.DateTime),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_issues_status_last_seen", "issues", ["status", "last_seen", "id"])
    op.create_index("ix_issues_category_status", "issues", ["category", "status"])
    op.create_index("ix_issues_priority_status", "issues", ["priority", "status"])
    op.create_index("ix_issues_owner_status", "issues", ["owner", "status"])
    op.create_index("ix_issues_metric_last_seen", "issues", ["metric", "last_seen"])
    op.create_index("ix_issues_first_seen", "issues", ["first_seen"])

    op.create_table(
        "issue_days",
        sa.Column("issue_id", sa.Integer, sa.ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("date", sa.Date, primary_key=True),
        sa.Column("observed", sa.Float),
        sa.Column("expected", sa.Float),
        sa.Column("score", sa.Float),
        sa.Column("q_value", sa.Float),
    )
    op.create_table(
        "issue_activity",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("issue_id", sa.Integer, sa.ForeignKey("issues.id", ondelete="CASCADE"), nullable=False),
        sa.Column("ts", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("from_value", sa.String(128)),
        sa.Column("to_value", sa.String(128)),
        sa.Column("note", sa.Text),
    )
    op.create_index("ix_issue_activity_issue_ts", "issue_activity", ["issue_id", "ts"])
    op.create_index("ix_issue_activity_kind", "issue_activity", ["kind"])
    op.create_table(
        "comments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("issue_id", sa.Integer, sa.ForeignKey("issues.id", ondelete="CASCADE"), nullable=False),
        sa.Column("ts", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_index("ix_comments_issue_id", "comments", ["issue_id"])
    op.create_table(
        "suppressions",
        sa.Column("fingerprint", sa.String(64), primary_key=True),
        sa.Column("reason", sa.Text),
        sa.Column("actor", sa.String(128)),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("date", sa.Date, primary_key=True),
        sa.Column("started", sa.DateTime, nullable=False),
        sa.Column("finished", sa.DateTime),
        sa.Column("counts", sa.JSON, nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(128), unique=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("issue_id", sa.Integer, sa.ForeignKey("issues.id", ondelete="SET NULL")),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("ts", sa.DateTime, nullable=False),
    )
    op.create_index("ix_webhook_deliveries_issue_id", "webhook_deliveries", ["issue_id"])
    op.create_index("ix_webhook_deliveries_status_ts", "webhook_deliveries", ["status", "ts"])


def downgrade() -> None:
    for table in ("webhook_deliveries", "users", "runs", "suppressions", "comments", "issue_activity", "issue_days"):
        op.drop_table(table)
    op.drop_table("issues")
