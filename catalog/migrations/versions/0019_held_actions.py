"""held actions: a rule's actions waiting in the inbox for a person (hold_for_a_person)

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 12:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('held_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_run_id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('question', sa.String(length=200), nullable=False),
    sa.Column('actions', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by', sa.String(length=120), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_held_actions_asset_id_assets'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rule_run_id'], ['rule_runs.id'], name=op.f('fk_held_actions_rule_run_id_rule_runs'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['versions.id'], name=op.f('fk_held_actions_version_id_versions'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_held_actions')),
    sa.UniqueConstraint('rule_run_id', name=op.f('uq_held_actions_rule_run_id'))
    )
    with op.batch_alter_table('held_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_held_actions_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_held_actions_status'), ['status'], unique=False)


def downgrade() -> None:
    op.drop_table('held_actions')
