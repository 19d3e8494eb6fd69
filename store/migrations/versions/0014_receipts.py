"""Receipts (every verdict shown, to whom and when) and who turned change notices off.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 17:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "receipt",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("segment", sa.String(length=32), nullable=True),
        sa.Column("verdict", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("band", sa.String(length=200), nullable=False),
        sa.Column("catalog_version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipt")),
    )
    # Who was told what about a product in a market, within a window: the change notices.
    op.create_index("ix_receipt_sku_region_at", "receipt", ["sku", "region", "at"])
    op.create_index("ix_receipt_at", "receipt", ["at"])  # export and purge by time
    op.create_index("ix_receipt_user_at", "receipt", ["platform", "user_id", "at"])
    op.create_table(
        "notice_opt_out",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform", "user_id", name=op.f("pk_notice_opt_out")),
    )


def downgrade() -> None:
    op.drop_table("notice_opt_out")
    op.drop_index("ix_receipt_user_at", table_name="receipt")
    op.drop_index("ix_receipt_at", table_name="receipt")
    op.drop_index("ix_receipt_sku_region_at", table_name="receipt")
    op.drop_table("receipt")
