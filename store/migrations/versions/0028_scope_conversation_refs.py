"""Workspace scope on Teams conversation references: a `scope` column (SHARED, "", for
every reference stored before) leading the key, so each tenant of a multi-tenant bot keeps
its own "teams:triage", role channels and "teams:user:<id>".

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-04 18:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversation_ref", recreate="always") as batch:
        batch.add_column(
            sa.Column("scope", sa.String(length=120), nullable=False, server_default="")
        )
        batch.drop_constraint("pk_conversation_ref", type_="primary")
        batch.create_primary_key("pk_conversation_ref", ["scope", "key"])


def downgrade() -> None:
    # Back to one reference per key: the newest one stored in any tenant (the one last
    # used, as a turn's reference replaces an older one), ties going to the lowest scope.
    newer = (
        "s.key = conversation_ref.key AND (s.updated_at > conversation_ref.updated_at "
        "OR (s.updated_at = conversation_ref.updated_at AND s.scope < conversation_ref.scope))"
    )
    op.execute(
        "DELETE FROM conversation_ref "
        f"WHERE EXISTS (SELECT 1 FROM conversation_ref s WHERE {newer})"
    )
    with op.batch_alter_table("conversation_ref", recreate="always") as batch:
        batch.drop_constraint("pk_conversation_ref", type_="primary")
        batch.create_primary_key("pk_conversation_ref", ["key"])
        batch.drop_column("scope")
