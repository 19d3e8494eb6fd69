"""Workspace scope on feedback: a `scope` column on feedback items and on their word index
(SHARED, "", for every row written before), leading every index the feedback reads use, and
in the submission key's unique index (a key is unique within its workspace).

Supporters, similar links and the audit trail are scoped through their item: every read of
them names items found in scope.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04 18:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

# (table, index, its columns without the scope, unique): each gains the scope in front. The
# item indexes on region, creation and decision time alone are read by nothing any more
# (the coverage index serves the report) and stay as they are.
INDEXES = [
    ("feedback_item", "uq_feedback_item_submission_key", ["submission_key"], True),
    ("feedback_item", "ix_feedback_item_queue", ["status", "created_at", "id"], False),
    ("feedback_item", "ix_feedback_item_submitter", ["submitter_id", "submitter_platform"], False),
    (
        "feedback_item",
        "ix_feedback_item_coverage",
        ["created_at", "region_code", "decided_at", "status"],
        False,
    ),
    (
        "feedback_item",
        "ix_feedback_item_demand",
        [
            "status",
            "product_sku",
            "created_at",
            "region_code",
            "id",
            "client_key",
            "deal_currency",
            "deal_value",
            "kind",
        ],
        False,
    ),
    (
        "feedback_token",
        "ix_feedback_token_token_product",
        ["token", "product_sku", "item_id"],
        False,
    ),
]
TABLES = ("feedback_item", "feedback_token")


def _scope() -> sa.Column[str]:
    return sa.Column("scope", sa.String(length=120), nullable=False, server_default="")


def upgrade() -> None:
    # Plain ADD COLUMNs: a SQLite table rebuild would trip over the rows that refer to items.
    for table in TABLES:
        op.add_column(table, _scope())
    for table, name, columns, unique in INDEXES:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, ["scope", *columns], unique=unique)


def downgrade() -> None:
    # Back to one pool, every item kept: a submission key used in two workspaces stays on
    # the lowest scope's item only (a key only finds a replayed form's item again).
    op.execute(
        "UPDATE feedback_item SET submission_key = NULL WHERE submission_key IS NOT NULL"
        " AND EXISTS (SELECT 1 FROM feedback_item s WHERE s.submission_key ="
        " feedback_item.submission_key AND s.scope < feedback_item.scope)"
    )
    for table, name, columns, unique in INDEXES:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns, unique=unique)
    for table in TABLES:
        op.drop_column(table, "scope")
