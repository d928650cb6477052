"""big files being hash-copied in: the incoming table (name, folder, size, bytes copied, the process)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incoming",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=1000), nullable=False),
        sa.Column("folder", sa.String(length=200), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("copied", sa.BigInteger(), nullable=False),
        sa.Column("process", sa.String(length=160), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incoming")),
    )
    op.create_index(op.f("ix_incoming_updated_at"), "incoming", ["updated_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_incoming_updated_at"), table_name="incoming")
    op.drop_table("incoming")
