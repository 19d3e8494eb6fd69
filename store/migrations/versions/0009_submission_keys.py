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
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("submission_key", sa.String(length=64), nullable=True))
            batch_op.create_unique_constraint(f"uq_{table}_submission_key", ["submission_key"])


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"uq_{table}_submission_key", type_="unique")
            batch_op.drop_column("submission_key")
