"""The database: engine and sessions for SQLite (default, WAL) or PostgreSQL, and schema migrations with Alembic."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    inspect,
    select,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, IntegrityError, NoSuchModuleError
from sqlalchemy.orm import QueryableAttribute, Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from numberplate.errors import NotFoundError, StoreError

log = logging.getLogger(__name__)

DEFAULT_DB_NAME = "numberplate.db"
MIGRATIONS = Path(__file__).with_name("migrations")
# Of the PostgreSQL advisory lock migrations hold; any number no other lock of the app uses.
MIGRATION_LOCK_KEY = int.from_bytes(b"np-migr", "big")
MIGRATION_WAIT_S = 600  # how long SQLite waits for another process's migration (rebuilding a large history)
# The id columns are signed 64-bit integers on every database (migration 0003); ids given out are positive.
MAX_ID = 2**63 - 1
MIN_ID = -(2**63)
T = TypeVar("T")


def default_url(instance_path: str | Path) -> str:
    """The embedded default: an SQLite file in the instance folder (whose name may hold ``%``, ``?`` or ``#``)."""
    path = Path(instance_path).resolve() / DEFAULT_DB_NAME
    return URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer and survives a killed process; foreign keys are off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``); SQLite folders are created.

    Raises:
        StoreError: the URL is malformed, names a database driver that is not installed, or an SQLite file in
            a folder that cannot be created.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise StoreError(
            f"database URL {url!r} is not valid; use sqlite:///path/to.db or postgresql+psycopg://user@host/db"
        ) from e
    if parsed.drivername == "postgresql":  # the bare scheme would pick psycopg2, which we do not depend on
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername.startswith("sqlite"):
        _make_sqlite_folder(parsed.database, parsed.query.get("uri") in ("true", "1"))
    try:
        if parsed.drivername.startswith("sqlite"):
            engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 10})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(parsed, pool_pre_ping=True)
    except (NoSuchModuleError, ModuleNotFoundError) as e:
        raise StoreError(
            f"no database driver for {parsed.drivername!r}; for PostgreSQL run pip install 'numberplate[postgres]'"
        ) from e
    return engine


def _make_sqlite_folder(database: str | None, is_uri: bool) -> None:
    """Create the folder of an SQLite file (not for in-memory or ``file:...?uri=true`` databases)."""
    if not database or database == ":memory:" or is_uri:
        return
    folder = Path(database).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StoreError(
            f"cannot create the folder {folder} of the database {database}: {e.strerror or e}; "
            "set instance_path (NUMBERPLATE_INSTANCE_PATH) or database_url to a place this user can write"
        ) from e


def _hint(reason: str) -> str:
    """What to do about a database error, from the driver's message."""
    text = reason.lower()
    if "not a database" in text or "malformed" in text:
        return "it was left as it is: move it away, or set database_url to a numberplate database"
    if "readonly" in text or "read-only" in text:
        return "make the database file and its folder writable by the user numberplate runs as"
    if "locked" in text or "busy" in text:
        return "another process holds the database lock; try again in a moment"
    if "disk is full" in text or "no space left" in text:
        return "free some disk space where the database is, or move it (database_url) to a larger disk"
    if "unable to open" in text:
        return "check that the database's folder exists and that this user can read and write it"
    return "check that the database server is running and that database_url is right"


