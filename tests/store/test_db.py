"""The database layer: migrations build exactly the models' schema, SQLite runs in WAL mode, bad URLs say why."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, func, inspect, select, text

from numberplate.errors import NotFoundError, StoreError
from numberplate.store.db import MAX_ID, Database, alembic_config, default_url, id_fits
from numberplate.store.files import ImageFiles
from numberplate.store.models import Base, LookupCacheEntry, Plate, Usage, Vehicle
from numberplate.store.reads import ReadStore
from numberplate.store.tokens import Tokens
from numberplate.store.vehicles import LookupCache, VehicleRegistry
from numberplate.store.watchlist import Watchlist
from numberplate.types import BoundingBox, Detection, ImageResult, PlateRead, PlateText
from tests.store.conftest import alembic_version, drop_everything, empty_database
from tests.store.interleave import before_statement

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
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD == "0006"


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
    tokens.count_call(token, 60)  # usage rows, which the rebuilt api_tokens must not cascade-delete
    registry = VehicleRegistry(db)
    vehicle = registry.add({"plate": "AB12CDE", "make": "Ford"})
    watch = watchlist.add("AB12CDE", "stolen")
    saved = [reads.save(_result(t), image_jpeg=t.encode(), crops_jpeg=[b"crop"], token_id=token.id)
             for t in ("AB12CDE", "XY99ZZZ", "AB12CDF")]

    db.migrate()  # 0001 -> head: on SQLite every table with visible ids is rebuilt

    assert tokens.usage(token) == (1, None)
    assert registry.find("AB12CDE") == vehicle

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



@pytest.fixture(params=["sqlite", "postgresql"])
def db_at_start(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database of each kind at the test's ``start`` revision; None: a new one, without any table."""
    start = request.getfixturevalue("start")
    database = empty_database(request, tmp_path, start or "0001")
    if start is None:
        drop_everything(database)
    yield database
    database.close()


def _start_worker(url: str, barrier: Any, errors: Any) -> None:
    """One worker process's start: its own Database, migrated the moment every other worker's is."""
    db = Database(url)
    barrier.wait()
    try:
        db.migrate()
    except Exception as e:
        errors.put(f"{type(e).__name__}: {e}")
    finally:
        db.close()


