"""Lookup misses kept per workspace scope: each workspace's triage hears its own gaps.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 19:58:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

KEY = ["query", "region_code", "day"]


def upgrade() -> None:
    # Rows counted before are the one shared pool's (""): a deployment serving one
    # workspace reads them as before.
    with op.batch_alter_table("lookup_miss", recreate="always") as batch_op:
        batch_op.add_column(
            sa.Column("scope", sa.String(length=120), server_default="", nullable=False)
        )
        batch_op.drop_constraint("pk_lookup_miss", type_="primary")
        batch_op.create_primary_key("pk_lookup_miss", ["scope", *KEY])


def downgrade() -> None:
    # Counts of one question in several scopes become one count, kept on the row of the
    # lowest scope (the shared pool's when it has one): any number of workspaces, not just
    # one beside the shared pool, fold into one row per key.
    same = (
        "s.query = lookup_miss.query AND s.region_code = lookup_miss.region_code "
        "AND s.day = lookup_miss.day"
    )
    op.execute(
        f"UPDATE lookup_miss SET count = (SELECT SUM(s.count) FROM lookup_miss s WHERE {same}), "
        f"first_at = (SELECT MIN(s.first_at) FROM lookup_miss s WHERE {same}), "
        f"last_at = (SELECT MAX(s.last_at) FROM lookup_miss s WHERE {same}) "
        f"WHERE NOT EXISTS (SELECT 1 FROM lookup_miss s WHERE s.scope < lookup_miss.scope "
        f"AND {same})"
    )
    op.execute(
        f"DELETE FROM lookup_miss WHERE EXISTS (SELECT 1 FROM lookup_miss s "
        f"WHERE s.scope < lookup_miss.scope AND {same})"
    )
    with op.batch_alter_table("lookup_miss", recreate="always") as batch_op:
        batch_op.drop_constraint("pk_lookup_miss", type_="primary")
        batch_op.drop_column("scope")
        batch_op.create_primary_key("pk_lookup_miss", KEY)
