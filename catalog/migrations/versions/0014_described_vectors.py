"""a shot's keyframe in an image-text (CLIP) model's space, for "describe the picture" search
(beside its picture_vectors row)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 09:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('described_vectors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scene_id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=False),
    sa.Column('bits', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['scene_id'], ['scenes.id'],
                            name=op.f('fk_described_vectors_scene_id_scenes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_described_vectors')),
    sa.UniqueConstraint('scene_id', name=op.f('uq_described_vectors_scene_id'))
    )
    with op.batch_alter_table('described_vectors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_described_vectors_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index('ix_described_vectors_model_id', ['model', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('described_vectors', schema=None) as batch_op:
        batch_op.drop_index('ix_described_vectors_model_id')
        batch_op.drop_index(batch_op.f('ix_described_vectors_asset_id'))

    op.drop_table('described_vectors')
