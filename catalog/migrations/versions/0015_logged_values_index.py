"""the logged ranges' metadata values on their own (field, value) index: a field term's assets are the facet
index's (their own values) and these

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 09:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('metadata_values', schema=None) as batch_op:
        batch_op.create_index('ix_metadata_values_logged', ['field', 'value'], unique=False,
                              sqlite_where=sa.text('log_id IS NOT NULL'),
                              postgresql_where=sa.text('log_id IS NOT NULL'))


def downgrade() -> None:
    with op.batch_alter_table('metadata_values', schema=None) as batch_op:
        batch_op.drop_index('ix_metadata_values_logged')
