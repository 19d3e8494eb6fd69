"""Workspace scope on receipts, notice opt-outs, approval requests, product subscriptions
and people: a `scope` column (SHARED, "", for every row written before), in the keys of
the tables keyed by person and leading the indexes of one person's reads.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 19:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

# Tables keyed by a person (and what): the scope leads the key.
KEYED = {
    "notice_opt_out": ["platform", "user_id"],
    "person": ["platform", "user_id"],
    "product_subscription": ["platform", "user_id", "sku"],
}
# Indexes of one person's reads: (table, name, columns without the scope).
PERSONAL = [
    ("receipt", "ix_receipt_user_at", ["platform", "user_id", "at"]),
    (
        "approval_request",
        "ix_approval_request_holder",
        ["requester_platform", "requester_id", "sku", "region"],
    ),
]


def _scope() -> sa.Column[str]:
    return sa.Column("scope", sa.String(length=120), nullable=False, server_default="")


def upgrade() -> None:
    for table, key in KEYED.items():
        with op.batch_alter_table(table, recreate="always") as batch:
            batch.add_column(_scope())
            batch.drop_constraint(f"pk_{table}", type_="primary")
            batch.create_primary_key(f"pk_{table}", ["scope", *key])
    for table, name, columns in PERSONAL:
        with op.batch_alter_table(table) as batch:
            batch.add_column(_scope())
        op.drop_index(name, table_name=table)
        op.create_index(name, table, ["scope", *columns])


def downgrade() -> None:
    for table, name, columns in PERSONAL:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("scope")
    for table, key in KEYED.items():
        # Back to one pool: a person kept in several workspaces keeps one row, the lowest
        # scope's (the shared pool's when it has one); a person known in one workspace only
        # keeps theirs, so nobody's opt-out or subscription is lost.
        same = " AND ".join(f"s.{c} = {table}.{c}" for c in key)
        op.execute(
            f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM {table} s "
            f"WHERE s.scope < {table}.scope AND {same})"
        )
        with op.batch_alter_table(table, recreate="always") as batch:
            batch.drop_constraint(f"pk_{table}", type_="primary")
            batch.create_primary_key(f"pk_{table}", key)
            batch.drop_column("scope")