class Database:
    """One database: its engine, a session factory and migrations. Share one per process.

    Args:
        url: SQLAlchemy URL; see :func:`make_engine`.
    """

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits when the block ends and rolls back if it raises.

        Raises:
            StoreError: the database cannot be opened, read or written (not a database, read-only, locked,
                server gone); an ``IntegrityError`` is passed on unchanged.
        """
        try:
            with self._sessions() as session:
                try:
                    yield session
                    session.commit()
                except BaseException:
                    session.rollback()
                    raise
        except IntegrityError:
            raise  # a broken constraint is the caller's to handle (an entry that already exists, ...)
        except DatabaseError as e:  # cannot open, not a database, read-only, locked, server gone
            raise self.error(e) from e

    def error(self, e: DatabaseError, doing: str = "cannot use") -> StoreError:
        """A :class:`StoreError` for a driver error, naming the database and what to do."""
        reason = str(e.orig if e.orig is not None else e).strip()
        return StoreError(f"{doing} the database {self.safe_url}: {reason}; {_hint(reason)}")

    def migrate(self, revision: str = "head") -> None:
        """Bring the schema up to date (Alembic ``upgrade head``); safe to call on every start.

        Args:
            revision: the schema revision to upgrade to (tests build older databases with it).

        Raises:
            StoreError: the database cannot be reached or migrated.
        """
        from alembic import command

        try:
            with self.engine.connect() as connection:
                sqlite = connection.dialect.name == "sqlite"
                try:
                    if sqlite:
                        # Migrations rebuild SQLite tables (create a copy, drop the old one, rename): with foreign
                        # keys on, the drop would cascade-delete the rows that refer to the table. The pragma
                        # only takes effect outside a transaction, hence before begin().
                        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                        connection.exec_driver_sql(f"PRAGMA busy_timeout={MIGRATION_WAIT_S * 1000}")
                        connection.commit()
                    with connection.begin():
                        _lock_migrations(connection)
                        cfg = alembic_config()
                        cfg.attributes["connection"] = connection
                        self._refuse_unknown_revision(connection, cfg)
                        command.upgrade(cfg, revision)
                finally:
                    if sqlite:
                        connection.invalidate()  # never pool this connection with its foreign keys off
        except DatabaseError as e:
            raise self.error(e, "cannot open or migrate") from e

    def _refuse_unknown_revision(self, connection: Connection, cfg: Any) -> None:
        """Raise when the schema is at a revision these migrations do not have (a newer release wrote it)."""
        from alembic.migration import MigrationContext
        from alembic.script import ScriptDirectory

        script = ScriptDirectory.from_config(cfg)
        known = {s.revision for s in script.walk_revisions()}
        for current in MigrationContext.configure(connection).get_current_heads():
            if current not in known:
                raise StoreError(
                    f"the database {self.safe_url} has schema revision {current}, which this numberplate does not "
                    f"know (its newest is {script.get_current_head()}): a newer release wrote it; upgrade "
                    "numberplate, or set database_url to another database"
                )

    def tables(self) -> set[str]:
        """Names of the tables that exist.

        Raises:
            StoreError: the database cannot be reached.
        """
        try:
            return set(inspect(self.engine).get_table_names())
        except DatabaseError as e:
            raise self.error(e) from e

    @property
    def safe_url(self) -> str:
        """The URL with any password masked, for logs and messages."""
        return make_url(self.url).render_as_string(hide_password=True)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def get_or_raise(session: Session, model: type[T], row_id: int, what: str) -> T:
    """The row of ``model`` with primary key ``row_id``.

    Raises:
        NotFoundError: there is none ("there is no {what} with id N").
    """
    row = session.get(model, row_id) if id_fits(row_id) else None
    if row is None:
        raise NotFoundError(not_found(what, row_id))
    return row


def id_fits(row_id: int) -> bool:
    """Whether ``row_id`` fits the id columns: signed 64-bit integers (BIGINT on PostgreSQL, INTEGER on SQLite).

    One that does not names no row, but the database refuses to compare it ("bigint out of range", or
    ``OverflowError`` from SQLite's driver): ask this before looking such an id up.
    """
    return MIN_ID <= row_id <= MAX_ID


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of at most ``size`` (to keep each statement's ``IN (...)`` list short)."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def one_of(column: QueryableAttribute[Any], values: Collection[str]) -> ColumnElement[bool]:
    """``column IN (values)`` with the values written into the statement, for batches of letters and digits
    (normalised plates, SHA-256 names) looked up one after another.

    With bound values every batch is the same statement: psycopg prepares it after five runs and PostgreSQL then
    plans it once for any values, a plan that compares every row of the table with every value (0.4 s a batch of
    500 among 20,000 vehicles, instead of 5 ms).
    """
    return column.in_(bindparam(column.key, list(values), unique=True, literal_execute=True))


def not_found(what: str, row_id: int) -> str:
    """The message of a missing row: ``"there is no {what} with id N"``."""
    return f"there is no {what} with id {row_id}"


def delete_or_raise(session: Session, model: type[Any], row_id: int, what: str) -> None:
    """Delete the row of ``model`` with primary key ``row_id`` in one DELETE, whose row count says whether this
    call deleted it: of two deletes at once both may find the row, one deletes it and the other's DELETE matches
    none (PostgreSQL: after waiting for the first to commit); an ORM delete of a row already gone only warns.

    Raises:
        NotFoundError: there is none (any more).
    """
    if not id_fits(row_id):
        raise NotFoundError(not_found(what, row_id))
    result = session.execute(delete(model).where(model.id == row_id))
    if not getattr(result, "rowcount", 0):
        raise NotFoundError(not_found(what, row_id))


@contextmanager
def gone_is_not_found(message: str) -> Iterator[None]:
    """Turn a row deleted by another transaction while this one changed it into a :class:`NotFoundError`.

    An update reads the row, then writes it: a delete committed in between leaves the write matching no row,
    which SQLAlchemy reports as ``StaleDataError``. To the caller the row is simply gone, as if the delete had
    come first. Wrap the whole ``with db.session()`` block: the write may happen at the flush or the commit.

    Raises:
        NotFoundError: with ``message``, when the row was gone.
    """
    try:
        yield
    except StaleDataError as e:
        raise NotFoundError(message) from e


def _lock_migrations(connection: Connection) -> None:
    """Hold, until ``connection``'s transaction ends, the lock that lets one process at a time migrate.

    Workers starting at once would otherwise each see the old revision and each run its migrations. The lock is
    taken before Alembic reads the revision, so a worker that waited sees the schema its peer left.
    SQLite: the write lock, which also makes the whole migration one transaction (pysqlite begins a transaction
    only at the first INSERT or UPDATE: each CREATE TABLE before it would be kept by a migration that fails).
    PostgreSQL: a transaction-level advisory lock.
    """
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))


def alembic_config() -> Any:
    """The Alembic config of the shipped migrations (no alembic.ini needed)."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg
