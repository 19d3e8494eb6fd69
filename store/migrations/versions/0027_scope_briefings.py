"""Workspace scope on briefings and their kept decks: a `scope` column (SHARED, "", for
every row written before), leading the indexes of the briefings' reads.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-04 18:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

TABLES = ("briefing", "briefing_deck")
# (name, columns without the scope, unique)
INDEXES = [
    ("uq_briefing_submission_key", ["submission_key"], True),
    ("ix_briefing_pm_id", ["pm_id"], False),
    ("ix_briefing_held_on", ["held_on"], False),
]


def upgrade() -> None:
    # A plain ADD COLUMN: no table rebuild on SQLite, which would trip over the decks that
    # refer to briefings.
    for table in TABLES:
        op.add_column(
            table, sa.Column("scope", sa.String(length=120), nullable=False, server_default="")
        )
    for name, columns, unique in INDEXES:
        op.drop_index(name, table_name="briefing")
        op.create_index(name, "briefing", ["scope", *columns], unique=unique)


def downgrade() -> None:
    # Back to one pool: every workspace's briefings are kept. A submission key is unique
    # again across them: a key two workspaces share stays on the lowest scope's briefing
    # (it only makes a replayed form find its briefing), the others keep theirs without it.
    op.execute(
        "UPDATE briefing SET submission_key = NULL WHERE submission_key IS NOT NULL AND "
        "EXISTS (SELECT 1 FROM briefing s WHERE s.submission_key = briefing.submission_key "
        "AND s.scope < briefing.scope)"
    )
    for name, columns, unique in INDEXES:
        op.drop_index(name, table_name="briefing")
        op.create_index(name, "briefing", columns, unique=unique)
    for table in TABLES:
        op.drop_column(table, "scope")
