"""The local vehicle registry (CSV import, find, change) and the lookup cache, on a real database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from numberplate.errors import NotFoundError
from numberplate.store.db import Database
from numberplate.store.vehicles import LookupCache, RegistryImportError, VehicleRegistry
from numberplate.types import VehicleInfo

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


def test_country_specific_row_wins(db: Database) -> None:
    registry = VehicleRegistry(db)
    registry.upsert({"plate": "X1", "make": "Any"})
    registry.upsert({"plate": "X1", "country": "NL", "make": "Dutch"})
    assert registry.find("X1", "nl").make == "Dutch"
    assert registry.find("X1", "be").make == "Any"
    registry.delete("X1", "nl")
    assert registry.find("X1", "nl").make == "Any"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("make,model\nFord,Focus\n", "'plate' column"),
        ("plate,wheels\nAB1,4\n", "unknown column 'wheels'"),
        ("plate,year\nAB1,2019\nAB2,old\n", "line 3: year 'old'"),
        ("plate,year\nAB1,1700\n", "plausible"),
        ("plate,make\n--,Ford\n", "1 to 16"),
        ("plate,make\nAB1,Ford,extra\n", "more fields"),
    ],
)
def test_bad_csv_imports_nothing(db: Database, tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    registry = VehicleRegistry(db)
    with pytest.raises(RegistryImportError, match=message):
        registry.import_csv(path)
    assert registry.list() == []


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
