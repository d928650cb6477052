"""renditions go to the archive with their original when asked (versions.archive_renditions): where each one is

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-30 19:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('versions', schema=None) as batch_op:
        # a constant default ('0' is false to PostgreSQL too): an expression would make SQLite's batch mode
        # copy the table, and dropping the old one would cascade to every row that refers to it
        batch_op.add_column(sa.Column('archive_renditions', sa.Boolean(), server_default='0', nullable=False))
    with op.batch_alter_table('renditions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('storage', sa.String(length=16), server_default='library', nullable=False))
        batch_op.add_column(sa.Column('archive_path', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('renditions', schema=None) as batch_op:
        batch_op.drop_column('archive_path')
        batch_op.drop_column('storage')
    with op.batch_alter_table('versions', schema=None) as batch_op:
        batch_op.drop_column('archive_renditions')
