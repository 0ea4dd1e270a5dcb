"""Migration 0005: plates stored before full-width forms were folded are folded, and unique clashes resolved."""

from __future__ import annotations

import importlib.util
import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, insert, select, update

from numberplate.store.clock import normalize_plate
from numberplate.store.db import MIGRATIONS, Database
from numberplate.store.models import LookupCacheEntry, Plate, Read, Vehicle, WatchEntry
from numberplate.store.reads import ReadQuery, ReadStore
from numberplate.store.vehicles import LookupCache, VehicleRegistry
from numberplate.store.watchlist import Watchlist, WatchlistError
from numberplate.types import BoundingBox, Detection, ImageResult, PlateRead, PlateText, VehicleInfo
from tests.store.conftest import alembic_version, downgrade, empty_database
from tests.store.interleave import before_statement

FOLD = MIGRATIONS / "versions" / "0005_fold_stored_plates.py"


def old_normalize(plate: str) -> str:
    """What ``normalize_plate`` stored before it folded compatibility forms."""
    return "".join(c for c in plate.upper() if c.isalnum())


@pytest.fixture(params=["sqlite", "postgresql"])
def db_at_0004(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database of each kind at revision 0004, the last before plates were folded."""
    database = empty_database(request, tmp_path, "0004")
    yield database
    database.close()



def save_unfolded(reads: ReadStore, *texts: str | None) -> int:
    """Save a read of ``texts`` as the release before folding did (plates normalised by :func:`old_normalize`)."""
    plates = tuple(PlateRead(Detection(BoundingBox(1 + i, 2, 30 + i, 12), 0.9), PlateText(t, 0.9) if t else None)
                   for i, t in enumerate(texts))
    saved = reads.save(ImageResult(64, 48, plates, 1.0))
    with reads.db.session() as session:
        for plate in saved.plates:
            session.execute(update(Plate).where(Plate.id == plate.id)
                            .values(plate_norm=old_normalize(plate.text or ""), watch_id=None))
    return saved.id


def add_row(db: Database, row: Any) -> Any:
    """Insert an ORM row as given (its plate_norm not normalised again, as an earlier release stored it)."""
    with db.session() as session:
        session.add(row)
        session.flush()
        return row


@contextmanager
def written_rows(db: Database, table: str) -> Iterator[list[int]]:
    """Count the rows that UPDATE statements on ``table`` set (executemany counts each of its rows)."""
    counted: list[int] = []

    def hook(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith(f"UPDATE {table.upper()} "):
            counted.append(len(parameters) if executemany else 1)

    event.listen(db.engine, "before_cursor_execute", hook)
    try:
        yield counted
    finally:
        event.remove(db.engine, "before_cursor_execute", hook)


def _norms(db: Database) -> dict[int, str]:
    with db.session() as session:
        return {plate_id: norm for plate_id, norm in session.execute(select(Plate.id, Plate.plate_norm))}


def _found(reads: ReadStore, plate: str) -> set[int]:
    return {r.id for r in reads.search(ReadQuery(plate=plate, per_page=100)).items}


def test_plates_stored_unfolded_are_folded_and_found_and_only_they_are_written(db_at_0004: Database) -> None:
    db = db_at_0004
    reads = ReadStore(db)
    full_width = save_unfolded(reads, "ＡＢ-１２")
    ascii_read = save_unfolded(reads, "ab-12", None)
    others = save_unfolded(reads, "皖A·12345", "Ⅻ ②", "℡9", "粤Ｂ１２")
    assert _found(reads, "AB12") == {ascii_read}  # the bug: the full-width read is not found
    before = _norms(db)
    assert "ＡＢ１２" in before.values() and "Ⅻ②" in before.values()

    with written_rows(db, "plates") as written:
        db.migrate()

    assert alembic_version(db) == "0006"
    assert _found(reads, "AB12") == {full_width, ascii_read}
    assert _found(reads, "XII2") == _found(reads, "TEL9") == _found(reads, "粤B12") == _found(reads, "皖A12345") == {
        others}
    with db.session() as session:
        stored = session.execute(select(Plate.id, Plate.text, Plate.plate_norm)).all()
    assert {norm for _, _, norm in stored} == {"AB12", "", "皖A12345", "XII2", "TEL9", "粤B12"}
    assert all(norm == normalize_plate(plate_text or "") for _, plate_text, norm in stored)
    changed = sum(before[plate_id] != norm for plate_id, _, norm in stored)
    assert changed == 4 and sum(written) == changed  # not the ASCII plates, nor 皖A12345, which stays as it was
    assert reads.counts() == {"reads": 3, "plates": 7}


def test_watchlist_entries_that_fold_to_one_are_merged_and_no_alert_is_lost(
        db_at_0004: Database, caplog: pytest.LogCaptureFixture) -> None:
    db = db_at_0004
    reads, watchlist = ReadStore(db), Watchlist(db)
    full_width = add_row(db, WatchEntry(plate_norm="ＡＢ12", label="stolen", max_distance=0))
    ascii_entry = add_row(db, WatchEntry(plate_norm="AB12", label="fleet", max_distance=2))
    both_odd = [add_row(db, WatchEntry(plate_norm=p, label=label, max_distance=d))
                for p, label, d in (("ＣＤ３", "", 1), ("CD３", "visitor", 0))]
    alone = add_row(db, WatchEntry(plate_norm="ＥＦ５", label="same label", max_distance=1))
    untouched = add_row(db, WatchEntry(plate_norm="XY1", label="", max_distance=1))
    alerts = {}
    for plate, entry in (("ＡＢ12", full_width), ("AB12", ascii_entry), ("CD３", both_odd[1]), ("ＥＦ５", alone)):
        read_id = save_unfolded(reads, plate)
        with db.session() as session:
            session.execute(update(Plate).where(Plate.read_id == read_id).values(watch_id=entry.id))
        alerts[read_id] = entry.id

    with caplog.at_level(logging.WARNING, "numberplate.store.migrations"):
        db.migrate()

    assert [(w.id, w.plate, w.label, w.max_distance) for w in watchlist.list()] == [
        (full_width.id, "AB12", "stolen; fleet", 2),  # the oldest kept; the widest distance; both labels
        (both_odd[0].id, "CD3", "visitor", 1),
        (alone.id, "EF5", "same label", 1),
        (untouched.id, "XY1", "", 1),
    ]
    kept = {ascii_entry.id: full_width.id, both_odd[1].id: both_odd[0].id}
    for read_id, entry_id in alerts.items():  # every read is there, with an alert naming the kept entry
        watch = reads.get(read_id).plates[0].watch
        assert watch is not None and watch.id == kept.get(entry_id, entry_id)
    assert f"merged into entry {full_width.id}" in caplog.text and f"merged into entry {both_odd[0].id}" in caplog.text
    with pytest.raises(WatchlistError, match="AB12 is already on the watchlist"):
        watchlist.add("ＡＢ１２")


def test_registry_vehicles_and_cached_answers_that_fold_to_one_keep_the_newest(
        db_at_0004: Database, caplog: pytest.LogCaptureFixture) -> None:
    db = db_at_0004
    day = datetime(2025, 1, 1, tzinfo=UTC)
    for plate, country, make, age in (("ＡＢ12", "gb", "Ford", 2), ("AB12", "gb", "Fiat", 1), ("ＡＢ12", "", "Audi", 5),
                                      ("ＣＤ3", "gb", "Kia", 1), ("CD3", "gb", "Volkswagen", 3),
                                      ("ＧＨ7", "gb", "Seat", 4), ("GH7", "gb", "Mini", 4)):
        add_row(db, Vehicle(plate_norm=plate, country=country, make=make, updated_at=day - timedelta(days=age)))
    later = datetime.now(UTC) + timedelta(days=1)
    for plate, make, age in (("ＡＢ12", "newer", 1), ("AB12", "older", 2)):
        add_row(db, LookupCacheEntry(provider="dvla", country="gb", plate_norm=plate, found=True,
                                     payload={"plate": "AB12", "source": "dvla", "make": make}, expires_at=later,
                                     fetched_at=day - timedelta(days=age)))

    with caplog.at_level(logging.WARNING, "numberplate.store.migrations"):
        db.migrate()

    registry = VehicleRegistry(db)
    assert sorted((country, v.plate, v.make) for country, v in registry.list()) == [
        ("", "AB12", "Audi"), ("gb", "AB12", "Fiat"), ("gb", "CD3", "Kia"), ("gb", "GH7", "Mini")]
    assert registry.find("ａｂ１２", "gb").make == "Fiat"  # typed full-width, found as it is stored now
    assert "'make': 'Ford'" in caplog.text and "'make': 'Volkswagen'" in caplog.text  # the removed ones, logged
    assert "'make': 'Seat'" in caplog.text  # of two updated at once, the later added is kept
    cached = LookupCache(db, timedelta(hours=1)).get("dvla", "AB12", "gb")
    assert cached == VehicleInfo(plate="AB12", source="dvla", make="newer")
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(LookupCacheEntry)) == 1


def test_the_fold_is_one_transaction_that_an_interruption_undoes(db_at_0004: Database) -> None:
    db = db_at_0004
    reads = ReadStore(db)
    save_unfolded(reads, "ＡＢ12")
    add_row(db, WatchEntry(plate_norm="ＡＢ12", label="", max_distance=1))
    add_row(db, WatchEntry(plate_norm="AB12", label="", max_distance=1))
    add_row(db, Vehicle(plate_norm="ＡＢ12", country="", make="Ford"))
    before = _norms(db)

    def interrupt() -> None:
        raise RuntimeError("killed")

    with before_statement(db, "UPDATE alembic_version", interrupt) as ran, pytest.raises(RuntimeError, match="killed"):
        db.migrate()
    assert ran and alembic_version(db) == "0004"
    assert _norms(db) == before
    assert sorted(w.plate for w in Watchlist(db).list()) == ["AB12", "ＡＢ12"]
    assert [v.plate for _, v in VehicleRegistry(db).list()] == ["ＡＢ12"]
    db.migrate()
    assert alembic_version(db) == "0006" and set(_norms(db).values()) == {"AB12"}
    assert [w.plate for w in Watchlist(db).list()] == ["AB12"]



def test_downgrade_keeps_the_folded_plates_and_a_second_upgrade_writes_nothing(db_at_0004: Database) -> None:
    db = db_at_0004
    reads = ReadStore(db)
    read_id = save_unfolded(reads, "ＡＢ12", "皖A12345")
    db.migrate()
    folded = _norms(db)
    downgrade(db, "0004")
    assert alembic_version(db) == "0004" and _norms(db) == folded
    with written_rows(db, "plates") as written, written_rows(db, "watchlist") as listed:
        db.migrate()
    assert alembic_version(db) == "0006" and written == listed == [] and _norms(db) == folded
    assert _found(reads, "AB12") == {read_id}


LARGE_ASCII = 40_000
LARGE_OTHER = 12_000  # every other one full-width (changed), the rest Chinese (left as it is)


def test_on_a_large_history_only_rows_beyond_ascii_are_read_and_only_changed_ones_written(
        db_at_0004: Database) -> None:
    db = db_at_0004
    spec = importlib.util.spec_from_file_location("fold_0005", FOLD)
    assert spec and spec.loader
    fold = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fold)
    now = datetime.now(UTC)
    plates = [f"AB{i:05d}" for i in range(LARGE_ASCII)]
    plates += [(f"ＡＢ{i:05d}" if i % 2 else f"皖A{i:05d}") for i in range(LARGE_OTHER)]
    with db.engine.begin() as conn:
        conn.execute(insert(Read), [{"id": i + 1, "created_at": now, "source": "cli", "width": 1, "height": 1,
                                     "processing_ms": 1.0} for i in range(len(plates))])
        conn.execute(insert(Plate), [
            {"read_id": i + 1, "position": 0, "text": p, "plate_norm": old_normalize(p), "confidence": 0.9,
             "detection_confidence": 0.9, "box_xmin": 0, "box_ymin": 0, "box_xmax": 1, "box_ymax": 1,
             "candidates": []} for i, p in enumerate(plates)])
    pages: list[str] = []

    def count_pages(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT PLATES.ID"):
            pages.append(statement)

    event.listen(db.engine, "before_cursor_execute", count_pages)
    try:
        with written_rows(db, "plates") as written:
            start = time.perf_counter()
            db.migrate()
            took = time.perf_counter() - start
    finally:
        event.remove(db.engine, "before_cursor_execute", count_pages)

    print(f"{db.engine.dialect.name}: folded {sum(written)} of {len(plates)} plates in {took:.2f} s")
    assert sum(written) == LARGE_OTHER // 2
    assert len(pages) == math.ceil(LARGE_OTHER / fold.PAGE)  # the ASCII plates are never read
    reads = ReadStore(db)
    assert reads.search(ReadQuery(plate="AB00001")).total == 2  # and ＡＢ00001, folded
    assert reads.search(ReadQuery(plate="皖A00002")).total == 1
    assert reads.counts() == {"reads": len(plates), "plates": len(plates)}
