"""lifecycle policies per collection: archive after N days without use or after delivery, retention from ingest,
and what the end of retention brings

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-30 16:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lifecycle_policies',
    sa.Column('collection_id', sa.Integer(), nullable=False),
    sa.Column('archive_unused_days', sa.Integer(), nullable=True),
    sa.Column('archive_delivered_days', sa.Integer(), nullable=True),
    sa.Column('location', sa.String(length=64), nullable=True),
    sa.Column('retention_years', sa.Integer(), nullable=True),
    sa.Column('at_retention_end', sa.String(length=20), nullable=False),
    sa.Column('updated_by', sa.String(length=120), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['collection_id'], ['collections.id'],
                            name=op.f('fk_lifecycle_policies_collection_id_collections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('collection_id', name=op.f('pk_lifecycle_policies'))
    )


def downgrade() -> None:
    op.drop_table('lifecycle_policies')
