"""Similar open items kept with each feedback item (feedback_similar), found once when it
is submitted: a triage card reads them instead of running the duplicate check again. Items
stored before this start with none; later items that find them add themselves.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 18:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback_similar",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("similar_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["feedback_item.id"],
            name=op.f("fk_feedback_similar_item_id_feedback_item"),
        ),
        sa.ForeignKeyConstraint(
            ["similar_id"],
            ["feedback_item.id"],
            name=op.f("fk_feedback_similar_similar_id_feedback_item"),
        ),
        sa.PrimaryKeyConstraint("item_id", "similar_id", name=op.f("pk_feedback_similar")),
    )


def downgrade() -> None:
    op.drop_table("feedback_similar")
