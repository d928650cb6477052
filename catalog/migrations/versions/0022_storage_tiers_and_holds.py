"""lifecycle: where each version's original is (library or an archive location), legal holds on assets and
collections, and each asset's retention

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('storage', sa.String(length=16), server_default='library', nullable=False))
        batch_op.add_column(sa.Column('archive_location', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('archive_path', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retain_until', sa.DateTime(timezone=True), nullable=True))
    op.create_table('legal_holds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=True),
    sa.Column('collection_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('placed_by', sa.String(length=120), nullable=False),
    sa.Column('placed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lifted_by', sa.String(length=120), nullable=True),
    sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lift_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_legal_holds_asset_id_assets'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['collection_id'], ['collections.id'],
                            name=op.f('fk_legal_holds_collection_id_collections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_holds'))
    )
    with op.batch_alter_table('legal_holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legal_holds_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_legal_holds_collection_id'), ['collection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_legal_holds_lifted_at'), ['lifted_at'], unique=False)


def downgrade() -> None:
    op.drop_table('legal_holds')
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.drop_column('retain_until')
    with op.batch_alter_table('versions', schema=None) as batch_op:
        batch_op.drop_column('archived_at')
        batch_op.drop_column('archive_path')
        batch_op.drop_column('archive_location')
        batch_op.drop_column('storage')
