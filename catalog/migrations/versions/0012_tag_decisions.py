"""a person's accept or reject of a keyframe tag on a shot (a rejected tag never comes back for that shot)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 05:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('tag_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('scene_index', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('decision', sa.String(length=10), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('decided_by', sa.String(length=120), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'],
                            name=op.f('fk_tag_decisions_asset_id_assets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['versions.id'],
                            name=op.f('fk_tag_decisions_version_id_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tag_decisions')),
    sa.UniqueConstraint('version_id', 'scene_index', 'label', name=op.f('uq_tag_decisions_version_id'))
    )
    with op.batch_alter_table('tag_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tag_decisions_asset_id'), ['asset_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('tag_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tag_decisions_asset_id'))

    op.drop_table('tag_decisions')
