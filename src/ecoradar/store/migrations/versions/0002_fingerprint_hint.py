"""Keep the grouping hint (what contributed to a fingerprint) on each issue.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("issues") as batch:
        batch.add_column(sa.Column("fingerprint_hint", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("issues") as batch:
        batch.drop_column("fingerprint_hint")