@pytest.mark.parametrize("start", [None, "0001"])
def test_workers_migrating_one_database_at_once_all_succeed(db_at_start: Database, start: str | None) -> None:
    """gunicorn run on its own (or two `numberplate serve`) starts every worker's create_app() at the same moment."""
    db = db_at_start
    token = Tokens(db).create("camera")[1] if start else None
    db.close()  # nothing open may cross into the workers
    context = multiprocessing.get_context("spawn")
    barrier, errors = context.Barrier(4), context.Queue()
    workers = [context.Process(target=_start_worker, args=(db.url, barrier, errors)) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    assert failures == [] and [w.exitcode for w in workers] == [0] * 4
    assert alembic_version(db) == HEAD
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    assert [t.id for t in Tokens(db).list()] == ([token.id] if token else [])


class Interrupted(Exception):
    """Stands in for a process killed (or a server gone) in the middle of a migration."""


@pytest.mark.parametrize(("start", "statement"), [
    (None, "CREATE TABLE plates"),  # the first start, half-way through creating the tables
    ("0001", "UPDATE alembic_version"),  # an upgrade, after every table was rebuilt, before the new version is kept
])
def test_a_migration_interrupted_midway_changes_nothing_and_can_be_run_again(
        db_at_start: Database, tmp_path: Path, start: str | None, statement: str) -> None:
    db = db_at_start
    reads = ReadStore(db, ImageFiles(tmp_path / "images"))
    saved = [reads.save(_result("AB12CDE"), image_jpeg=b"jpeg")] if start else []
    tables = db.tables()

    def interrupt() -> None:
        raise Interrupted

    with before_statement(db, statement, interrupt) as ran, pytest.raises(Interrupted):
        db.migrate()
    assert ran
    assert db.tables() == tables  # no table made, none half-rebuilt
    if start:
        assert alembic_version(db) == start
    db.migrate()  # the next start finishes the job
    assert alembic_version(db) == HEAD
    assert [reads.get(r.id) for r in saved] == saved


def test_a_database_of_a_newer_release_is_refused_and_left_as_it_is(db: Database) -> None:
    Tokens(db).create("camera")
    with db.engine.begin() as conn:  # as a later release's migration would leave it
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(StoreError, match=r"database .* has schema revision 0099, which this numberplate does not "
                                         r"know \(its newest is 0006\).*upgrade numberplate"):
        db.migrate()
    assert alembic_version(db) == "0099"
    assert [t.name for t in Tokens(db).list()] == ["camera"]


@pytest.mark.parametrize("name", ["sp ace ünï", "per%20cent", "what?mode=ro", "hash#x", "at@host:1"])
def test_the_default_database_is_in_the_instance_folder_whatever_its_name(tmp_path: Path, name: str) -> None:
    instance = tmp_path / name
    db = Database(default_url(instance))
    db.migrate()
    Tokens(db).create("camera")
    db.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # not "per cent", nor a file named "what"
    assert (instance / "numberplate.db").is_file()


@pytest.mark.parametrize("row_id", [2**31, 2**63 - 1, 2**63, 2**64, -(2**63) - 1])
def test_an_id_beyond_the_id_columns_names_no_row(db: Database, row_id: int) -> None:
    """The databases refuse to compare an id beyond 64 bits (and no row has one); none has these others either."""
    reads, watchlist = ReadStore(db), Watchlist(db)
    calls = [lambda: Tokens(db).revoke(row_id), lambda: reads.get(row_id), lambda: reads.delete(row_id),
             lambda: watchlist.get(row_id), lambda: watchlist.update(row_id, label="x"),
             lambda: watchlist.delete(row_id)]
    for call in calls:
        with pytest.raises(NotFoundError, match=f"there is no (token|read|watchlist entry) with id {row_id}$"):
            call()


def test_a_full_disk_is_a_store_error_that_says_so(tmp_path: Path) -> None:
    db = Database(default_url(tmp_path))
    db.migrate()
    with db.engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
    db.engine.dispose()
    # A file that may not grow by one page fails as a full disk does (SQLITE_FULL).
    event.listen(db.engine, "connect", lambda conn, _: conn.execute(f"PRAGMA max_page_count={pages}"))
    tokens = Tokens(db)
    with pytest.raises(StoreError, match=r"database or disk is full; free some disk space"):
        for _ in range(1000):
            tokens.create("n" * 100)
    db.close()


def test_an_upgrade_that_an_earlier_release_left_half_done_is_finished(tmp_path: Path) -> None:
    """Before migrations ran in one transaction, an SQLite upgrade stopped midway kept the first table's copy."""
    db = Database(default_url(tmp_path))
    db.migrate("0001")
    token = Tokens(db).create("camera")[1]
    with db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE _alembic_tmp_api_tokens (id INTEGER NOT NULL PRIMARY KEY)")
    db.migrate()
    assert alembic_version(db) == HEAD
    assert db.tables() == set(Base.metadata.tables) | {"alembic_version"}
    assert [t.id for t in Tokens(db).list()] == [token.id]
    db.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_at_0002(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database of each kind at revision 0002 (32-bit ids on PostgreSQL)."""
    database = empty_database(request, tmp_path, "0002")
    yield database
    database.close()


# Every id column and foreign key to one, by table.
ID_COLUMNS = {
    "api_tokens": {"id"}, "watchlist": {"id"}, "reads": {"id", "token_id"}, "plates": {"id", "read_id", "watch_id"},
    "usage": {"id", "token_id"}, "vehicles": {"id"}, "lookup_cache": {"id"},
    "webhook_deliveries": {"id", "read_id"},  # 0006, made 64-bit from the start
}
BIG = 2**31 + 10  # beyond any 32-bit id


def _skip_ids_past(db: Database, table: str, last: int) -> None:
    """Make ``table``'s next id ``last + 1``, as a long-running site's would be."""
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {last})"))
        else:
            conn.execute(text("UPDATE sqlite_sequence SET seq = :last WHERE name = :table"),
                         {"last": last, "table": table})


def test_upgrade_from_0002_makes_every_id_64_bit_and_keeps_every_row(db_at_0002: Database, tmp_path: Path) -> None:
    db = db_at_0002
    reads, watchlist, tokens = ReadStore(db, ImageFiles(tmp_path / "images")), Watchlist(db), Tokens(db)
    registry, cache = VehicleRegistry(db), LookupCache(db, timedelta(hours=1))
    token = tokens.create("camera")[1]
    tokens.count_call(token, 60)
    vehicle = registry.add({"plate": "AB12CDE", "make": "Ford"})
    cache.put("dvla", "AB12CDE", "gb", vehicle)
    watchlist.add("AB12CDE", "stolen")
    saved = [reads.save(_result(t), image_jpeg=t.encode(), crops_jpeg=[b"crop"], token_id=token.id)
             for t in ("AB12CDE", "XY99ZZZ")]

    def rows() -> dict[str, list[tuple[Any, ...]]]:
        with db.session() as session:
            return {model.__tablename__: [tuple(r) for r in session.execute(
                select(*model.__table__.c).order_by(model.__table__.c.id))]
                for model in (Usage, Vehicle, LookupCacheEntry, Plate)}

    before = rows()
    db.migrate()

    assert rows() == before
    assert [reads.get(r.id) for r in saved] == saved
    tokens.count_call(token, 60)  # the kept usage row goes on counting
    assert tokens.usage(token) == (2, None)
    assert cache.get("dvla", "AB12CDE", "gb") == vehicle and registry.find("AB12CDE") == vehicle
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []  # foreign keys included
        schema = inspect(conn)
        for table, columns in ID_COLUMNS.items():
            types = {c["name"]: str(c["type"]) for c in schema.get_columns(table) if c["name"] in columns}
            expected = "BIGINT" if db.engine.dialect.name == "postgresql" else "INTEGER"  # SQLite's is 64-bit
            assert types == dict.fromkeys(columns, expected), table
            fks = {(tuple(fk["constrained_columns"]), fk["referred_table"]) for fk in schema.get_foreign_keys(table)}
            assert {c for (c,), _ in fks} == columns - {"id"}, table
        if db.engine.dialect.name == "postgresql":
            sequences = conn.execute(text("SELECT sequencename, data_type::text, max_value FROM pg_sequences")).all()
            assert sorted(sequences) == [(f"{t}_id_seq", "bigint", MAX_ID) for t in sorted(ID_COLUMNS)]
        else:
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []

    # Sequences go on from where they were; ids are still never given again; ids beyond 32 bits work.
    reads.delete(saved[-1].id)
    after = reads.save(_result("NEW1"), image_jpeg=b"new")
    assert after.id == saved[-1].id + 1 and after.plates[0].id == saved[-1].plates[0].id + 1
    for table in ("reads", "plates", "watchlist", "api_tokens"):
        _skip_ids_past(db, table, BIG)
    big = reads.save(_result("AB12CDE"), image_jpeg=b"big", token_id=token.id)
    assert big.id == BIG + 1 and big.plates[0].id == BIG + 1 and big.plates[0].watch is not None
    assert reads.get(BIG + 1) == big
    assert watchlist.add("ZZ1").id == BIG + 1
    big_token = tokens.create("second")[1]
    assert big_token.id == BIG + 1
    tokens.count_call(big_token, 60)
    assert tokens.revoke(BIG + 1).revoked
    reads.delete(BIG + 1)
    with pytest.raises(NotFoundError, match=f"there is no read with id {BIG + 1}$"):
        reads.get(BIG + 1)


def test_ids_fit_64_bits_on_every_database() -> None:
    assert MAX_ID == 2**63 - 1
    assert id_fits(2**31) and id_fits(MAX_ID) and id_fits(-(2**63))
    assert not id_fits(MAX_ID + 1) and not id_fits(-(2**63) - 1)
