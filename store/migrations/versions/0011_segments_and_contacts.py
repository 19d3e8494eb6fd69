"""Customer segments, segment-specific rules, and whom to ask (rule and product contacts).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 14:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "segment",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_segment")),
    )
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact", sa.String(length=64), nullable=True))
    with op.batch_alter_table("availability_rule", schema=None) as batch_op:
        # "" is the general rule: an empty code (not NULL) keeps one general rule per
        # product and region unique in the database too.
        batch_op.add_column(
            sa.Column("segment_code", sa.String(length=32), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("contact", sa.String(length=64), nullable=True))
        batch_op.drop_constraint("uq_availability_rule_product_id", type_="unique")
        batch_op.create_unique_constraint(
            "uq_availability_rule_product_id", ["product_id", "region_code", "segment_code"]
        )


def downgrade() -> None:
    with op.batch_alter_table("availability_rule", schema=None) as batch_op:
        batch_op.drop_constraint("uq_availability_rule_product_id", type_="unique")
        batch_op.execute("DELETE FROM availability_rule WHERE segment_code <> ''")
        batch_op.create_unique_constraint(
            "uq_availability_rule_product_id", ["product_id", "region_code"]
        )
        batch_op.drop_column("contact")
        batch_op.drop_column("segment_code")
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_column("contact")
    op.drop_table("segment")
