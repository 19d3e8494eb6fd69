"""Conversation references for Teams proactive messages (DMs, the triage channel).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 14:29:48.663767
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_ref",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("reference", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_conversation_ref")),
    )


def downgrade() -> None:
    op.drop_table("conversation_ref")
