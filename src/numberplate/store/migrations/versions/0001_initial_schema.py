"""Initial schema: reads, plates, watchlist, API tokens and usage, vehicles, lookup cache.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('max_calls', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_table('lookup_cache',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=50), nullable=False),
    sa.Column('country', sa.String(length=8), nullable=False),
    sa.Column('plate_norm', sa.String(length=32), nullable=False),
    sa.Column('found', sa.Boolean(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=True),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('provider', 'country', 'plate_norm', name='uq_lookup_cache_key')
    )
    with op.batch_alter_table('lookup_cache', schema=None) as batch_op:
        batch_op.create_index('ix_lookup_cache_expires', ['expires_at'], unique=False)

    op.create_table('vehicles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plate_norm', sa.String(length=32), nullable=False),
    sa.Column('country', sa.String(length=8), nullable=False),
    sa.Column('make', sa.String(length=100), nullable=True),
    sa.Column('model', sa.String(length=100), nullable=True),
    sa.Column('colour', sa.String(length=50), nullable=True),
    sa.Column('fuel', sa.String(length=50), nullable=True),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('engine_size', sa.String(length=50), nullable=True),
    sa.Column('body', sa.String(length=100), nullable=True),
    sa.Column('registration_date', sa.String(length=32), nullable=True),
    sa.Column('tax_status', sa.String(length=100), nullable=True),
    sa.Column('inspection_status', sa.String(length=100), nullable=True),
    sa.Column('vin', sa.String(length=32), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('plate_norm', 'country', name='uq_vehicles_plate_country')
    )
    with op.batch_alter_table('vehicles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vehicles_plate_norm'), ['plate_norm'], unique=False)

    op.create_table('watchlist',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plate_norm', sa.String(length=32), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('max_distance', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('plate_norm')
    )
    op.create_table('reads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('camera_id', sa.String(length=128), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=True),
    sa.Column('image_sha256', sa.String(length=64), nullable=True),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('processing_ms', sa.Float(), nullable=False),
    sa.Column('country_hint', sa.String(length=8), nullable=True),
    sa.Column('token_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['token_id'], ['api_tokens.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reads_camera_id'), ['camera_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reads_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_reads_image_sha256'), ['image_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_reads_source'), ['source'], unique=False)

    op.create_table('usage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_id', sa.Integer(), nullable=False),
    sa.Column('window', sa.String(length=20), nullable=False),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['token_id'], ['api_tokens.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_id', 'window', name='uq_usage_token_window')
    )
    op.create_table('plates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('read_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=32), nullable=True),
    sa.Column('plate_norm', sa.String(length=32), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('detection_confidence', sa.Float(), nullable=False),
    sa.Column('box_xmin', sa.Integer(), nullable=False),
    sa.Column('box_ymin', sa.Integer(), nullable=False),
    sa.Column('box_xmax', sa.Integer(), nullable=False),
    sa.Column('box_ymax', sa.Integer(), nullable=False),
    sa.Column('country', sa.String(length=8), nullable=True),
    sa.Column('candidates', sa.JSON(), nullable=False),
    sa.Column('crop_sha256', sa.String(length=64), nullable=True),
    sa.Column('vehicle', sa.JSON(), nullable=True),
    sa.Column('lookup_error', sa.Text(), nullable=True),
    sa.Column('watch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['read_id'], ['reads.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['watch_id'], ['watchlist.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('plates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plates_plate_norm'), ['plate_norm'], unique=False)
        batch_op.create_index(batch_op.f('ix_plates_read_id'), ['read_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plates_watch_id'), ['watch_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('plates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plates_watch_id'))
        batch_op.drop_index(batch_op.f('ix_plates_read_id'))
        batch_op.drop_index(batch_op.f('ix_plates_plate_norm'))

    op.drop_table('plates')
    op.drop_table('usage')
    with op.batch_alter_table('reads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reads_source'))
        batch_op.drop_index(batch_op.f('ix_reads_image_sha256'))
        batch_op.drop_index(batch_op.f('ix_reads_created_at'))
        batch_op.drop_index(batch_op.f('ix_reads_camera_id'))

    op.drop_table('reads')
    op.drop_table('watchlist')
    with op.batch_alter_table('vehicles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vehicles_plate_norm'))

    op.drop_table('vehicles')
    with op.batch_alter_table('lookup_cache', schema=None) as batch_op:
        batch_op.drop_index('ix_lookup_cache_expires')

    op.drop_table('lookup_cache')
    op.drop_table('api_tokens')
