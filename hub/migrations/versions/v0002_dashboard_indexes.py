"""Indexes for the dashboard's figures: notices by kind and case, audit entries by action and
case (when a case was briefed and when it was taken on).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 04:12:53.011876
"""

from __future__ import annotations

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("hub_audit", schema=None) as batch_op:
        batch_op.create_index("ix_hub_audit_action_case", ["action", "case_ref"], unique=False)

    with op.batch_alter_table("hub_notifications", schema=None) as batch_op:
        batch_op.create_index("ix_hub_notifications_kind_ref", ["kind", "ref_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("hub_notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_hub_notifications_kind_ref")

    with op.batch_alter_table("hub_audit", schema=None) as batch_op:
        batch_op.drop_index("ix_hub_audit_action_case")
