"""Outbox claims carry a token and a lane; rate-limit pauses are shared by every worker.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))
        # 0 interactive, 1 bulk: rows written before lanes existed wait as bulk.
        batch_op.add_column(
            sa.Column("lane", sa.SmallInteger(), nullable=False, server_default="1")
        )
        batch_op.create_index("ix_outbox_due", ["status", "lane", "next_attempt_at"])
    op.create_table(
        "outbox_pause",
        sa.Column("scope", sa.String(length=255), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_outbox_pause")),
    )


def downgrade() -> None:
    op.drop_table("outbox_pause")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_due")
        batch_op.drop_column("lane")
        batch_op.drop_column("claim_token")
