"""The database: engine and sessions for SQLite (default, WAL) or PostgreSQL, and schema migrations with Alembic."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from numberplate.errors import NotFoundError, StoreError

log = logging.getLogger(__name__)

DEFAULT_DB_NAME = "numberplate.db"
MIGRATIONS = Path(__file__).with_name("migrations")
T = TypeVar("T")


def default_url(instance_path: str | Path) -> str:
    """The embedded default: an SQLite file in the instance folder."""
    return f"sqlite:///{Path(instance_path).resolve() / DEFAULT_DB_NAME}"


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
        StoreError: the URL is malformed or names a database driver that is not installed.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise StoreError(
            f"database URL {url!r} is not valid; use sqlite:///path/to.db or postgresql+psycopg://user@host/db"
        ) from e
    if parsed.drivername == "postgresql":  # the bare scheme would pick psycopg2, which we do not depend on
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        if parsed.drivername.startswith("sqlite"):
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 10})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(parsed, pool_pre_ping=True)
    except (NoSuchModuleError, ModuleNotFoundError) as e:
        raise StoreError(
            f"no database driver for {parsed.drivername!r}; for PostgreSQL run pip install 'numberplate[postgres]'"
        ) from e
    return engine


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
        """A session that commits when the block ends and rolls back if it raises."""
        with self._sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def migrate(self) -> None:
        """Bring the schema up to date (Alembic ``upgrade head``); safe to call on every start.

        Raises:
            StoreError: the database cannot be reached or migrated.
        """
        from alembic import command

        try:
            with self.engine.begin() as connection:
                cfg = alembic_config()
                cfg.attributes["connection"] = connection
                command.upgrade(cfg, "head")
        except OperationalError as e:
            raise StoreError(f"cannot open or migrate the database {self.safe_url}: {e.orig}") from e

    def tables(self) -> set[str]:
        """Names of the tables that exist."""
        return set(inspect(self.engine).get_table_names())

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
    row = session.get(model, row_id)
    if row is None:
        raise NotFoundError(f"there is no {what} with id {row_id}")
    return row


def alembic_config() -> Any:
    """The Alembic config of the shipped migrations (no alembic.ini needed)."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg
