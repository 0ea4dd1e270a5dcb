"""The local vehicle registry (CSV import, find, change) and the lookup cache, on a real database."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from numberplate.errors import NotFoundError
from numberplate.store.db import Database
from numberplate.store.vehicles import (
    MAX_LENGTHS,
    ImportReport,
    LookupCache,
    RegistryImportError,
    VehicleExistsError,
    VehicleRegistry,
)
from numberplate.types import VehicleInfo
from tests.store.interleave import before_statement

CSV = """plate,country,make,model,colour,fuel,year,engine_size
AB12 CDE,gb,Ford,Focus,Blue,Petrol,2019,1.0
MH12DE1433,in,Maruti Suzuki,Swift,,Diesel,2016,
ZZ999,,Tesla,Model 3,Red,Electric,,
"""


def test_import_and_find(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "vehicles.csv"
    path.write_text(CSV)
    registry = VehicleRegistry(db)
    report = registry.import_csv(path)
    assert (report.added, report.updated) == (3, 0)
    ford = registry.find("ab12cde", "gb")
    assert (ford.make, ford.model, ford.year, ford.source) == ("Ford", "Focus", 2019, "local")
    assert registry.find("MH 12 DE 1433").colour is None  # empty cell -> None
    assert registry.find("ZZ999", "us-ca").make == "Tesla"  # a country-less row matches every country
    with pytest.raises(NotFoundError):
        registry.find("AB12CDE", "fr")
    assert registry.import_csv(path).updated == 3  # importing again updates in place
    assert len(registry.list()) == 3


def test_a_full_width_plate_finds_the_vehicle(db: Database) -> None:
    registry = VehicleRegistry(db)
    registry.upsert({"plate": "ＡＢ１２ ＣＤＥ", "country": "gb", "make": "Ford"})
    assert registry.find("AB12CDE", "gb").make == "Ford"
    assert registry.find("ａｂ１２ｃｄｅ", "gb").plate == "AB12CDE"
    registry.delete("ＡＢ１２ＣＤＥ", "gb")
    assert registry.list() == []


@pytest.mark.parametrize("delimiter", [";", "\t", ","])
def test_semicolon_and_tab_separated_files_are_imported(db: Database, tmp_path: Path, delimiter: str) -> None:
    # Excel saves "CSV" with semicolons where the decimal mark is a comma (most of Europe).
    text = CSV.replace(",", delimiter).replace("1.0", "1,0" if delimiter != "," else "1.0")
    path = tmp_path / "vehicles.csv"
    path.write_text(text)
    registry = VehicleRegistry(db)
    assert registry.import_csv(path) == ImportReport(3, 0)
    ford = registry.find("AB12CDE", "gb")
    assert (ford.make, ford.model, ford.engine_size) == ("Ford", "Focus", "1.0" if delimiter == "," else "1,0")
    assert registry.find("ZZ999").colour == "Red"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("make;model\nFord;Focus\n", "'plate' column"),
        ("plate;wheels\nAB1;4\n", "unknown column 'wheels'"),
        ("plate;year\nAB1;2019\nAB2;old\n", "line 3: year 'old'"),
        ("plate;make\nAB1;Ford;extra\n", "more fields"),
    ],
)
def test_a_bad_semicolon_file_says_what_a_comma_one_would(db: Database, text: str, message: str) -> None:
    with pytest.raises(RegistryImportError, match=message):
        VehicleRegistry(db).import_csv(io.StringIO(text))


def test_a_large_import_takes_a_few_statements_and_keeps_each_rows_meaning(db: Database) -> None:
    registry = VehicleRegistry(db)
    registry.upsert({"plate": "OLD1", "country": "gb", "make": "Old", "model": "Kept?"})
    registry.upsert({"plate": "OLD1", "make": "Any country"})
    rows = [f"P{i:05d},{'gb' if i % 2 else ''},Make{i},,{2000 + i % 20}" for i in range(2000)]
    # A vehicle already there is replaced (details the row leaves empty too); of two rows with the same
    # plate and country the last wins: the first of a new vehicle counts as added, every other one as updated.
    rows += ["old 1,GB,New,,2020", "P00001,gb,Twice,,2001", "P00002,,Twice,,2002", "NEW1,,First,,2003",
             "new-1,,Last,,2004"]
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        report = registry.import_csv(io.StringIO("plate,country,make,model,year\n" + "\n".join(rows) + "\n"))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert report == ImportReport(added=2001, updated=4)
    assert len(statements) < 20, f"{len(statements)} statements"  # not one or two per row
    assert len(registry.list(limit=5000)) == 2003
    old = registry.find("OLD1", "gb")
    assert (old.make, old.model, old.year) == ("New", None, 2020)
    assert registry.find("OLD1", "fr").make == "Any country"  # another country's row is another vehicle
    assert (registry.find("P00001", "gb").make, registry.find("P00002").make) == ("Twice", "Twice")
    assert (registry.find("P00003", "gb").make, registry.find("P00003", "gb").year) == ("Make3", 2003)
    assert (registry.find("NEW1").make, registry.find("NEW1").year) == ("Last", 2004)


def test_country_specific_row_wins(db: Database) -> None:
    registry = VehicleRegistry(db)
    registry.upsert({"plate": "X1", "make": "Any"})
    registry.upsert({"plate": "X1", "country": "NL", "make": "Dutch"})
    assert registry.find("X1", "nl").make == "Dutch"
    assert registry.find("X1", "be").make == "Any"
    registry.delete("X1", "nl")
    assert registry.find("X1", "nl").make == "Any"


def test_region_rows_are_found_most_specific_first(db: Database) -> None:
    # A row stored for a region (us-ca) was never found: only the bare country was searched.
    registry = VehicleRegistry(db)
    registry.upsert({"plate": "7ABC123", "country": "us-ca", "make": "Californian"})
    assert registry.find("7ABC123", "us-ca").make == "Californian"
    assert registry.find("7ABC123", "us").make == "Californian"  # a country hint finds its regions' rows
    with pytest.raises(NotFoundError):
        registry.find("7ABC123", "us-tx")  # not another state's
    registry.upsert({"plate": "7ABC123", "country": "us", "make": "American"})
    registry.upsert({"plate": "7ABC123", "make": "Any"})
    assert registry.find("7ABC123", "us-ca").make == "Californian"
    assert registry.find("7ABC123", "us").make == "American"
    assert registry.find("7ABC123", "us-tx").make == "American"
    assert registry.find("7ABC123", "fr").make == "Any"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("make,model\nFord,Focus\n", "'plate' column"),
        ("plate,wheels\nAB1,4\n", "unknown column 'wheels'"),
        ("plate,year\nAB1,2019\nAB2,old\n", "line 3: year 'old'"),
        ("plate,year\nAB1,1700\n", "plausible"),
        ("plate,make\n--,Ford\n", "1 to 16"),
        ("plate,make\nAB1,Ford,extra\n", "more fields"),
        ("plate,country\nAB1,gb\nAB2,United Kingdom\n", "line 3: country 'united kingdom' must be a country code"),
        ("plate,country,make\nAB1,gb,Ford\n\"UNTERMINATED,gb,X\n", "line 3: a quoted field is not closed"),
        ("plate,make\nAB1,\"multi\nline\"\nAB2,\"open\nAB3,Fiat\n", "line 4: a quoted field is not closed"),
        ("plate,make\nAB1,\"Fo\"rd\n", "line 2: ',' expected after '\"'"),
        ("plate,\"make\nAB1,Ford\n", "line 1: a quoted field is not closed"),
        ("plate,make\nAB1,Ford\nAB2," + "M" * 101 + "\n", "line 3: make must be at most 100 characters, got 101"),
        ("plate,vin\nAB1," + "V" * 33 + "\n", "line 2: vin must be at most 32 characters"),
        ("plate,description\nAB1," + "d" * 501 + "\n", "line 2: description must be at most 500 characters"),
    ],
)
def test_bad_csv_imports_nothing(db: Database, tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    registry = VehicleRegistry(db)
    with pytest.raises(RegistryImportError, match=message):
        registry.import_csv(path)
    assert registry.list() == []


def test_details_as_long_as_their_columns_are_stored_whole(db: Database) -> None:
    registry = VehicleRegistry(db)
    row = {name: "x" * limit for name, limit in MAX_LENGTHS.items()}
    registry.upsert({"plate": "AB1", **row})
    found = registry.find("AB1")
    assert {name: getattr(found, name) for name in MAX_LENGTHS} == row  # PostgreSQL refuses what does not fit


def test_add_refuses_a_plate_and_country_already_there(db: Database) -> None:
    registry = VehicleRegistry(db)
    assert registry.add({"plate": "ab12 cde", "country": "gb", "make": "Ford"}).make == "Ford"
    assert registry.add({"plate": "AB12CDE", "make": "Any"}).make == "Any"  # no country: another vehicle
    with pytest.raises(VehicleExistsError, match=r"AB12CDE \(gb\) is already in the registry"):
        registry.add({"plate": "AB12CDE", "country": "gb", "make": "Opel"})
    assert registry.find("AB12CDE", "gb").make == "Ford"


def test_update_renames_in_place_and_never_over_another_vehicle(db: Database) -> None:
    registry = VehicleRegistry(db)
    registry.add({"plate": "AB12CDE", "country": "gb", "make": "Ford", "model": "Fiesta", "year": "2015"})
    registry.add({"plate": "96T8557", "country": "tn", "make": "Opel", "model": "Combo", "year": "2010"})
    before = registry.list()
    with pytest.raises(VehicleExistsError, match=r"96T8557 \(tn\) is already in the registry"):
        registry.update("AB12CDE", "gb", {"plate": "96T8557", "country": "tn", "make": "Ford", "model": "Fiesta"})
    assert registry.list() == before  # nothing changed: neither overwritten nor deleted

    renamed = registry.update("ab12cde", "gb", {"plate": "AB12CDF", "country": "gb", "make": "Ford", "year": "2015"})
    assert (renamed.plate, renamed.make, renamed.model, renamed.year) == ("AB12CDF", "Ford", None, 2015)
    assert [(c, v.plate) for c, v in registry.list()] == [("tn", "96T8557"), ("gb", "AB12CDF")]
    assert registry.update("AB12CDF", "gb", {"plate": "AB12CDF", "country": "gb", "colour": "Red"}).colour == "Red"
    with pytest.raises(NotFoundError, match=r"AB12CDE \(gb\) is not in the registry"):
        registry.update("AB12CDE", "gb", {"plate": "AB12CDE", "country": "gb"})
    with pytest.raises(RegistryImportError, match="country 'tunisia'"):
        registry.update("96T8557", "tn", {"plate": "96T8557", "country": "Tunisia"})
    assert registry.find("96T8557", "tn").make == "Opel"


def test_unreadable_csv(db: Database, tmp_path: Path) -> None:
    with pytest.raises(RegistryImportError, match="cannot read"):
        VehicleRegistry(db).import_csv(tmp_path / "missing.csv")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(RegistryImportError, match="cannot read"):
        VehicleRegistry(db).import_csv(tmp_path / "bin.csv")


def test_lookup_cache_keeps_vehicles_and_not_founds_until_they_expire(db: Database) -> None:
    cache = LookupCache(db, ttl=timedelta(hours=1))
    vehicle = VehicleInfo("AB12CDE", "dvla", make="Ford", raw={"make": "FORD"})
    assert cache.get("dvla", "AB12CDE", "gb") is None
    cache.put("dvla", "AB12CDE", "gb", vehicle)
    cached = cache.get("dvla", "ab12 cde", "GB")
    assert cached == vehicle and isinstance(cached, VehicleInfo) and cached.raw == {"make": "FORD"}
    assert cache.get("rdw", "AB12CDE", "gb") is None
    cache.put("dvla", "NOPE1", "gb", None)
    assert cache.get("dvla", "NOPE1", "gb") is False
    expired = LookupCache(db, ttl=timedelta(seconds=-1))
    expired.put("dvla", "AB12CDE", "gb", vehicle)
    assert expired.get("dvla", "AB12CDE", "gb") is None
    assert expired.purge() >= 1


def test_a_change_to_a_vehicle_deleted_meanwhile_is_not_found(db: Database) -> None:
    registry = VehicleRegistry(db)
    registry.add({"plate": "AB12CDE", "country": "gb", "make": "Ford"})
    deleted_elsewhere = before_statement(db, "UPDATE vehicles", lambda: VehicleRegistry(db).delete("AB12CDE", "gb"))
    with deleted_elsewhere as ran, pytest.raises(NotFoundError, match=r"AB12CDE \(gb\) is not in the registry"):
        registry.update("AB12CDE", "gb", {"plate": "AB12CDE", "country": "gb", "make": "Opel"})
    assert ran and registry.list() == []
