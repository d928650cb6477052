"""rules on every kind of event: a run is unique per (rule version, trigger, event key) — an event is no longer only
a version — and knows the run whose action caused its event (the chain's depth); a metadata change knows the rule
run that made it; the moments events are read by are indexed (a rules pass reads them every couple of seconds)

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

MOMENTS = (('versions', 'ready_at'), ('versions', 'created_at'), ('versions', 'approved_at'),
           ('metadata_changes', 'at'), ('reviews', 'created_at'), ('renditions', 'finished_at'),
           ('tag_decisions', 'decided_at'))


def upgrade() -> None:
    with op.batch_alter_table('rule_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('event_key', sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column('depth', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('cause_run_id', sa.Integer(), nullable=True))
    op.execute("UPDATE rule_runs SET event_key = 'version:' || CAST(version_id AS VARCHAR(20))")
    with op.batch_alter_table('rule_runs', schema=None) as batch_op:
        batch_op.alter_column('event_key', existing_type=sa.String(length=160), nullable=False)
        batch_op.drop_constraint('uq_rule_runs_rule_version_id', type_='unique')
        batch_op.create_unique_constraint('uq_rule_runs_rule_version_id', ['rule_version_id', 'trigger',
                                                                          'event_key'])
    with op.batch_alter_table('metadata_changes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rule_run_id', sa.Integer(), nullable=True))
    for table, column in MOMENTS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f'ix_{table}_{column}', [column], unique=False)


def downgrade() -> None:
    for table, column in MOMENTS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f'ix_{table}_{column}')
    with op.batch_alter_table('metadata_changes', schema=None) as batch_op:
        batch_op.drop_column('rule_run_id')
    with op.batch_alter_table('rule_runs', schema=None) as batch_op:
        batch_op.drop_constraint('uq_rule_runs_rule_version_id', type_='unique')
        batch_op.create_unique_constraint('uq_rule_runs_rule_version_id', ['rule_version_id', 'trigger',
                                                                          'version_id'])
        batch_op.drop_column('cause_run_id')
        batch_op.drop_column('depth')
        batch_op.drop_column('event_key')
