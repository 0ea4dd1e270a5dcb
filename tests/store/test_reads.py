"""The history of reads: save with files, get, search (exact, prefix, fuzzy, filters, pages), delete, purge."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from numberplate.errors import NotFoundError, StoreError
from numberplate.store import files as files_module
from numberplate.store import reads as reads_module
from numberplate.store.clock import utcnow
from numberplate.store.db import Database
from numberplate.store.files import ImageFiles
from numberplate.store.models import WatchEntry
from numberplate.store.reads import ReadQuery, ReadStore, StoredRead, retention_period
from numberplate.store.watchlist import Watchlist
from numberplate.types import BoundingBox, Candidate, Detection, ImageResult, PlateRead, PlateText, VehicleInfo
from tests.store.interleave import before_statement

if TYPE_CHECKING:
    from numberplate.store.files import OldFile


def result(*texts: str | None) -> ImageResult:
    plates = tuple(
        PlateRead(
            Detection(BoundingBox(10 + i, 20, 110 + i, 50), 0.9),
            PlateText(t, 0.8, candidates=(Candidate(t, 0.8), Candidate(t + "X", 0.1)), country="gb")
            if t is not None else None,
        )
        for i, t in enumerate(texts)
    )
    return ImageResult(640, 480, plates, 12.5)


@pytest.fixture
def store(db: Database, files: ImageFiles) -> ReadStore:
    return ReadStore(db, files)


def test_save_and_get_round_trip(store: ReadStore) -> None:
    vehicle = VehicleInfo("AB12CDE", "local", make="Ford", year=2019)
    plates = (PlateRead(Detection(BoundingBox(1, 2, 30, 12), 0.77), PlateText("AB12CDE", 0.93), vehicle),)
    saved = store.save(
        ImageResult(640, 480, plates, 9.0), image_jpeg=b"image", crops_jpeg=[b"crop"], source="api",
        camera_id="gate", filename="car.jpg",
    )
    got = store.get(saved.id)
    assert got == saved
    d = got.to_dict()
    assert d["source"] == "api" and d["camera_id"] == "gate" and d["width"] == 640
    assert d["created_at"].endswith("Z")
    plate = d["plates"][0]
    assert plate["text"] == "AB12CDE" and plate["box"] == {"xmin": 1, "ymin": 2, "xmax": 30, "ymax": 12}
    assert plate["vehicle"]["make"] == "Ford"
    assert store.files is not None
    assert store.files.get(d["image"]) == b"image" and store.files.get(plate["crop"]) == b"crop"


def test_get_unknown_read_raises(store: ReadStore) -> None:
    with pytest.raises(NotFoundError, match="no read with id 999"):
        store.get(999)


def test_plate_without_text_is_stored(store: ReadStore) -> None:
    saved = store.save(result(None))
    assert saved.plates[0].text is None and saved.plates[0].candidates == ()


@pytest.mark.parametrize(
    ("plate", "mode", "distance", "expected"),
    [
        ("ab-12 cde", "exact", 1, {"AB12CDE"}),
        ("ＡＢ１２ ＣＤＥ", "exact", 1, {"AB12CDE"}),  # full-width, as a CJK keyboard types it
        ("ａｂ１２", "prefix", 1, {"AB12CDE", "AB12CDF", "AB12"}),
        ("皖Ａ１２３４５", "exact", 1, {"皖A12345"}),
        ("AB12", "prefix", 1, {"AB12CDE", "AB12CDF", "AB12"}),
        ("AB12CDE", "fuzzy", 1, {"AB12CDE", "AB12CDF"}),
        ("AB12CDE", "fuzzy", 2, {"AB12CDE", "AB12CDF", "XB12CDF"}),
        ("ZZZ", "exact", 1, set()),
        ("%_", "prefix", 1, set()),  # no letters or digits: no plate, not a wildcard
    ],
)
def test_search_by_plate(store: ReadStore, plate: str, mode: str, distance: int, expected: set[str]) -> None:
    for text in ("AB12CDE", "AB12CDF", "XB12CDF", "AB12", "QQ99QQQ", "皖A12345", "皖B12345"):
        store.save(result(text))
    page = store.search(ReadQuery(plate=plate, mode=mode, distance=distance))  # type: ignore[arg-type]
    found = {p.text for r in page.items for p in r.plates}
    assert found == expected
    assert page.total == len(expected)


def test_search_filters_and_pages_newest_first(store: ReadStore) -> None:
    now = utcnow()
    for i in range(7):
        store.save(result(f"AA{i}"), camera_id="gate" if i % 2 else "yard", created_at=now - timedelta(hours=i))
    gate = store.search(ReadQuery(camera_id="gate"))
    assert gate.total == 3 and [r.plates[0].text for r in gate.items] == ["AA1", "AA3", "AA5"]
    recent = store.search(ReadQuery(since=now - timedelta(hours=2, minutes=30)))
    assert [r.plates[0].text for r in recent.items] == ["AA0", "AA1", "AA2"]
    old = store.search(ReadQuery(until=now - timedelta(hours=5, minutes=30)))
    assert [r.plates[0].text for r in old.items] == ["AA6"]
    p1, p2, p3 = (store.search(ReadQuery(per_page=3, page=n)) for n in (1, 2, 3))
    assert p1.total == 7 and p1.pages == 3
    texts = [r.plates[0].text for p in (p1, p2, p3) for r in p.items]
    assert texts == [f"AA{i}" for i in range(7)]
    assert store.search(ReadQuery(source="api")).total == 0


def test_a_read_with_two_matching_plates_is_listed_once(store: ReadStore) -> None:
    store.save(result("AB12CDE", "AB12CDF"))
    page = store.search(ReadQuery(plate="AB12", mode="prefix"))
    assert page.total == 1 and len(page.items) == 1 and len(page.items[0].plates) == 2


def test_watchlist_hits_are_recorded_and_searchable(store: ReadStore, db: Database) -> None:
    watch = Watchlist(db).add("AB12CDE", "stolen", max_distance=1)
    hit = store.save(result("AB12CDF"))
    miss = store.save(result("XX99XXX"))
    assert hit.plates[0].watch is not None
    assert hit.plates[0].watch.id == watch.id and hit.plates[0].watch.distance == 1
    assert hit.plates[0].watch.label == "stolen"
    assert miss.plates[0].watch is None
    assert [r.id for r in store.search(ReadQuery(watchlist_only=True)).items] == [hit.id]


def test_delete_removes_rows_and_unshared_files(store: ReadStore) -> None:
    assert store.files is not None
    a = store.save(result("AAA"), image_jpeg=b"same", crops_jpeg=[b"crop-a"])
    b = store.save(result("BBB"), image_jpeg=b"same", crops_jpeg=[b"crop-b"])
    store.delete(a.id)
    with pytest.raises(NotFoundError):
        store.get(a.id)
    assert store.files.get(b.image_sha256 or "") == b"same"  # still used by b
    assert store.files.get(a.plates[0].crop_sha256 or "") is None
    store.delete(b.id)
    assert store.files.get(b.image_sha256 or "") is None
    with pytest.raises(NotFoundError):
        store.delete(b.id)
    assert store.counts() == {"reads": 0, "plates": 0}


def test_purge_deletes_only_reads_past_retention(store: ReadStore) -> None:
    old = store.save(result("OLD"), created_at=utcnow() - timedelta(days=40))
    new = store.save(result("NEW"))
    assert store.purge(timedelta(days=30)) == 1
    assert store.get(new.id).plates[0].text == "NEW"
    with pytest.raises(NotFoundError):
        store.get(old.id)


def test_purge_with_a_period_longer_than_the_calendar_deletes_nothing(store: ReadStore) -> None:
    kept = store.save(result("OLD"), created_at=utcnow() - timedelta(days=400))
    assert store.purge(timedelta(days=1_000_000)) == 0  # a cutoff before the year 1
    assert store.purge(timedelta.max) == 0
    assert store.purge(retention_period(99_999_999_999)) == 0
    assert store.get(kept.id).plates[0].text == "OLD"


def test_a_delete_between_put_and_commit_of_the_same_photo_leaves_the_new_reads_file(
    store: ReadStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The interleaving of a DELETE of an old read landing while another request saves the same photo: the
    # photo was already on disk, so put returned at once; the delete saw no committed row using it.
    assert store.files is not None
    old = store.save(result("OLD"), image_jpeg=b"same photo", crops_jpeg=[b"same crop"])
    real_put = store.files.put
    calls: list[bytes] = []

    def put_then_the_delete_lands(data: bytes) -> str:
        sha = real_put(data)
        calls.append(data)
        if len(calls) == 1:
            store.delete(old.id)
        return sha

    monkeypatch.setattr(store.files, "put", put_then_the_delete_lands)
    new = store.save(result("NEW"), image_jpeg=b"same photo", crops_jpeg=[b"same crop"])
    assert calls and store.files.get(new.image_sha256 or "") == b"same photo"
    assert store.files.get(new.plates[0].crop_sha256 or "") == b"same crop"


def test_a_save_between_the_unused_check_and_the_unlink_keeps_its_file(
    store: ReadStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The other order: the delete has found the photo unused and is about to unlink it when another worker
    # saves a read of the same photo (put finds the file, the row commits). The save must wait for the
    # unlink and write the file again, or the delete must see its row.
    assert store.files is not None
    old = store.save(result("OLD"), image_jpeg=b"same photo")
    real_delete = store.files.delete
    saved: list[StoredRead] = []
    errors: list[BaseException] = []

    def save_elsewhere() -> None:
        try:
            saved.append(store.save(result("NEW"), image_jpeg=b"same photo"))
        except BaseException as e:
            errors.append(e)

    def another_worker_saves_then_unlink(sha: str) -> None:
        worker = threading.Thread(target=save_elsewhere)
        worker.start()
        worker.join(timeout=1.0)  # without a shared lock the save commits here, before the unlink
        real_delete(sha)
        threads.append(worker)

    threads: list[threading.Thread] = []
    monkeypatch.setattr(store.files, "delete", another_worker_saves_then_unlink)
    store.delete(old.id)
    for t in threads:
        t.join(timeout=30)
    assert threads and errors == [] and len(saved) == 1
    assert store.files.get(saved[0].image_sha256 or "") == b"same photo"


@pytest.mark.parametrize("with_files", [False, True])
def test_a_watchlist_entry_deleted_between_the_match_and_the_insert_loses_no_read(
    store: ReadStore, db: Database, monkeypatch: pytest.MonkeyPatch, with_files: bool
) -> None:
    # The watchlist is read, then an entry the plate matches is deleted by another request, then the plate is
    # inserted pointing at it: the foreign key used to fail the save (and the upload, with 500).
    watchlist = Watchlist(db)
    exact = watchlist.add("AB12CDE", "stolen", max_distance=1)
    near = watchlist.add("AB12CDF", "near", max_distance=1)
    real_match = reads_module.match_watchlist
    deleters: list[threading.Thread] = []
    errors: list[BaseException] = []

    def delete_exact() -> None:
        try:
            watchlist.delete(exact.id)
        except BaseException as e:
            errors.append(e)

    def match_while_the_entry_is_deleted(entries: Sequence[WatchEntry], plate_norm: str) -> WatchEntry | None:
        if not deleters:
            deleters.append(threading.Thread(target=delete_exact))
            deleters[0].start()
            # PostgreSQL: nothing holds the entry yet, so the delete commits now. SQLite: the save already holds
            # the write lock, so the delete waits for the save's commit (give it time to get in first, if it could).
            deleters[0].join(timeout=None if db.engine.dialect.name == "postgresql" else 1.0)
        return real_match(entries, plate_norm)

    monkeypatch.setattr(reads_module, "match_watchlist", match_while_the_entry_is_deleted)
    saved = store.save(result("AB12CDE"), image_jpeg=b"photo" if with_files else None)
    deleters[0].join(timeout=30)
    assert errors == [] and [w.id for w in watchlist.list()] == [near.id]
    alert = saved.plates[0].watch
    if db.engine.dialect.name == "postgresql":  # deleted before the commit: the next closest entry alerts
        assert alert is not None and alert.id == near.id
    else:  # deleted after the commit: the alert was raised; the delete then clears the stored link
        assert alert is not None and alert.id == exact.id
    stored = store.get(saved.id).plates[0].watch
    assert (stored.id if stored else None) == (near.id if db.engine.dialect.name == "postgresql" else None)


def test_a_failed_save_removes_the_files_it_wrote_and_keeps_shared_ones(store: ReadStore, db: Database) -> None:
    assert store.files is not None
    kept = store.save(result("OLD"), image_jpeg=b"shared photo")

    def database_fails() -> None:
        raise StoreError("the database went away")

    for image, crops in ((b"shared photo", [b"new crop"]), (b"new photo", [])):
        with before_statement(db, "INSERT INTO reads", database_fails), pytest.raises(StoreError, match="went away"):
            store.save(result("NEW"), image_jpeg=image, crops_jpeg=crops)
    assert store.files.get(kept.image_sha256 or "") == b"shared photo"  # a committed read uses it
    images = sorted(p.name for p in store.files.root.rglob("*") if p.is_file())
    assert images == [f"{kept.image_sha256}.jpg"]
    assert store.counts() == {"reads": 1, "plates": 1}


def test_of_two_deletes_of_one_read_at_once_exactly_one_succeeds(store: ReadStore, db: Database) -> None:
    assert store.files is not None
    read = store.save(result("AAA"), image_jpeg=b"photo", crops_jpeg=[b"crop"])
    other = ReadStore(db, store.files)  # another request, on its own connection
    with before_statement(db, "DELETE", lambda: other.delete(read.id)) as ran, pytest.raises(NotFoundError):
        store.delete(read.id)
    assert ran  # the other delete came between this one's read of the row and its DELETE
    assert store.counts() == {"reads": 0, "plates": 0}
    assert store.files.get(read.image_sha256 or "") is None


@pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")
def test_two_purges_at_once_skip_what_the_other_deleted_and_count_their_own(
    store: ReadStore, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each worker process purges on its own; both list the same old reads.
    assert store.files is not None
    old = [store.save(result(f"OLD{i}"), image_jpeg=b"photo %d" % i, created_at=utcnow() - timedelta(days=40))
           for i in range(4)]
    new = store.save(result("NEW"))
    other = ReadStore(db, store.files)
    real_delete = store.delete
    calls: list[int] = []
    others: list[int] = []

    def the_other_purge_gets_ahead(read_id: int) -> None:
        calls.append(read_id)
        if len(calls) == 2:  # this purge has deleted one read; the other purge deletes the rest
            others.append(other.purge(timedelta(days=30)))
        real_delete(read_id)

    monkeypatch.setattr(store, "delete", the_other_purge_gets_ahead)
    assert store.purge(timedelta(days=30)) == 1
    assert others == [3] and sorted(calls) == sorted(r.id for r in old)
    assert store.counts() == {"reads": 1, "plates": 1} and store.get(new.id).plates[0].text == "NEW"
    assert [p for p in store.files.root.rglob("*") if p.is_file()] == []


def _age(files: ImageFiles, sha: str, hours: float = 2) -> None:
    """Make the file ``sha`` look written ``hours`` ago."""
    then = time.time() - hours * 3600
    os.utime(files.path(sha), (then, then))


def test_purge_removes_old_files_no_read_refers_to(store: ReadStore, monkeypatch: pytest.MonkeyPatch) -> None:
    files = store.files
    assert files is not None
    kept = store.save(result("KEPT"), image_jpeg=b"kept photo", crops_jpeg=[b"kept crop"])
    gone = store.save(result("GONE"), image_jpeg=b"gone photo", crops_jpeg=[b"gone crop"])

    def unlink_fails(sha: str) -> bool:
        raise StoreError("cannot remove the image file: read-only file system")

    with monkeypatch.context() as m:  # the row goes, its files stay (a process killed just then leaves the same)
        m.setattr(files, "delete", unlink_fails)
        with pytest.raises(StoreError, match="read-only"):
            store.delete(gone.id)
    orphans = [gone.image_sha256 or "", gone.plates[0].crop_sha256 or ""]
    fresh = files.put(b"written a moment ago")  # as a save that has not committed yet leaves it
    for sha in (*orphans, kept.image_sha256 or "", kept.plates[0].crop_sha256 or ""):
        _age(files, sha)
    stale_tmp = files.path(fresh).with_name(f".{fresh}.0a1b2c3d.tmp")  # a write killed midway
    live_tmp = files.path(fresh).with_name(f".{fresh}.ffff0000.tmp")
    for path in (stale_tmp, live_tmp):
        path.write_bytes(b"half")
    os.utime(stale_tmp, (time.time() - 7200, time.time() - 7200))
    strangers = [files.root / "README.txt", files.path(fresh).with_name("notes.jpg"),
                 files.path(fresh).with_name(f"{'0' * 64}.jpg")]  # a blob's name in another blob's folder
    for path in strangers:
        path.write_bytes(b"not ours")
        os.utime(path, (time.time() - 7200, time.time() - 7200))

    assert store.purge(timedelta(days=30)) == 0  # no read is that old; the files are swept all the same
    for sha in orphans:
        assert files.get(sha) is None
    assert not stale_tmp.exists()
    assert live_tmp.exists() and files.get(fresh) == b"written a moment ago"
    assert all(p.read_bytes() == b"not ours" for p in strangers)
    assert store.get(kept.id) == kept
    assert files.get(kept.image_sha256 or "") == b"kept photo" and files.get(kept.plates[0].crop_sha256 or "")
    assert store.remove_orphaned_files() == 0
    assert store.remove_orphaned_files(timedelta(0)) == 2  # with no grace, the fresh files go too
    assert files.get(fresh) is None and not live_tmp.exists()


def test_a_save_of_a_photo_swept_between_its_put_and_its_commit_keeps_its_file(
    store: ReadStore, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A photo left over on disk (its read deleted, the unlink failed) is sent again: put finds it there, with
    # its old time; another worker's sweep then removes it before this save commits.
    files = store.files
    assert files is not None
    leftover = files.put(b"same photo")
    _age(files, leftover)
    other = ReadStore(db, files)
    real_put = files.put
    swept: list[int] = []

    def put_then_another_worker_sweeps(data: bytes) -> str:
        sha = real_put(data)
        swept.append(other.remove_orphaned_files())
        return sha

    monkeypatch.setattr(files, "put", put_then_another_worker_sweeps)
    saved = store.save(result("NEW"), image_jpeg=b"same photo")
    assert swept == [1] and saved.image_sha256 == leftover
    assert files.get(leftover) == b"same photo"  # written again under the lock before the commit
    assert other.remove_orphaned_files(timedelta(0)) == 0


def _orphans(files: ImageFiles, *contents: bytes) -> list[str]:
    """Files no read refers to, written two hours ago; the first one's folder also gets a killed write's
    temporary file."""
    shas = [files.put(data) for data in contents]
    for sha in shas:
        _age(files, sha)
    stale = files.path(shas[0]).with_name(f".{shas[0]}.0a1b2c3d.tmp")
    stale.write_bytes(b"half")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    return shas


def test_a_sweep_lists_each_folder_once(store: ReadStore, monkeypatch: pytest.MonkeyPatch) -> None:
    files = store.files
    assert files is not None
    kept = store.save(result("KEPT"), image_jpeg=b"kept photo")
    _age(files, kept.image_sha256 or "")
    shas = _orphans(files, b"one", b"two", b"three")
    listed: list[str] = []
    real_scandir = os.scandir

    def scandir(path: str | os.PathLike[str]) -> object:
        listed.append(os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(files_module.os, "scandir", scandir)
    assert store.remove_orphaned_files() == 4  # three blobs and a temporary file
    assert listed and sorted(listed) == sorted(set(listed))  # one walk: no folder listed twice
    assert {str(files.path(sha).parent) for sha in shas} <= set(listed)
    assert [files.get(sha) for sha in shas] == [None] * 3 and files.get(kept.image_sha256 or "") == b"kept photo"
    assert [p.name for p in files.root.rglob("*.tmp")] == []


def test_only_one_worker_sweeps_at_a_time(store: ReadStore, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    files = store.files
    assert files is not None
    shas = _orphans(files, b"one", b"two")
    other = ReadStore(db, ImageFiles(files.root))  # another worker process, with its own ImageFiles
    real_walk = files.written_before
    others: list[int] = []

    def walk_while_another_worker_sweeps(cutoff: float) -> Iterator[OldFile]:
        for i, old in enumerate(real_walk(cutoff)):
            if i == 0:
                others.append(other.remove_orphaned_files())
                others.append(other.purge(timedelta(days=30), sweep_every=None))
            yield old

    monkeypatch.setattr(files, "written_before", walk_while_another_worker_sweeps)
    assert store.remove_orphaned_files() == 3
    assert others == [0, 0] and [files.get(sha) for sha in shas] == [None, None]
    again = _orphans(other.files, b"three")  # type: ignore[arg-type]
    assert other.remove_orphaned_files() == 2  # the lock went with the sweep that held it
    assert other.files.get(again[0]) is None  # type: ignore[union-attr]


HOLD_LOCK = """
import sys, time
from numberplate.store.files import ImageFiles
with ImageFiles(sys.argv[1]).sweep_lock() as lock:
    assert lock is not None
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_sweep_killed_midway_does_not_block_the_next(store: ReadStore) -> None:
    files = store.files
    assert files is not None
    shas = _orphans(files, b"one")
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(files.root)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        assert store.remove_orphaned_files() == 0 and files.get(shas[0]) == b"one"  # left to the other process
    finally:
        holder.kill()  # SIGKILL: no clean-up of its own
        holder.wait(10)
    assert store.remove_orphaned_files() == 2 and files.get(shas[0]) is None


def test_the_hourly_purges_of_many_workers_sweep_once(store: ReadStore, db: Database) -> None:
    files = store.files
    assert files is not None
    workers = [store, ReadStore(db, ImageFiles(files.root)), ReadStore(db, ImageFiles(files.root))]
    first = _orphans(files, b"one")
    assert workers[0].purge(timedelta(days=30)) == 0 and files.get(first[0]) is None
    later = _orphans(files, b"two")
    for worker in workers[1:]:  # swept moments ago: the other workers' purges leave the folder alone
        worker.purge(timedelta(days=30))
    assert files.get(later[0]) == b"two"
    workers[2].purge(timedelta(days=30), sweep_every=timedelta(0))
    assert files.get(later[0]) is None
    last = _orphans(files, b"three")
    assert workers[1].remove_orphaned_files() == 2 and files.get(last[0]) is None  # asked for, it always sweeps
