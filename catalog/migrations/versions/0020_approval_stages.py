"""approval stages: a version's approval under a stage template for the channels it governs; a review counts in a
request and a stage. Every version reviewed or approved before gets the default template's request (all channels),
approved when it was, and its reviews count in it: existing approvals survive.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 12:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('approval_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('template', sa.String(length=64), nullable=False),
    sa.Column('template_hash', sa.String(length=64), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=True),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('requested_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['versions.id'], name=op.f('fk_approval_requests_version_id_versions'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_requests')),
    sa.UniqueConstraint('version_id', 'template', name=op.f('uq_approval_requests_version_id'))
    )
    with op.batch_alter_table('approval_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approval_requests_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_approval_requests_version_id'), ['version_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_approval_requests_approved_at'), ['approved_at'], unique=False)
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('stage', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_reviews_request_id'), ['request_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_reviews_request_id_approval_requests'), 'approval_requests',
                                    ['request_id'], ['id'], ondelete='CASCADE')
    op.execute("""
        INSERT INTO approval_requests (version_id, template, template_hash, definition, channels, status, approved_at,
                                       requested_by, created_at)
        SELECT id, 'default', '', NULL, '["broadcast", "web", "social"]',
               CASE WHEN approved_at IS NOT NULL THEN 'approved' ELSE 'open' END, approved_at, 'migration',
               created_at
        FROM versions WHERE approved_at IS NOT NULL OR id IN (SELECT version_id FROM reviews)""")
    op.execute("""
        UPDATE reviews SET stage = 'review', request_id = (
            SELECT r.id FROM approval_requests r WHERE r.version_id = reviews.version_id AND r.template = 'default')""")


def downgrade() -> None:
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_reviews_request_id_approval_requests'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_reviews_request_id'))
        batch_op.drop_column('stage')
        batch_op.drop_column('request_id')
    op.drop_table('approval_requests')
