"""An index on plates.crop_sha256: whether a file is still used is asked of it on every delete and sweep.

Without it each of those questions read the whole plates table (one read's delete, or each batch of a sweep of
files no read refers to).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('plates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plates_crop_sha256'), ['crop_sha256'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('plates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plates_crop_sha256'))
