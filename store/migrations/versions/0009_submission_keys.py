"""Feedback items and briefings remember the form submission that made them (unique), so a
replayed or double-clicked submission makes one row.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 14:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = ("feedback_item", "briefing")


def upgrade() -> None:
    # A plain ADD COLUMN and a unique index: no table rebuild on SQLite, which would trip
    # over the rows that refer to feedback items.
    for table in TABLES:
        op.add_column(table, sa.Column("submission_key", sa.String(length=64), nullable=True))
        op.create_index(f"uq_{table}_submission_key", table, ["submission_key"], unique=True)


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"uq_{table}_submission_key", table_name=table)
        op.drop_column(table, "submission_key")
