"""the team's own metadata: schema versions, values on assets and logged ranges, values kept aside at ingest,
the history of changes and each asset's revision

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 05:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('metadata_schemas',
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_metadata_schemas'))
    )
    with op.batch_alter_table('metadata_schemas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_metadata_schemas_content_hash'), ['content_hash'], unique=False)
    op.create_table('asset_metadata',
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('attention', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=120), nullable=True),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'],
                            name=op.f('fk_asset_metadata_asset_id_assets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('asset_id', name=op.f('pk_asset_metadata'))
    )
    with op.batch_alter_table('asset_metadata', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_asset_metadata_attention'), ['attention'], unique=False)

    op.create_table('metadata_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('log_id', sa.Integer(), nullable=True),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('old', sa.JSON(), nullable=True),
    sa.Column('new', sa.JSON(), nullable=True),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('source', sa.String(length=500), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'],
                            name=op.f('fk_metadata_changes_asset_id_assets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_metadata_changes'))
    )
    with op.batch_alter_table('metadata_changes', schema=None) as batch_op:
        batch_op.create_index('ix_metadata_changes_asset_id_revision', ['asset_id', 'revision'], unique=False)

    op.create_table('metadata_rejects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=200), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=500), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.String(length=120), nullable=True),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'],
                            name=op.f('fk_metadata_rejects_asset_id_assets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_metadata_rejects'))
    )
    with op.batch_alter_table('metadata_rejects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_metadata_rejects_asset_id'), ['asset_id'], unique=False)

    op.create_table('metadata_logs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('start_frame', sa.Integer(), nullable=False),
    sa.Column('end_frame', sa.Integer(), nullable=False),
    sa.Column('start_s', sa.Float(), nullable=False),
    sa.Column('end_s', sa.Float(), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'],
                            name=op.f('fk_metadata_logs_asset_id_assets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['versions.id'],
                            name=op.f('fk_metadata_logs_version_id_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_metadata_logs'))
    )
    with op.batch_alter_table('metadata_logs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_metadata_logs_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index('ix_metadata_logs_version_id_start_frame', ['version_id', 'start_frame'], unique=False)

    op.create_table('metadata_values',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('log_id', sa.Integer(), nullable=True),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=1000), nullable=True),
    sa.Column('number', sa.Float(), nullable=True),
    sa.Column('long', sa.Text(), nullable=True),
    sa.Column('problem', sa.Text(), nullable=True),
    sa.Column('set_by', sa.String(length=120), nullable=True),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'],
                            name=op.f('fk_metadata_values_asset_id_assets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['log_id'], ['metadata_logs.id'],
                            name=op.f('fk_metadata_values_log_id_metadata_logs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_metadata_values'))
    )
    with op.batch_alter_table('metadata_values', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_metadata_values_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index('ix_metadata_values_field_number', ['field', 'number'], unique=False)
        batch_op.create_index('ix_metadata_values_field_value', ['field', 'value'], unique=False)
        batch_op.create_index('ix_metadata_values_facet', ['field', 'value'], unique=False,
                              sqlite_where=sa.text('log_id IS NULL AND problem IS NULL'),
                              postgresql_where=sa.text('log_id IS NULL AND problem IS NULL'))
        batch_op.create_index(batch_op.f('ix_metadata_values_log_id'), ['log_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('metadata_values', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_metadata_values_log_id'))
        batch_op.drop_index('ix_metadata_values_facet')
        batch_op.drop_index('ix_metadata_values_field_value')
        batch_op.drop_index('ix_metadata_values_field_number')
        batch_op.drop_index(batch_op.f('ix_metadata_values_asset_id'))

    op.drop_table('metadata_values')
    with op.batch_alter_table('metadata_logs', schema=None) as batch_op:
        batch_op.drop_index('ix_metadata_logs_version_id_start_frame')
        batch_op.drop_index(batch_op.f('ix_metadata_logs_asset_id'))

    op.drop_table('metadata_logs')
    with op.batch_alter_table('metadata_rejects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_metadata_rejects_asset_id'))

    op.drop_table('metadata_rejects')
    with op.batch_alter_table('metadata_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_metadata_changes_asset_id_revision')

    op.drop_table('metadata_changes')
    with op.batch_alter_table('asset_metadata', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_asset_metadata_attention'))

    op.drop_table('asset_metadata')
    with op.batch_alter_table('metadata_schemas', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_metadata_schemas_content_hash'))

    op.drop_table('metadata_schemas')
