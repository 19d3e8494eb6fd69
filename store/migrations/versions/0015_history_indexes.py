"""Indexes for the reads that grow with the history: the queue (waiting items by age), one
person's items and supports, merged items by their target, and the coverage report's
region and time filters.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 18:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# (name, table, columns): the names models.py gives them.
INDEXES = (
    ("ix_feedback_item_queue", "feedback_item", ["status", "created_at", "id"]),
    ("ix_feedback_item_submitter", "feedback_item", ["submitter_id", "submitter_platform"]),
    ("ix_feedback_item_merged_into_id", "feedback_item", ["merged_into_id"]),
    ("ix_feedback_item_region_created", "feedback_item", ["region_code", "created_at"]),
    ("ix_feedback_item_created_at", "feedback_item", ["created_at"]),
    ("ix_feedback_item_decided_at", "feedback_item", ["decided_at"]),
    ("ix_feedback_supporter_user", "feedback_supporter", ["user_id", "user_platform"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
