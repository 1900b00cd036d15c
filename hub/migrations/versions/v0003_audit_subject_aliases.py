"""Aliases of audit subjects after an OPRF rotation: "who looked" finds entries recorded under
an earlier key (entries are hashed as written and never rewritten).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 04:33:27.122011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "hub_audit_subject_aliases",
        sa.Column("current", sa.LargeBinary(length=64), nullable=False),
        sa.Column("earlier", sa.LargeBinary(length=64), nullable=False),
        sa.PrimaryKeyConstraint("current", "earlier"),
    )


def downgrade() -> None:
    op.drop_table("hub_audit_subject_aliases")
