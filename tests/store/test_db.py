"""The database layer: migrations build exactly the models' schema, SQLite runs in WAL mode, bad URLs say why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text

from numberplate.errors import StoreError
from numberplate.store.db import Database, alembic_config, default_url
from numberplate.store.files import ImageFiles
from numberplate.store.models import Base, Plate
from numberplate.store.reads import ReadStore
from numberplate.store.tokens import Tokens
from numberplate.store.watchlist import Watchlist
from numberplate.types import BoundingBox, Detection, ImageResult, PlateRead, PlateText
from tests.store.conftest import empty_database

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_migrations_create_every_table_of_the_models(db: Database) -> None:
    assert db.tables() >= set(Base.metadata.tables) | {"alembic_version"}


def test_migrated_schema_has_no_difference_from_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models changed without a migration: {diff}"


def test_migrate_is_idempotent(db: Database) -> None:
    db.migrate()
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD == "0002"


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


@pytest.fixture(params=["sqlite", "postgresql"])
def db_at_0001(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database of each kind made by the first release's schema (revision 0001)."""
    database = empty_database(request, tmp_path, "0001")
    yield database
    database.close()


def _result(text: str) -> ImageResult:
    return ImageResult(64, 48, (PlateRead(Detection(BoundingBox(1, 2, 30, 12), 0.9), PlateText(text, 0.9)),), 1.0)


def test_upgrade_from_0001_keeps_every_row_and_then_never_reuses_ids(db_at_0001: Database, tmp_path: Path) -> None:
    db = db_at_0001
    reads, watchlist, tokens = ReadStore(db, ImageFiles(tmp_path / "images")), Watchlist(db), Tokens(db)
    token = tokens.create("camera")[1]
    watch = watchlist.add("AB12CDE", "stolen")
    saved = [reads.save(_result(t), image_jpeg=t.encode(), crops_jpeg=[b"crop"], token_id=token.id)
             for t in ("AB12CDE", "XY99ZZZ", "AB12CDF")]

    db.migrate()  # 0001 -> head: on SQLite every table with visible ids is rebuilt

    assert [reads.get(r.id) for r in saved] == saved  # plates, crops and watchlist hits included
    assert [w.to_dict() for w in watchlist.list()] == [watch.to_dict()]
    assert [t.id for t in tokens.list()] == [token.id]
    with db.session() as session:  # the rebuild must not have cascaded to (or detached) any plate
        assert session.scalar(select(func.count()).select_from(Plate)) == 3
        assert session.scalar(select(func.count()).where(Plate.watch_id == watch.id)) == 2
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        if db.engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1  # back on for the app

    reads.delete(saved[-1].id)
    assert reads.save(_result("NEW1")).id > saved[-1].id
    plate_ids = [p.id for r in saved[:2] for p in r.plates]
    reads.delete(saved[1].id)
    assert reads.save(_result("NEW2")).plates[0].id > max(plate_ids)
    watchlist.delete(watch.id)
    assert watchlist.add("ZZ1").id > watch.id


def test_reads_and_plates_ids_are_never_reused(db: Database) -> None:
    reads = ReadStore(db)
    reads.save(_result("AA1"))
    newest = reads.save(_result("BB2"))
    reads.delete(newest.id)
    again = reads.save(_result("CC3"))
    assert again.id > newest.id  # a kept link to /reads/<id> never shows another read
    assert again.plates[0].id > newest.plates[0].id


def test_a_folder_that_cannot_be_made_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(StoreError, match=r"cannot create the folder .*file.*instance_path"):
        Database(default_url(tmp_path / "file" / "instance"))
    with pytest.raises(StoreError, match="cannot create the folder /proc/x"):
        Database("sqlite:////proc/x/y.db")


def test_a_file_that_is_not_a_database_is_a_store_error_and_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "numberplate.db"
    path.write_bytes(b"garbage\n" * 200)
    db = Database(default_url(tmp_path))
    with pytest.raises(StoreError, match=rf"cannot open or migrate the database .*{path.name}: file is not a "
                                         r"database; .*move it away"):
        db.migrate()
    with pytest.raises(StoreError, match="file is not a database"):
        Tokens(db).list()
    assert path.read_bytes() == b"garbage\n" * 200
    assert sorted(p.name for p in tmp_path.iterdir()) == ["numberplate.db"]


def test_writing_to_a_read_only_database_is_a_store_error(tmp_path: Path) -> None:
    Database(default_url(tmp_path)).migrate()
    # A read-only URI stands in for a file this user may not write (chmod means nothing to root).
    db = Database(f"sqlite:///file:{tmp_path / 'numberplate.db'}?mode=ro&uri=true")
    db.migrate()  # nothing to change: opening it read-only is fine
    assert Tokens(db).list() == []
    with pytest.raises(StoreError, match="readonly database; make the database file and its folder writable"):
        Tokens(db).create("x")
    assert not (tmp_path / "file:").exists()  # a URI is not a folder to create
