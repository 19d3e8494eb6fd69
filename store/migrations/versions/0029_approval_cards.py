"""Where each approval request's card was posted (approval_card), keyed by the request's
workspace scope, so that a decision refreshes the card in place.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-04 18:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approval_card",
        sa.Column("scope", sa.String(length=120), nullable=False, server_default=""),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=160), nullable=False),
        sa.Column("message", sa.String(length=200), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["approval_request.id"],
            name=op.f("fk_approval_card_request_id_approval_request"),
        ),
        sa.PrimaryKeyConstraint(
            "scope", "request_id", "platform", "channel", "message", name=op.f("pk_approval_card")
        ),
    )


def downgrade() -> None:
    # Only where cards were posted, for refreshing them: the requests and their decisions
    # are untouched (a card posted before the upgrade back is simply not refreshed).
    op.drop_table("approval_card")
