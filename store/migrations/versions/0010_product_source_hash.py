"""Each product remembers the hash of the catalog-file item it was imported from, so a
re-import reads only the items whose text changed.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 14:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_hash", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_column("source_hash")
