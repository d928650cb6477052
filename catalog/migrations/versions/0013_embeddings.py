"""embeddings for semantic search and "shots like this": a vector per search document and per shot keyframe,
with the model that made it (float16 bytes and their SimHash; the in-process indexes are made from these rows)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 05:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('picture_vectors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scene_id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=False),
    sa.Column('bits', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['scene_id'], ['scenes.id'],
                            name=op.f('fk_picture_vectors_scene_id_scenes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_picture_vectors')),
    sa.UniqueConstraint('scene_id', name=op.f('uq_picture_vectors_scene_id'))
    )
    with op.batch_alter_table('picture_vectors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_picture_vectors_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index('ix_picture_vectors_model_id', ['model', 'id'], unique=False)

    op.create_table('text_vectors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('doc_id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=False),
    sa.Column('bits', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['doc_id'], ['search_docs.id'],
                            name=op.f('fk_text_vectors_doc_id_search_docs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_text_vectors')),
    sa.UniqueConstraint('doc_id', name=op.f('uq_text_vectors_doc_id'))
    )
    with op.batch_alter_table('text_vectors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_text_vectors_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index('ix_text_vectors_model_id', ['model', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('text_vectors', schema=None) as batch_op:
        batch_op.drop_index('ix_text_vectors_model_id')
        batch_op.drop_index(batch_op.f('ix_text_vectors_asset_id'))

    op.drop_table('text_vectors')
    with op.batch_alter_table('picture_vectors', schema=None) as batch_op:
        batch_op.drop_index('ix_picture_vectors_model_id')
        batch_op.drop_index(batch_op.f('ix_picture_vectors_asset_id'))

    op.drop_table('picture_vectors')
