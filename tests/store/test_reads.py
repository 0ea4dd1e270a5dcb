"""The history of reads: save with files, get, search (exact, prefix, fuzzy, filters, pages), delete, purge."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from numberplate.errors import NotFoundError
from numberplate.store.clock import utcnow
from numberplate.store.db import Database
from numberplate.store.files import ImageFiles
from numberplate.store.reads import ReadQuery, ReadStore, StoredRead, retention_period
from numberplate.store.watchlist import Watchlist
from numberplate.types import BoundingBox, Candidate, Detection, ImageResult, PlateRead, PlateText, VehicleInfo


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
        ("AB12", "prefix", 1, {"AB12CDE", "AB12CDF", "AB12"}),
        ("AB12CDE", "fuzzy", 1, {"AB12CDE", "AB12CDF"}),
        ("AB12CDE", "fuzzy", 2, {"AB12CDE", "AB12CDF", "XB12CDF"}),
        ("ZZZ", "exact", 1, set()),
        ("%_", "prefix", 1, set()),  # no letters or digits: no plate, not a wildcard
    ],
)
def test_search_by_plate(store: ReadStore, plate: str, mode: str, distance: int, expected: set[str]) -> None:
    for text in ("AB12CDE", "AB12CDF", "XB12CDF", "AB12", "QQ99QQQ"):
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
