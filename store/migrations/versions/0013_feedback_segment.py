"""Feedback items may name the customer segment they are about (a catalog segment's code).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 17:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: a SQLite table rebuild would trip over the rows that refer to items.
    op.add_column("feedback_item", sa.Column("segment_code", sa.String(length=32), nullable=True))


def downgrade() -> None:
    op.drop_column("feedback_item", "segment_code")
