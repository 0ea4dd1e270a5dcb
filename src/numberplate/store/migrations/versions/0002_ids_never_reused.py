"""Ids that clients see are never given again: SQLite AUTOINCREMENT on reads, plates, watchlist and api_tokens.

Without it SQLite hands the id of the newest row out again once that row is deleted, so a kept link
(``/reads/4``) would show another read. Each table is rebuilt with its rows (batch mode); ids already
reused before this revision cannot be told apart. PostgreSQL sequences never reuse ids: nothing to do there.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# Parents before children, so each rebuilt table's foreign keys point at a table that exists.
TABLES = ('api_tokens', 'watchlist', 'reads', 'plates')


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    # Database.migrate turns foreign keys off on SQLite, so dropping the old table cascades to no rows.
    for table in TABLES:
        # Releases before migrations ran in one transaction could stop midway and keep a rebuild's empty copy;
        # the table it copies is whole (the copy's rows, the drop and the rename were rolled back).
        op.execute(f'DROP TABLE IF EXISTS _alembic_tmp_{table}')
        with op.batch_alter_table(table, recreate='always',
                                  table_kwargs={'sqlite_autoincrement': autoincrement}):
            pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
