"""The words of every open feedback item, indexed (feedback_token): the duplicate check and
merge targets look candidates up by word instead of scoring every open item. Filled here
for the open items already stored, with the matcher's own tokenisation.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 17:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.matching import similarity_tokens

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

BATCH = 1000  # items read (and their words written) at a time: memory stays flat
OPEN = ("new", "now", "later")


def upgrade() -> None:
    op.create_table(
        "feedback_token",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("product_sku", sa.String(length=64), nullable=True),
        sa.Column("words", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["feedback_item.id"],
            name=op.f("fk_feedback_token_item_id_feedback_item"),
        ),
        sa.PrimaryKeyConstraint("item_id", "token", name=op.f("pk_feedback_token")),
    )
    op.create_index(
        "ix_feedback_token_token_product",
        "feedback_token",
        ["token", "product_sku", "item_id"],
    )
    bind = op.get_bind()
    items = sa.table(
        "feedback_item",
        sa.column("id", sa.Integer),
        sa.column("status", sa.String),
        sa.column("product_sku", sa.String),
        sa.column("title", sa.String),
        sa.column("details", sa.Text),
    )
    tokens = sa.table(
        "feedback_token",
        sa.column("item_id", sa.Integer),
        sa.column("token", sa.String),
        sa.column("product_sku", sa.String),
        sa.column("words", sa.Integer),
    )
    after = 0
    while True:  # keyset pages: no OFFSET scans, no parameter list that grows with the data
        rows = list(
            bind.execute(
                sa.select(items.c.id, items.c.product_sku, items.c.title, items.c.details)
                .where(items.c.status.in_(OPEN), items.c.id > after)
                .order_by(items.c.id)
                .limit(BATCH)
            )
        )
        if not rows:
            break
        values = []
        for r in rows:
            words = similarity_tokens(f"{r.title} {r.details}")
            values += [
                {"item_id": r.id, "token": t, "product_sku": r.product_sku, "words": len(words)}
                for t in words
            ]
        if values:
            bind.execute(tokens.insert(), values)
        after = rows[-1].id


def downgrade() -> None:
    op.drop_index("ix_feedback_token_token_product", table_name="feedback_token")
    op.drop_table("feedback_token")
