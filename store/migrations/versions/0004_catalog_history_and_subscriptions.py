"""Catalog history, verification, product subscriptions and lookups that found nothing.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 14:37:26.170191
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("change_set", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_change")),
    )
    with op.batch_alter_table("catalog_change", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_catalog_change_change_set"), ["change_set"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_catalog_change_sku"), ["sku"], unique=False)

    op.create_table(
        "lookup_miss",
        sa.Column("query", sa.String(length=200), nullable=False),
        sa.Column("region_code", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("query", "region_code", "day", name=op.f("pk_lookup_miss")),
    )
    op.create_table(
        "product_subscription",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform", "user_id", "sku", name=op.f("pk_product_subscription")),
    )
    with op.batch_alter_table("product_subscription", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_subscription_sku"), ["sku"], unique=False)

    op.create_table(
        "product_verification",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verified_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("sku", name=op.f("pk_product_verification")),
    )


def downgrade() -> None:
    op.drop_table("product_verification")
    with op.batch_alter_table("product_subscription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_subscription_sku"))

    op.drop_table("product_subscription")
    op.drop_table("lookup_miss")
    with op.batch_alter_table("catalog_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_change_sku"))
        batch_op.drop_index(batch_op.f("ix_catalog_change_change_set"))

    op.drop_table("catalog_change")
