"""orchestration rules: each rule version as its file read (the history kept), and the runs that acted on an
event (once per rule version, trigger and version), and how far the runner has looked

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 10:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rule_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('file', sa.String(length=500), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('trigger', sa.String(length=64), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rule_versions')),
    sa.UniqueConstraint('name', 'content_hash', name=op.f('uq_rule_versions_name'))
    )
    with op.batch_alter_table('rule_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rule_versions_name'), ['name'], unique=False)

    op.create_table('rule_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_version_id', sa.Integer(), nullable=False),
    sa.Column('trigger', sa.String(length=64), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['rule_version_id'], ['rule_versions.id'],
                            name=op.f('fk_rule_runs_rule_version_id_rule_versions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['versions.id'],
                            name=op.f('fk_rule_runs_version_id_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rule_runs')),
    sa.UniqueConstraint('rule_version_id', 'trigger', 'version_id', name=op.f('uq_rule_runs_rule_version_id'))
    )
    with op.batch_alter_table('rule_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rule_runs_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rule_runs_version_id'), ['version_id'], unique=False)


    op.create_table('rule_cursors',
    sa.Column('trigger', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('trigger', name=op.f('pk_rule_cursors'))
    )


def downgrade() -> None:
    op.drop_table('rule_cursors')
    op.drop_table('rule_runs')
    op.drop_table('rule_versions')
