"""agents under governance: each agent's policy (the tools it may call, those held for a person, its rate limit),
metadata and tags agents suggest (waiting for a person, with their provenance), and held actions that an agent
(not a rule run) asked for

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30 13:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agent_policies',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('tools', sa.JSON(), nullable=False),
    sa.Column('hold', sa.JSON(), nullable=False),
    sa.Column('per_minute', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_agent_policies_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_agent_policies'))
    )
    op.create_table('metadata_suggestions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('suggested_by', sa.String(length=120), nullable=False),
    sa.Column('provenance', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by', sa.String(length=120), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_metadata_suggestions_asset_id_assets'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_metadata_suggestions'))
    )
    with op.batch_alter_table('metadata_suggestions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_metadata_suggestions_asset_id'), ['asset_id'], unique=False)
    with op.batch_alter_table('held_actions', schema=None) as batch_op:
        batch_op.alter_column('rule_run_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM held_actions WHERE rule_run_id IS NULL")
    with op.batch_alter_table('held_actions', schema=None) as batch_op:
        batch_op.alter_column('rule_run_id', existing_type=sa.Integer(), nullable=False)
    op.drop_table('metadata_suggestions')
    op.drop_table('agent_policies')
