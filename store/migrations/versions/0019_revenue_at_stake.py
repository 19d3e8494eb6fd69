"""Revenue at stake: a client added to an item keeps its deal value and currency, every
client is counted by a normalised name (client_key, copied below from bot.items as it
was when this revision was written), and a client a merged item brought is marked with
that item (via_item_id). Filled here for the rows already stored: the keys, and the
clients of items merged before this revision copied to the items they were merged into
(in the order the merges were made, so a chain of merges ends with every client on the
last item).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 15:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def client_key(name: str) -> str:
    """bot.items.client_key as of this revision, copied so that a later change to it cannot
    change what this migration wrote."""
    return " ".join(name.casefold().split())[:200]


BATCH = 1000  # rows read (and their keys written) at a time: memory stays flat
# Everything the ranked list and the roll-up read of an item: its filters first (status,
# product, period, region), then its stake and kind.
DEMAND_COLUMNS = [
    "status",
    "product_sku",
    "created_at",
    "region_code",
    "id",
    "client_key",
    "deal_currency",
    "deal_value",
    "kind",
]

items = sa.table(
    "feedback_item",
    sa.column("id", sa.Integer),
    sa.column("client", sa.String),
    sa.column("client_key", sa.String),
    sa.column("deal_value", sa.BigInteger),
    sa.column("deal_currency", sa.String),
    sa.column("submitter_platform", sa.String),
    sa.column("submitter_id", sa.String),
    sa.column("merged_into_id", sa.Integer),
    sa.column("decided_at", sa.DateTime(timezone=True)),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
supporters = sa.table(
    "feedback_supporter",
    sa.column("id", sa.Integer),
    sa.column("item_id", sa.Integer),
    sa.column("user_platform", sa.String),
    sa.column("user_id", sa.String),
    sa.column("client", sa.String),
    sa.column("client_key", sa.String),
    sa.column("deal_value", sa.BigInteger),
    sa.column("deal_currency", sa.String),
    sa.column("via_item_id", sa.Integer),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def _fill_keys(bind: sa.Connection, table: sa.TableClause) -> None:
    after = 0
    while True:  # keyset pages: no OFFSET scans, no parameter list that grows with the data
        rows = list(
            bind.execute(
                sa.select(table.c.id, table.c.client)
                .where(table.c.id > after)
                .order_by(table.c.id)
                .limit(BATCH)
            )
        )
        if not rows:
            break
        bind.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("row_id"))
            .values(client_key=sa.bindparam("key")),
            [{"row_id": r.id, "key": client_key(r.client)} for r in rows],
        )
        after = rows[-1].id


def _copy_merged(bind: sa.Connection) -> None:
    merged = list(
        bind.execute(
            sa.select(items)
            .where(items.c.merged_into_id.is_not(None))
            .order_by(items.c.decided_at, items.c.id)
        )
    )
    for m in merged:
        rows = [
            (m.submitter_platform, m.submitter_id, m.client, m.deal_value, m.deal_currency),
            *(
                (s.user_platform, s.user_id, s.client, s.deal_value, s.deal_currency)
                for s in bind.execute(sa.select(supporters).where(supporters.c.item_id == m.id))
            ),
        ]
        have = {
            (s.user_platform, s.user_id, s.client)
            for s in bind.execute(
                sa.select(supporters).where(supporters.c.item_id == m.merged_into_id)
            )
        }
        for platform, user, client, value, currency in rows:
            if (platform, user, client) in have:
                continue
            have.add((platform, user, client))
            bind.execute(
                sa.insert(supporters).values(
                    item_id=m.merged_into_id,
                    user_platform=platform,
                    user_id=user,
                    client=client,
                    client_key=client_key(client),
                    deal_value=value,
                    deal_currency=currency,
                    via_item_id=m.id,
                    created_at=m.decided_at or m.created_at,
                )
            )


def upgrade() -> None:
    # Plain ADD COLUMNs: a SQLite table rebuild would trip over the rows that refer to items.
    op.add_column("feedback_item", sa.Column("client_key", sa.String(length=200), nullable=True))
    for column in (
        sa.Column("deal_value", sa.BigInteger(), nullable=True),
        sa.Column("deal_currency", sa.String(length=3), nullable=True),
        sa.Column("client_key", sa.String(length=200), nullable=True),
        sa.Column("via_item_id", sa.Integer(), nullable=True),
    ):
        op.add_column("feedback_supporter", column)
    bind = op.get_bind()
    _fill_keys(bind, items)
    _fill_keys(bind, supporters)
    _copy_merged(bind)
    # The ranked list reads the open items from this index alone (an index-only scan, no
    # fetch per item); their supporters from theirs, by item.
    op.create_index("ix_feedback_item_demand", "feedback_item", DEMAND_COLUMNS)
    op.create_index(
        "ix_feedback_supporter_demand",
        "feedback_supporter",
        ["item_id", "client_key", "deal_currency", "deal_value"],
    )


def downgrade() -> None:
    op.drop_index("ix_feedback_supporter_demand", table_name="feedback_supporter")
    op.drop_index("ix_feedback_item_demand", table_name="feedback_item")
    op.execute(sa.delete(supporters).where(supporters.c.via_item_id.is_not(None)))
    for name in ("via_item_id", "client_key", "deal_currency", "deal_value"):
        op.drop_column("feedback_supporter", name)
    op.drop_column("feedback_item", "client_key")
