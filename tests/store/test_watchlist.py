"""Watchlist entries: add, change, list, delete, validation and fuzzy matching."""

from __future__ import annotations

import pytest

from numberplate.errors import NotFoundError
from numberplate.store.clock import normalize_plate
from numberplate.store.db import Database
from numberplate.store.models import WatchEntry
from numberplate.store.reads import ReadStore, match_watchlist
from numberplate.store.watchlist import Watchlist, WatchlistError
from numberplate.types import BoundingBox, Detection, ImageResult, PlateRead, PlateText
from tests.store.interleave import before_statement


@pytest.mark.parametrize(("typed", "stored"), [
    ("ab 12 cde", "AB12CDE"), ("ＡＢ１２ ＣＤＥ", "AB12CDE"), ("ａｂ－１２", "AB12"), ("皖Ａ·１２３４５", "皖A12345"),
    ("粤B 12345", "粤B12345"), ("Ⅻ ②", "XII2"),
])
def test_plates_are_normalised_with_compatibility_forms_folded(typed: str, stored: str) -> None:
    assert normalize_plate(typed) == stored


def test_a_full_width_entry_alerts_on_the_plate_it_names(db: Database) -> None:
    wl = Watchlist(db)
    entry = wl.add("ＡＢ１２ＣＤＥ", "typed on a CJK keyboard", 0)
    assert entry.plate == "AB12CDE"
    with pytest.raises(WatchlistError, match="already"):
        wl.add("AB12CDE")
    saved = ReadStore(db).save(ImageResult(64, 48, (PlateRead(
        Detection(BoundingBox(1, 2, 30, 12), 0.9), PlateText("AB12CDE", 0.9)),), 1.0))
    assert saved.plates[0].watch is not None and saved.plates[0].watch.id == entry.id


def test_add_list_update_delete(db: Database) -> None:
    wl = Watchlist(db)
    a = wl.add("ab 12 cde", "  stolen  ", 2)
    b = wl.add("ZZ1")
    assert (a.plate, a.label, a.max_distance) == ("AB12CDE", "stolen", 2)
    assert [w.plate for w in wl.list()] == ["AB12CDE", "ZZ1"]
    assert wl.update(b.id, label="visitor", max_distance=0).to_dict()["label"] == "visitor"
    assert wl.get(b.id).max_distance == 0
    wl.delete(a.id)
    assert [w.id for w in wl.list()] == [b.id]
    with pytest.raises(NotFoundError):
        wl.delete(a.id)
    with pytest.raises(NotFoundError):
        wl.update(a.id, label="x")


def test_ids_are_never_reused(db: Database) -> None:
    wl = Watchlist(db)
    wl.add("AA1")
    newest = wl.add("BB2")
    wl.delete(newest.id)
    assert wl.add("CC3").id > newest.id  # a kept link to /watchlist/<id> never shows another entry


@pytest.mark.parametrize(
    ("plate", "label", "distance", "message"),
    [("", "", 1, "1 to 16"), ("--", "", 1, "1 to 16"), ("A" * 17, "", 1, "1 to 16"),
     ("AB1", "", 3, "max_distance"), ("AB1", "", -1, "max_distance"), ("AB1", "x" * 201, 1, "label")],
)
def test_invalid_entries_are_refused(db: Database, plate: str, label: str, distance: int, message: str) -> None:
    with pytest.raises(WatchlistError, match=message):
        Watchlist(db).add(plate, label, distance)
    assert Watchlist(db).list() == []


def test_duplicate_plate_is_refused_and_the_first_kept(db: Database) -> None:
    wl = Watchlist(db)
    wl.add("AB12CDE", "first")
    with pytest.raises(WatchlistError, match="already on the watchlist"):
        wl.add("ab12cde", "second")
    assert [w.label for w in wl.list()] == ["first"]


def test_match_prefers_the_closest_entry_within_its_own_distance() -> None:
    exact = WatchEntry(id=1, plate_norm="AB12CDE", label="", max_distance=0)
    loose = WatchEntry(id=2, plate_norm="AB12CDF", label="", max_distance=2)
    assert match_watchlist([exact, loose], "AB12CDE") is exact
    assert match_watchlist([exact, loose], "AB12CDX") is loose
    assert match_watchlist([exact], "AB12CDX") is None
    assert match_watchlist([loose], "") is None


def test_a_change_to_an_entry_deleted_meanwhile_is_not_found(db: Database) -> None:
    # PATCH and DELETE of one entry at once: the delete commits between the change's read and its UPDATE.
    wl = Watchlist(db)
    entry = wl.add("AB12CDE", "stolen")
    with before_statement(db, "UPDATE watchlist", lambda: Watchlist(db).delete(entry.id)) as ran, \
            pytest.raises(NotFoundError, match=f"no watchlist entry with id {entry.id}"):
        wl.update(entry.id, label="found")
    assert ran and wl.list() == []


def test_of_two_deletes_of_one_entry_at_once_exactly_one_succeeds(db: Database) -> None:
    wl = Watchlist(db)
    entry = wl.add("AB12CDE")
    kept = wl.add("ZZ1")
    with before_statement(db, "DELETE", lambda: Watchlist(db).delete(entry.id)) as ran, \
            pytest.raises(NotFoundError, match=f"no watchlist entry with id {entry.id}"):
        wl.delete(entry.id)
    assert ran and [w.id for w in wl.list()] == [kept.id]
