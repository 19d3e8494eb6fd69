"""A covering index for the coverage report: its period filter reads created_at, region_code,
decided_at and status from the index alone instead of fetching every matching row.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 18:45:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

NAME, TABLE = "ix_feedback_item_coverage", "feedback_item"
# created_at first: the report's period is a range on it; the rest is what the aggregates read.
COLUMNS = ["created_at", "region_code", "decided_at", "status"]


def upgrade() -> None:
    op.create_index(NAME, TABLE, COLUMNS)


def downgrade() -> None:
    op.drop_index(NAME, table_name=TABLE)
