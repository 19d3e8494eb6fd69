"""Kept copies of briefing decks (briefing_deck): the bytes, name, content type and size of
the file a PM attached to a briefing, one per briefing, deleted with it.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 15:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "briefing_deck",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("briefing_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["briefing_id"],
            ["briefing.id"],
            name=op.f("fk_briefing_deck_briefing_id_briefing"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_briefing_deck")),
        sa.UniqueConstraint("briefing_id", name=op.f("uq_briefing_deck_briefing_id")),
    )


def downgrade() -> None:
    op.drop_table("briefing_deck")
