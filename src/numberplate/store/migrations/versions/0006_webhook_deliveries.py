"""The webhook outbox: ``webhook_deliveries``, one row per read (or alert) and webhook URL, written in the read's
own transaction and sent by the deliverers (``numberplate.notify``).

A new table only: no existing row is read or written. Its rows go with their read (ON DELETE CASCADE). Downgrade
drops the table, and with it any delivery not yet made.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# 64-bit ids as every table's since 0003; SQLite's INTEGER PRIMARY KEY is its 64-bit rowid.
ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('webhook_deliveries',
    sa.Column('id', ID, nullable=False),
    sa.Column('uid', sa.String(length=32), nullable=False),
    sa.Column('read_id', ID, nullable=False),
    sa.Column('event', sa.String(length=16), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_owner', sa.String(length=32), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['read_id'], ['reads.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('uid')
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_deliveries_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_deliveries_finished_at'), ['finished_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_deliveries_read_id'), ['read_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_deliveries_read_id'))
        batch_op.drop_index(batch_op.f('ix_webhook_deliveries_finished_at'))
        batch_op.drop_index('ix_webhook_deliveries_due')
    op.drop_table('webhook_deliveries')
