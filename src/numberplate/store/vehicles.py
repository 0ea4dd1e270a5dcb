"""The local vehicle registry (imported from CSV, edited in the web app) and the lookup-response cache."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from numberplate.errors import NotFoundError, StoreError
from numberplate.store.clock import as_utc, normalize_plate, utcnow
from numberplate.store.db import Database
from numberplate.store.models import LookupCacheEntry, Vehicle
from numberplate.types import VehicleInfo

# The CSV columns of `numberplate lookup import`: plate is required, every other one optional.
DETAIL_FIELDS = (
    "make", "model", "colour", "fuel", "year", "engine_size", "body", "registration_date",
    "tax_status", "inspection_status", "vin", "description",
)
CSV_COLUMNS = ("plate", "country", *DETAIL_FIELDS)
_ALIASES = {"color": "colour", "registration": "plate", "reg": "plate", "registration_number": "plate"}


class RegistryImportError(StoreError):
    """A vehicles CSV is malformed; the message names the line."""


@dataclass(frozen=True)
class ImportReport:
    """What an import did."""

    added: int
    updated: int


def _info(v: Vehicle) -> VehicleInfo:
    details = {name: getattr(v, name) for name in DETAIL_FIELDS}
    return VehicleInfo(plate=v.plate_norm, source="local", **details)


def _clean_row(row: dict[str, Any], where: str) -> dict[str, Any]:
    plate = normalize_plate(str(row.get("plate") or ""))
    if not plate or len(plate) > 16:
        raise RegistryImportError(f"{where}: plate {row.get('plate')!r} must have 1 to 16 letters or digits")
    out: dict[str, Any] = {"plate_norm": plate, "country": str(row.get("country") or "").strip().lower()[:8]}
    for name in DETAIL_FIELDS:
        value = row.get(name)
        value = value.strip() if isinstance(value, str) else value
        if value in ("", None):
            out[name] = None
        elif name == "year":
            try:
                out[name] = int(value)
            except (TypeError, ValueError) as e:
                raise RegistryImportError(f"{where}: year {value!r} is not a whole number") from e
            if not 1885 <= out[name] <= 2100:
                raise RegistryImportError(f"{where}: year {value!r} is not a plausible model year")
        else:
            out[name] = str(value)[:500]
    return out


class VehicleRegistry:
    """The ``vehicles`` table: add, change, find, import."""

    def __init__(self, db: Database):
        self.db = db

    def find(self, plate: str, country: str | None = None) -> VehicleInfo:
        """The vehicle registered under ``plate`` (a country-specific row wins over a country-less one).

        Without ``country`` every row with the plate qualifies.

        Raises:
            NotFoundError: no such vehicle.
        """
        norm = normalize_plate(plate)
        query = select(Vehicle).where(Vehicle.plate_norm == norm).order_by(Vehicle.id)
        if country:
            query = query.where(Vehicle.country.in_(["", country.split("-")[0].lower()]))
        with self.db.session() as session:
            rows = session.scalars(query).all()
            if not rows:
                raise NotFoundError(f"{norm or plate!r} is not in the local vehicle registry")
            return _info(max(rows, key=lambda v: v.country != ""))

    def upsert(self, row: dict[str, Any]) -> bool:
        """Add or replace one vehicle from a dict of CSV columns; True when it was new.

        Raises:
            RegistryImportError: an invalid plate or year.
        """
        with self.db.session() as session:
            return self._upsert(session, _clean_row(row, "vehicle"))

    @staticmethod
    def _upsert(session: Any, values: dict[str, Any]) -> bool:
        existing = session.scalar(
            select(Vehicle).where(Vehicle.plate_norm == values["plate_norm"], Vehicle.country == values["country"])
        )
        if existing is None:
            session.add(Vehicle(**values))
            return True
        for name, value in values.items():
            setattr(existing, name, value)
        return False

    def delete(self, plate: str, country: str = "") -> None:
        """Remove a vehicle.

        Raises:
            NotFoundError: no such vehicle.
        """
        with self.db.session() as session:
            result = session.execute(
                delete(Vehicle).where(Vehicle.plate_norm == normalize_plate(plate), Vehicle.country == country)
            )
            if not getattr(result, "rowcount", 0):
                raise NotFoundError(f"{plate!r} is not in the local vehicle registry")

    def list(self, limit: int = 100, offset: int = 0) -> list[tuple[str, VehicleInfo]]:
        """``(country, vehicle)`` pairs, by plate."""
        with self.db.session() as session:
            rows = session.scalars(select(Vehicle).order_by(Vehicle.plate_norm).offset(offset).limit(limit))
            return [(v.country, _info(v)) for v in rows]

    def import_csv(self, source: str | Path | Iterable[str]) -> ImportReport:
        """Import vehicles from CSV (header row: ``plate`` and any of country, make, model, colour, ...).

        All rows go in one transaction: a bad line imports nothing.

        Raises:
            RegistryImportError: no ``plate`` column, an unknown column, or a bad value (naming the line).
        """
        if isinstance(source, (str, Path)):
            try:
                text = Path(source).read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError) as e:
                raise RegistryImportError(f"cannot read vehicles CSV {source}: {e}") from e
            lines: Iterable[str] = io.StringIO(text)
            name = str(source)
        else:
            lines, name = source, "CSV"
        reader = csv.DictReader(lines)
        header = [(_ALIASES.get(h.strip().lower(), h.strip().lower())) for h in reader.fieldnames or []]
        if "plate" not in header:
            raise RegistryImportError(
                f"{name}: the header must have a 'plate' column; columns: {', '.join(CSV_COLUMNS)}"
            )
        unknown = sorted(set(header) - set(CSV_COLUMNS))
        if unknown:
            raise RegistryImportError(f"{name}: unknown column {unknown[0]!r}; columns: {', '.join(CSV_COLUMNS)}")
        reader.fieldnames = header
        added = updated = 0
        try:
            with self.db.session() as session:
                for row in reader:
                    if None in row:
                        raise RegistryImportError(f"{name} line {reader.line_num}: more fields than header columns")
                    if self._upsert(session, _clean_row(row, f"{name} line {reader.line_num}")):
                        added += 1
                    else:
                        updated += 1
                    session.flush()
        except csv.Error as e:
            raise RegistryImportError(f"{name} line {reader.line_num}: {e}") from e
        return ImportReport(added, updated)


class LookupCache:
    """Provider answers kept in the database for a time-to-live: found vehicles and not-founds."""

    def __init__(self, db: Database, ttl: timedelta, not_found_ttl: timedelta | None = None):
        self.db = db
        self.ttl = ttl
        self.not_found_ttl = not_found_ttl if not_found_ttl is not None else min(ttl, timedelta(hours=1))

    def get(self, provider: str, plate: str, country: str | None) -> VehicleInfo | bool | None:
        """The cached vehicle, ``False`` for a cached not-found, or ``None`` when nothing fresh is cached."""
        with self.db.session() as session:
            row = session.scalar(self._select(provider, plate, country))
            if row is None or as_utc(row.expires_at) <= utcnow():
                return None
            if not row.found or row.payload is None:
                return False
            known = {f.name for f in fields(VehicleInfo)}
            payload = {k: v for k, v in row.payload.items() if k in known}
            return VehicleInfo(**payload)

    def put(self, provider: str, plate: str, country: str | None, vehicle: VehicleInfo | None) -> None:
        """Cache a vehicle, or a not-found when ``vehicle`` is None."""
        now = utcnow()
        expires = now + (self.ttl if vehicle else self.not_found_ttl)
        payload = {**vehicle.to_dict(), "raw": vehicle.raw} if vehicle else None
        with self.db.session() as session:
            row = session.scalar(self._select(provider, plate, country))
            if row is None:
                row = LookupCacheEntry(
                    provider=provider, country=(country or "").lower(), plate_norm=normalize_plate(plate)
                )
                session.add(row)
            row.found, row.payload, row.fetched_at, row.expires_at = vehicle is not None, payload, now, expires

    @staticmethod
    def _select(provider: str, plate: str, country: str | None) -> Any:
        return select(LookupCacheEntry).where(
            LookupCacheEntry.provider == provider,
            LookupCacheEntry.country == (country or "").lower(),
            LookupCacheEntry.plate_norm == normalize_plate(plate),
        )

    def purge(self) -> int:
        """Delete expired entries; returns how many."""
        with self.db.session() as session:
            result = session.execute(delete(LookupCacheEntry).where(LookupCacheEntry.expires_at <= utcnow()))
            return int(getattr(result, "rowcount", 0) or 0)
