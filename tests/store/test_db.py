"""The database layer: migrations build exactly the models' schema, SQLite runs in WAL mode, bad URLs say why."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from numberplate.errors import StoreError
from numberplate.store.db import Database, default_url
from numberplate.store.models import Base


def test_migrations_create_every_table_of_the_models(db: Database) -> None:
    assert db.tables() >= set(Base.metadata.tables) | {"alembic_version"}


def test_migrated_schema_has_no_difference_from_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models changed without a migration: {diff}"


def test_migrate_is_idempotent(db: Database) -> None:
    db.migrate()
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0001"


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'sub' / 'x.db'}")
    db.migrate()
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert (tmp_path / "sub" / "x.db").is_file()


def test_default_url_is_a_file_in_the_instance_folder(tmp_path: Path) -> None:
    assert default_url(tmp_path) == f"sqlite:///{tmp_path.resolve() / 'numberplate.db'}"


@pytest.mark.parametrize("url", ["not a url", "nosuchdb://x/y"])
def test_bad_url_raises_store_error(url: str) -> None:
    with pytest.raises(StoreError, match=r"database|driver"):
        Database(url)


def test_unreachable_postgres_raises_store_error() -> None:
    db = Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(StoreError, match="cannot open or migrate"):
        db.migrate()


def test_safe_url_hides_the_password() -> None:
    db = Database("postgresql://user:secret@127.0.0.1:1/db")
    assert "secret" not in db.safe_url and "***" in db.safe_url
