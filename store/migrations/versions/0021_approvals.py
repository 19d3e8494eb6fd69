"""Approval requests for Restricted answers, their decisions, and their audit trail.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 15:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approval_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requester_platform", sa.String(length=16), nullable=False),
        sa.Column("requester_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("place", sa.String(length=300), nullable=False),
        sa.Column("segment", sa.String(length=32), nullable=True),
        sa.Column("verdict", sa.String(length=600), nullable=False),
        sa.Column("client", sa.String(length=200), nullable=False),
        sa.Column("deal_value", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("approver", sa.String(length=80), nullable=True),
        sa.Column("sent_to", sa.String(length=160), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_by_platform", sa.String(length=16), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submission_key", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_request")),
    )
    op.create_index(
        "uq_approval_request_submission_key", "approval_request", ["submission_key"], unique=True
    )
    op.create_index(
        "ix_approval_request_holder",
        "approval_request",
        ["requester_platform", "requester_id", "sku", "region"],
    )
    op.create_index("ix_approval_request_created_at", "approval_request", ["created_at"])
    op.create_table(
        "approval_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("actor_platform", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["approval_request.id"],
            name=op.f("fk_approval_event_request_id_approval_request"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_event")),
    )
    op.create_index("ix_approval_event_request_id", "approval_event", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_approval_event_request_id", table_name="approval_event")
    op.drop_table("approval_event")
    op.drop_index("ix_approval_request_created_at", table_name="approval_request")
    op.drop_index("ix_approval_request_holder", table_name="approval_request")
    op.drop_index("uq_approval_request_submission_key", table_name="approval_request")
    op.drop_table("approval_request")
