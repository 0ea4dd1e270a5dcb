"""Storage fixtures: every store test runs against SQLite (a file) and a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import MetaData, text

from numberplate.store.db import Database, alembic_config
from numberplate.store.files import ImageFiles


def empty_database(request: pytest.FixtureRequest, tmp_path: Path, revision: str = "head") -> Database:
    """An empty database of the kind ``request.param`` names ("sqlite" or "postgresql") at schema ``revision``."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'test.db'}")
    else:
        database = Database(request.getfixturevalue("postgres_url"))
        drop_everything(database)
    database.migrate(revision)
    return database


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A freshly migrated, empty database of each kind."""
    database = empty_database(request, tmp_path)
    yield database
    database.close()


def drop_everything(database: Database) -> None:
    meta = MetaData()
    meta.reflect(database.engine)
    with database.engine.begin() as conn:
        meta.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture
def files(tmp_path: Path) -> ImageFiles:
    return ImageFiles(tmp_path / "images")


def alembic_version(db: Database) -> str | None:
    """The revision ``db`` is at (its ``alembic_version`` row)."""
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def downgrade(db: Database, revision: str) -> None:
    """Migrate ``db`` down to ``revision`` in one transaction."""
    with db.engine.begin() as connection:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)
