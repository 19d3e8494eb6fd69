"""Feedback items record the platform of whoever decided them (a Teams PM may decide a
Slack item); existing rows take it from the decision's audit event. People's display names
are kept per platform, to name someone from the other platform.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 14:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: a SQLite table rebuild would trip over the rows that refer to items.
    op.add_column(
        "feedback_item", sa.Column("decided_by_platform", sa.String(length=16), nullable=True)
    )
    # The last event by the decider on that item says which platform they acted from.
    op.execute(
        """
        UPDATE feedback_item SET decided_by_platform = COALESCE(
            (SELECT e.actor_platform FROM feedback_event e
              WHERE e.item_id = feedback_item.id AND e.actor_id = feedback_item.decided_by
              ORDER BY e.id DESC LIMIT 1),
            submitter_platform)
        WHERE decided_by IS NOT NULL
        """
    )
    op.create_table(
        "person",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform", "user_id", name=op.f("pk_person")),
    )


def downgrade() -> None:
    op.drop_table("person")
    op.drop_column("feedback_item", "decided_by_platform")
