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
    # Counts of one question in several scopes become one count.
    op.execute(
        "DELETE FROM lookup_miss WHERE scope <> '' AND EXISTS (SELECT 1 FROM lookup_miss s "
        "WHERE s.scope = '' AND s.query = lookup_miss.query "
        "AND s.region_code = lookup_miss.region_code AND s.day = lookup_miss.day)"
    )
    with op.batch_alter_table("lookup_miss", recreate="always") as batch_op:
        batch_op.drop_constraint("pk_lookup_miss", type_="primary")
        batch_op.drop_column("scope")
        batch_op.create_primary_key("pk_lookup_miss", KEY)
