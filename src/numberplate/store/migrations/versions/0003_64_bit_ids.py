"""Ids are 64-bit: every id and foreign-key id column (and each id's sequence) becomes BIGINT on PostgreSQL.

Ids are never given again, so a 32-bit INTEGER id (at most 2,147,483,647) runs out: a site saving 100 reads a
second would use it up in under a year. SQLite's INTEGER is 64-bit already: nothing to do there.

PostgreSQL rewrites each table (once: all its columns change in one ALTER TABLE) under an exclusive lock, so the
upgrade of a large history takes a while; the rows, foreign keys and sequences' next values stay as they were.
A sequence made for an INTEGER column stops at 2**31 - 1 whatever its column's type, hence ALTER SEQUENCE too.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# Each table's id columns: its own id (with a sequence) first, then the foreign keys to other tables' ids.
ID_COLUMNS = {
    'api_tokens': ('id',),
    'watchlist': ('id',),
    'reads': ('id', 'token_id'),
    'plates': ('id', 'read_id', 'watch_id'),
    'usage': ('id', 'token_id'),
    'vehicles': ('id',),
    'lookup_cache': ('id',),
}


def _retype(sql_type: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    for table, columns in ID_COLUMNS.items():
        changes = ', '.join(f'ALTER COLUMN {column} TYPE {sql_type}' for column in columns)
        op.execute(f'ALTER TABLE {table} {changes}')
        sequence = bind.execute(sa.select(sa.func.pg_get_serial_sequence(table, 'id'))).scalar()
        if sequence:  # "public.reads_id_seq", quoted where it must be
            op.execute(f'ALTER SEQUENCE {sequence} AS {sql_type}')


def upgrade() -> None:
    _retype('BIGINT')


def downgrade() -> None:
    # Fails (and changes nothing) once an id beyond 2**31 - 1 has been given.
    _retype('INTEGER')
