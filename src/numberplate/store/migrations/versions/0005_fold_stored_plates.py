"""Stored plates folded as plates now are: compatibility forms (full-width ``ＡＢ１２``, ``Ⅻ``, ``②``) by NFKC.

Plates stored before ``normalize_plate`` folded them keep the unfolded form (``ＡＢ１２``), which a search for
``AB12`` no longer finds. This folds them with a frozen copy of that rule (:func:`fold`), so that later changes
to ``normalize_plate`` never change what this revision does:

- ``plates``: ``plate_norm`` is derived again from the plate's stored ``text``, as a save stores it now. Alerts
  stay as they were decided when each read was stored (no plate is matched against the watchlist again).
- ``watchlist``, ``vehicles``, ``lookup_cache``: no typed text is kept, so the stored ``plate_norm`` itself is
  folded (the earlier rule only upper-cased and dropped what is not a letter or digit, so this gives what the
  typed text would give now).

Only rows with a character beyond ASCII (in ``text`` or ``plate_norm``) are read, page by page in id order: both
rules normalise ASCII alike. Only rows whose value changes are written. A value that would fold to nothing is
left as it is.

Folding can make two rows of a unique key one (``ＡＢ12`` and ``AB12``):

- ``watchlist``: merged into the oldest entry (lowest id), which takes the folded plate, the widest
  ``max_distance`` of the merged entries (whatever any of them alerted on still alerts) and their distinct labels
  joined with ``"; "`` (cut at 200 characters); the plates whose alert named a merged entry name the kept one.
- ``vehicles``: the most recently updated row is kept (as an import keeps the last row of a plate and
  country); each other one is deleted and logged with its details at WARNING, to be added again by hand.
- ``lookup_cache``: the most recently fetched answer is kept (the others would be fetched again).

No read or plate is ever deleted. Everything runs in the migration's one transaction.

Downgrade does nothing: the unfolded forms are not kept, and the folded ones are valid for the earlier schema
(whose code, not folding, finds them by an ASCII search and no longer by a full-width one).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import logging
import unicodedata
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

log = logging.getLogger('numberplate.store.migrations')

PAGE = 5000  # rows read per query (keyset pages, so memory stays small on a long history)
BATCH = 500  # ids per IN (...) list
PLATE_LENGTH = 32  # the plate_norm columns' length (String(32))
LABEL_LENGTH = 200  # watchlist.label's length
VEHICLE_DETAILS = ('make', 'model', 'colour', 'fuel', 'year', 'engine_size', 'body', 'registration_date',
                   'tax_status', 'inspection_status', 'vin', 'description')

plates = sa.table('plates', sa.column('id', sa.BigInteger), sa.column('text', sa.String),
                  sa.column('plate_norm', sa.String), sa.column('watch_id', sa.BigInteger))
watchlist = sa.table('watchlist', sa.column('id', sa.BigInteger), sa.column('plate_norm', sa.String),
                     sa.column('label', sa.String), sa.column('max_distance', sa.Integer))
vehicles = sa.table('vehicles', sa.column('id', sa.BigInteger), sa.column('plate_norm', sa.String),
                    sa.column('country', sa.String), sa.column('updated_at', sa.DateTime),
                    *(sa.column(name) for name in VEHICLE_DETAILS))
lookup_cache = sa.table('lookup_cache', sa.column('id', sa.BigInteger), sa.column('provider', sa.String),
                        sa.column('country', sa.String), sa.column('plate_norm', sa.String),
                        sa.column('fetched_at', sa.DateTime))


def fold(text: str) -> str:
    """The plate rule of this revision (``normalize_plate`` when it was written): NFKC, upper case, letters and
    digits only."""
    return ''.join(c for c in unicodedata.normalize('NFKC', text).upper() if c.isalnum())


def refolded(norm: str) -> str:
    """``norm`` folded until it no longer changes (and fits the column), so that no folded value folds to another
    one: the rows already holding a folded value are then exactly the ones a changed row may clash with."""
    for _ in range(4):
        again = fold(norm)[:PLATE_LENGTH]
        if again == norm:
            break
        norm = again
    return norm


def upgrade() -> None:
    bind = op.get_bind()
    _fold_watchlist(bind)
    _fold_plates(bind)
    _fold_vehicles(bind)
    _fold_lookup_cache(bind)


def downgrade() -> None:
    pass  # see the module's docstring: the folded plates stay


def _non_ascii(bind: sa.Connection, column: Any) -> Any:
    """``column`` holds a character beyond ASCII (a full scan's cheap filter; NULL never does)."""
    if bind.dialect.name == 'postgresql':
        return column.op('~')(r'[^\x01-\x7f]')
    return column.op('GLOB')('*[^\x01-\x7f]*')  # SQLite's GLOB compares code points


def _pages(bind: sa.Connection, table: Any, columns: Sequence[Any], where: Any) -> Iterator[sa.Row[Any]]:
    """The rows of ``table`` meeting ``where``, in id order, read :data:`PAGE` at a time after the last id seen."""
    last: int | None = None
    while True:
        query = sa.select(table.c.id, *columns).where(where).order_by(table.c.id).limit(PAGE)
        if last is not None:
            query = query.where(table.c.id > last)
        rows = bind.execute(query).all()
        yield from rows
        if len(rows) < PAGE:
            return
        last = rows[-1].id


def _in_batches(values: Sequence[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), BATCH):
        yield list(values[start:start + BATCH])


def _set(bind: sa.Connection, table: Any, changes: Sequence[dict[str, Any]]) -> None:
    """Write each ``{"row_id": ..., column: value}`` of ``changes`` to its row (one executemany)."""
    if not changes:
        return
    names = [name for name in changes[0] if name != 'row_id']
    statement = (sa.update(table).where(table.c.id == sa.bindparam('row_id'))
                 .values({name: sa.bindparam(f'new_{name}') for name in names}))
    bind.execute(statement, [{'row_id': c['row_id'], **{f'new_{n}': c[n] for n in names}} for c in changes])


def _delete(bind: sa.Connection, table: Any, ids: Sequence[int]) -> None:
    for batch in _in_batches(sorted(ids)):
        bind.execute(sa.delete(table).where(table.c.id.in_(batch)))


def _changed(bind: sa.Connection, table: Any, columns: Sequence[Any]) -> list[tuple[sa.Row[Any], str]]:
    """The rows of ``table`` whose ``plate_norm`` folds to another non-empty value, with that value."""
    found = []
    for row in _pages(bind, table, [table.c.plate_norm, *columns], _non_ascii(bind, table.c.plate_norm)):
        new = refolded(row.plate_norm)
        if new and new != row.plate_norm:
            found.append((row, new))
    return found


def _holders(bind: sa.Connection, table: Any, columns: Sequence[Any], norms: set[str]) -> list[sa.Row[Any]]:
    """The rows of ``table`` whose ``plate_norm`` already is one of ``norms``."""
    held: list[sa.Row[Any]] = []
    for batch in _in_batches(sorted(norms)):
        query = sa.select(table.c.id, table.c.plate_norm, *columns).where(table.c.plate_norm.in_(batch))
        held.extend(bind.execute(query).all())
    return held


def _fold_plates(bind: sa.Connection) -> None:
    changes = []
    where = sa.or_(_non_ascii(bind, plates.c.text), _non_ascii(bind, plates.c.plate_norm))
    for row in _pages(bind, plates, [plates.c.text, plates.c.plate_norm], where):
        new = fold(row.text or '')[:PLATE_LENGTH]
        if new and new != row.plate_norm:
            changes.append({'row_id': row.id, 'plate_norm': new})
        if len(changes) >= PAGE:
            _set(bind, plates, changes)
            changes = []
    _set(bind, plates, changes)


def _fold_watchlist(bind: sa.Connection) -> None:
    extra = [watchlist.c.label, watchlist.c.max_distance]
    changed = _changed(bind, watchlist, extra)
    if not changed:
        return
    groups: dict[str, list[sa.Row[Any]]] = defaultdict(list)
    for row, new in changed:
        groups[new].append(row)
    changing = {row.id for row, _ in changed}
    for row in _holders(bind, watchlist, extra, set(groups)):
        if row.id not in changing:
            groups[row.plate_norm].append(row)
    merged: list[int] = []
    updates = []
    for new, rows in groups.items():
        rows.sort(key=lambda r: r.id)
        kept, others = rows[0], rows[1:]
        labels = list(dict.fromkeys(r.label.strip() for r in rows if r.label and r.label.strip()))
        label = '; '.join(labels)[:LABEL_LENGTH]
        distance = max(r.max_distance for r in rows)
        if others:
            log.warning('watchlist entries %s fold to %s: merged into entry %d (label %r, max_distance %d)',
                        ', '.join(f'{r.id} ({r.plate_norm})' for r in rows), new, kept.id, label, distance)
            ids = [r.id for r in others]
            for batch in _in_batches(ids):  # before the delete, whose foreign key would clear their alerts
                bind.execute(sa.update(plates).where(plates.c.watch_id.in_(batch)).values(watch_id=kept.id))
            merged.extend(ids)
        if (kept.plate_norm, kept.label, kept.max_distance) != (new, label, distance):
            updates.append({'row_id': kept.id, 'plate_norm': new, 'label': label, 'max_distance': distance})
    _delete(bind, watchlist, merged)  # before the updates: a merged entry may hold the folded plate
    _set(bind, watchlist, updates)


def _keep_newest(bind: sa.Connection, table: Any, key: Sequence[str], newest: str, extra: Sequence[Any]
                 ) -> tuple[list[int], list[sa.Row[Any]]]:
    """Fold ``table``'s plates, keeping of the rows that then share ``key`` (``plate_norm`` and other columns)
    the one with the latest ``newest`` (then the highest id); returns the ids kept and the rows deleted."""
    columns = [*(table.c[name] for name in key if name != 'plate_norm'), table.c[newest], *extra]
    changed = _changed(bind, table, columns)
    if not changed:
        return [], []
    groups: dict[tuple[Any, ...], list[tuple[sa.Row[Any], str]]] = defaultdict(list)
    for row, new in changed:
        groups[tuple(new if name == 'plate_norm' else getattr(row, name) for name in key)].append((row, new))
    changing = {row.id for row, _ in changed}
    for row in _holders(bind, table, columns, {new for _, new in changed}):
        group = tuple(getattr(row, name) for name in key)
        if group in groups and row.id not in changing:
            groups[group].append((row, row.plate_norm))
    kept: list[int] = []
    dropped: list[sa.Row[Any]] = []
    updates = []
    for rows in groups.values():
        rows.sort(key=lambda pair: (getattr(pair[0], newest), pair[0].id))
        *others, (survivor, new) = rows
        dropped.extend(row for row, _ in others)
        kept.append(survivor.id)
        if survivor.plate_norm != new:
            updates.append({'row_id': survivor.id, 'plate_norm': new})
    _delete(bind, table, [row.id for row in dropped])
    _set(bind, table, updates)
    return kept, dropped


def _fold_vehicles(bind: sa.Connection) -> None:
    details = [vehicles.c[name] for name in VEHICLE_DETAILS]
    _, dropped = _keep_newest(bind, vehicles, ('plate_norm', 'country'), 'updated_at', details)
    for row in dropped:
        values = {name: getattr(row, name) for name in VEHICLE_DETAILS if getattr(row, name) is not None}
        log.warning('registry vehicle %s (%s) was removed: folded, its plate is that of a more recently updated '
                    'vehicle, which was kept; its details were: %s', row.plate_norm, row.country or 'any country',
                    values)


def _fold_lookup_cache(bind: sa.Connection) -> None:
    _keep_newest(bind, lookup_cache, ('provider', 'country', 'plate_norm'), 'fetched_at', [])
