"""render steps name their rendition: steps.rendition_id

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 14:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rendition_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_steps_rendition_id"), ["rendition_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_steps_rendition_id_renditions"), "renditions",
                                    ["rendition_id"], ["id"], ondelete="CASCADE")
    # the render steps made before: their kind "render:<id>" names the rendition
    op.execute("UPDATE steps SET rendition_id = CAST(substr(kind, 8) AS INTEGER) WHERE kind LIKE 'render:%'")


def downgrade() -> None:
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_steps_rendition_id_renditions"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_steps_rendition_id"))
        batch_op.drop_column("rendition_id")
