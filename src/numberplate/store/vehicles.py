"""The local vehicle registry (imported from CSV, edited in the web app) and the lookup-response cache."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from numberplate.errors import NotFoundError, StoreError
from numberplate.formats.patterns import COUNTRY_CODE_RE
from numberplate.store.clock import as_utc, normalize_plate, utcnow
from numberplate.store.db import Database, batches, gone_is_not_found, one_of
from numberplate.store.models import LookupCacheEntry, Vehicle
from numberplate.types import VehicleInfo

# The CSV columns of `numberplate lookup import`: plate is required, every other one optional.
DETAIL_FIELDS = (
    "make", "model", "colour", "fuel", "year", "engine_size", "body", "registration_date",
    "tax_status", "inspection_status", "vin", "description",
)
CSV_COLUMNS = ("plate", "country", *DETAIL_FIELDS)
_ALIASES = {"color": "colour", "registration": "plate", "reg": "plate", "registration_number": "plate"}
# What spreadsheets separate CSV fields with: a comma, a semicolon (Excel where the decimal mark is a comma), a tab.
DELIMITERS = (",", ";", "\t")
LOOKUP_BATCH = 500  # plates looked up per query by an import
MAX_PLATE = 16
YEARS = range(1885, 2101)  # plausible model years
MAX_DESCRIPTION = 500  # the one detail without a length in its column (Text)
# Longest value of each text detail: the length of its column, so PostgreSQL never refuses a value we accepted.
MAX_LENGTHS = {
    name: getattr(Vehicle.__table__.c[name].type, "length", None) or MAX_DESCRIPTION
    for name in DETAIL_FIELDS if name != "year"
}


class RegistryImportError(StoreError):
    """A vehicle (a CSV row or a form) is invalid; the message names the line or the field."""


class VehicleExistsError(StoreError):
    """A vehicle with this plate and country is already in the registry."""


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
    if not plate or len(plate) > MAX_PLATE:
        raise RegistryImportError(
            f"{where}: plate {str(row.get('plate'))[:40]!r} must have 1 to {MAX_PLATE} letters or digits"
        )
    country = str(row.get("country") or "").strip().lower()
    if country and not COUNTRY_CODE_RE.fullmatch(country):
        raise RegistryImportError(
            f"{where}: country {country[:20]!r} must be a country code such as gb, br or us-ca (empty: any country)"
        )
    out: dict[str, Any] = {"plate_norm": plate, "country": country}
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
            if out[name] not in YEARS:
                raise RegistryImportError(f"{where}: year {value!r} is not a plausible model year")
        else:
            out[name] = str(value)
            if len(out[name]) > MAX_LENGTHS[name]:
                raise RegistryImportError(
                    f"{where}: {name} must be at most {MAX_LENGTHS[name]} characters, got {len(out[name])}"
                )
    return out


def _csv_error(name: str, line: int, e: csv.Error) -> RegistryImportError:
    reason = "a quoted field is not closed" if "end of data" in str(e) else str(e)
    return RegistryImportError(f'{name} line {line}: {reason}; quote a whole field, with "" for a quote inside it')


def _column(heading: str) -> str:
    """The column a CSV header cell names (``"Color "`` -> ``"colour"``)."""
    name = heading.strip().lower()
    return _ALIASES.get(name, name)


def _delimiter(header: str) -> str:
    """Of :data:`DELIMITERS`, the one that splits the CSV header line ``header`` into the most known columns (the
    comma when none does better)."""

    def known(delimiter: str) -> int:
        try:
            cells = next(csv.reader([header], delimiter=delimiter, strict=True), [])
        except csv.Error:  # a quote left open: the import itself says so, on line 1
            return 0
        return sum(_column(cell) in CSV_COLUMNS for cell in cells)

    return max(DELIMITERS, key=known)  # the first of the best: the comma on a tie


def _key(plate_norm: str, country: str) -> str:
    return f"{plate_norm} ({country})" if country else f"{plate_norm} (any country)"


class VehicleRegistry:
    """The ``vehicles`` table: add, change, find, import."""

    def __init__(self, db: Database):
        self.db = db

    def find(self, plate: str, country: str | None = None) -> VehicleInfo:
        """The vehicle registered under ``plate``, the most specific row first: for ``us-ca``, a ``us-ca`` row,
        then a ``us`` row, then a country-less one (a ``us`` hint also finds the ``us-ca`` row).

        Without ``country`` every row with the plate qualifies.

        Raises:
            NotFoundError: no such vehicle.
        """
        norm = normalize_plate(plate)
        query = select(Vehicle).where(Vehicle.plate_norm == norm).order_by(Vehicle.id)
        hint = (country or "").strip().lower()
        base = hint.split("-")[0]
        if hint == base and hint:  # a country: its regions' rows too
            query = query.where(or_(Vehicle.country.in_(["", base]),
                                    Vehicle.country.startswith(f"{base}-", autoescape=True)))
        elif hint:  # a region: its own rows, its country's and country-less ones, not another region's
            query = query.where(Vehicle.country.in_(["", base, hint]))
        with self.db.session() as session:
            rows = session.scalars(query).all()
            if not rows:
                raise NotFoundError(f"{norm or plate!r} is not in the local vehicle registry")
            return _info(max(rows, key=lambda v: (v.country == hint, v.country == base, v.country != "")))

    def upsert(self, row: dict[str, Any]) -> bool:
        """Add or replace one vehicle from a dict of CSV columns; True when it was new.

        Raises:
            RegistryImportError: an invalid plate, country, year or detail.
        """
        with self.db.session() as session:
            return self._upsert(session, _clean_row(row, "vehicle"))

    def add(self, row: dict[str, Any]) -> VehicleInfo:
        """Add a vehicle from a dict of CSV columns, refusing to replace one with the same plate and country.

        Raises:
            RegistryImportError: an invalid plate, country, year or detail.
            VehicleExistsError: that plate and country are already in the registry.
        """
        values = _clean_row(row, "vehicle")
        try:
            with self.db.session() as session:
                if self._row(session, values["plate_norm"], values["country"]) is not None:
                    raise VehicleExistsError(self._exists(values))
                vehicle = Vehicle(**values)
                session.add(vehicle)
                session.flush()
                return _info(vehicle)
        except IntegrityError as e:  # added by someone else in the meantime
            raise VehicleExistsError(self._exists(values)) from e

    def update(self, plate: str, country: str, row: dict[str, Any]) -> VehicleInfo:
        """Change the vehicle stored under ``plate`` and ``country`` (in any case) to ``row`` (whose plate or country
        may differ).

        A new plate or country renames the vehicle in place; it never replaces another vehicle.

        Raises:
            NotFoundError: no vehicle is stored under ``plate`` and ``country``.
            RegistryImportError: an invalid plate, country, year or detail.
            VehicleExistsError: the new plate and country belong to another vehicle.
        """
        values = _clean_row(row, "vehicle")
        country = country.strip().lower()
        missing = f"{_key(normalize_plate(plate) or plate[:20], country)} is not in the registry"
        try:
            with gone_is_not_found(missing), self.db.session() as session:
                vehicle = self._row(session, normalize_plate(plate), country)
                if vehicle is None:
                    raise NotFoundError(missing)
                other = self._row(session, values["plate_norm"], values["country"])
                if other is not None and other.id != vehicle.id:
                    raise VehicleExistsError(self._exists(values))
                for name, value in values.items():
                    setattr(vehicle, name, value)
                session.flush()
                return _info(vehicle)
        except IntegrityError as e:  # the new plate was added by someone else in the meantime
            raise VehicleExistsError(self._exists(values)) from e

    @staticmethod
    def _row(session: Session, plate_norm: str, country: str) -> Vehicle | None:
        return session.scalar(select(Vehicle).where(Vehicle.plate_norm == plate_norm, Vehicle.country == country))

    @staticmethod
    def _exists(values: dict[str, Any]) -> str:
        return f"{_key(values['plate_norm'], values['country'])} is already in the registry; edit that vehicle instead"

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
        """Remove a vehicle (``country`` in any case).

        Raises:
            NotFoundError: no such vehicle.
        """
        with self.db.session() as session:
            result = session.execute(delete(Vehicle).where(
                Vehicle.plate_norm == normalize_plate(plate), Vehicle.country == country.strip().lower()
            ))
            if not getattr(result, "rowcount", 0):
                raise NotFoundError(f"{plate!r} is not in the local vehicle registry")

    def list(self, limit: int = 100, offset: int = 0) -> list[tuple[str, VehicleInfo]]:
        """``(country, vehicle)`` pairs, by plate."""
        with self.db.session() as session:
            rows = session.scalars(select(Vehicle).order_by(Vehicle.plate_norm).offset(offset).limit(limit))
            return [(v.country, _info(v)) for v in rows]

    def import_csv(self, source: str | Path | Iterable[str]) -> ImportReport:
        """Import vehicles from CSV (header row: ``plate`` and any of country, make, model, colour, ...), its fields
        separated by commas, semicolons or tabs (whichever the header is written with).

        A row replaces the vehicle with its plate and country, or adds one; of rows with the same plate and
        country the last is kept (the first counts as added when the vehicle is new, the others as updated).
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
        remaining = iter(lines)
        first = next(remaining, "")
        # strict: a quote left open is an error, not a field that swallows the rest of the file.
        reader = csv.DictReader(itertools.chain([first], remaining), delimiter=_delimiter(first), strict=True)
        try:
            fieldnames = reader.fieldnames or []
        except csv.Error as e:
            raise _csv_error(name, 1, e) from e
        header = [_column(h) for h in fieldnames]
        if "plate" not in header:
            raise RegistryImportError(
                f"{name}: the header must have a 'plate' column; columns: {', '.join(CSV_COLUMNS)}"
            )
        unknown = sorted(set(header) - set(CSV_COLUMNS))
        if unknown:
            raise RegistryImportError(f"{name}: unknown column {unknown[0]!r}; columns: {', '.join(CSV_COLUMNS)}")
        reader.fieldnames = header
        vehicles: dict[tuple[str, str], dict[str, Any]] = {}  # by plate and country: the last row of each
        rows = 0
        start = reader.line_num + 1  # the line the next row starts on (a quoted field may span lines)
        try:
            for row in reader:
                if None in row:
                    raise RegistryImportError(f"{name} line {reader.line_num}: more fields than header columns")
                values = _clean_row(row, f"{name} line {reader.line_num}")
                vehicles[values["plate_norm"], values["country"]] = values
                rows += 1
                start = reader.line_num + 1
        except csv.Error as e:
            raise _csv_error(name, start, e) from e
        with self.db.session() as session:
            added = self._write_all(session, vehicles)
        return ImportReport(added, rows - added)

    @staticmethod
    def _write_all(session: Session, vehicles: dict[tuple[str, str], dict[str, Any]]) -> int:
        """Add or replace ``vehicles`` (by plate and country) with a few statements; returns how many were new."""
        ids: dict[tuple[str, str], int] = {}
        for plates in batches(sorted({plate for plate, _ in vehicles}), LOOKUP_BATCH):
            query = select(Vehicle.id, Vehicle.plate_norm, Vehicle.country).where(one_of(Vehicle.plate_norm, plates))
            ids.update({(plate, country): row_id for row_id, plate, country in session.execute(query)})
        now = utcnow()
        changed = [{**values, "id": ids[key], "updated_at": now} for key, values in vehicles.items() if key in ids]
        new = [{**values, "updated_at": now} for key, values in vehicles.items() if key not in ids]
        if changed:
            session.execute(update(Vehicle), changed)  # by primary key
        if new:
            session.execute(insert(Vehicle), new)
        return len(new)


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
        """Cache a vehicle, or a not-found when ``vehicle`` is None.

        Two lookups of one uncached plate may both insert it: the later one then updates the row the earlier made.

        Raises:
            StoreError: the database failed, or the row still could not be written.
        """
        try:
            self._put(provider, plate, country, vehicle)
        except IntegrityError:  # another thread or process cached this plate between our select and insert
            try:
                self._put(provider, plate, country, vehicle)
            except IntegrityError as e:
                raise StoreError(f"lookup cache: the entry for {plate} could not be written: {e.orig}") from e

    def _put(self, provider: str, plate: str, country: str | None, vehicle: VehicleInfo | None) -> None:
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
