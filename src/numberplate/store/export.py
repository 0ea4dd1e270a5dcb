"""Exporting the history: every read matching a query, one row per plate, streamed as CSV or JSON Lines."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Executable, Row, and_, func, or_, select, true

from numberplate.store.clock import as_utc
from numberplate.store.db import Database
from numberplate.store.models import Plate, Read, WatchEntry
from numberplate.store.reads import ReadFilter, ReadQuery, read_filter

ExportFormat = Literal["csv", "jsonl"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("csv", "jsonl")
MEDIA_TYPES: dict[ExportFormat, str] = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}

BATCH_READS = 500  # reads fetched per query: what an export holds in memory at once
CHUNK_CHARS = 64 * 1024  # the writers hand out text in pieces of about this size

# The vehicle details a lookup stored (the fields of VehicleInfo but the plate), each a ``vehicle_<name>`` column.
VEHICLE_FIELDS = ("source", "make", "model", "colour", "fuel", "year", "engine_size", "body", "registration_date",
                  "tax_status", "inspection_status", "vin", "description")
COLUMNS: tuple[str, ...] = (
    "read_id", "created_at", "plate_id", "plate", "confidence", "detection_confidence", "country",
    "box_xmin", "box_ymin", "box_xmax", "box_ymax", "camera_id", "source", "filename",
    "watchlist_label", "watchlist_plate", *(f"vehicle_{name}" for name in VEHICLE_FIELDS),
)
"""The columns of every export, in order (JSON Lines: the keys of each object)."""
LINK_COLUMNS: tuple[str, ...] = ("read_url", "image_url", "crop_url")
"""Added after :data:`COLUMNS` when the caller knows where reads are served (the web app: URL paths)."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A CSV cell of text starting with one of these is a formula to a spreadsheet (CSV injection)."""

Links = Callable[["ExportRow"], dict[str, str | None]]
"""The :data:`LINK_COLUMNS` of a row: where its read, photo and crop are served."""


@dataclass(frozen=True)
class ExportRow:
    """One plate of a read, flattened for a spreadsheet; a read without plates has one row with no plate."""

    read_id: int
    created_at: datetime
    source: str
    camera_id: str | None
    filename: str | None
    image_sha256: str | None
    plate_id: int | None = None
    plate: str | None = None
    confidence: float | None = None
    detection_confidence: float | None = None
    country: str | None = None
    box: tuple[int, int, int, int] | None = None
    crop_sha256: str | None = None
    watchlist_label: str | None = None
    watchlist_plate: str | None = None
    vehicle: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The row's :data:`COLUMNS`: numbers as numbers, missing values as None."""
        box = self.box or (None, None, None, None)
        vehicle = self.vehicle or {}
        return {
            "read_id": self.read_id,
            "created_at": as_utc(self.created_at).isoformat().replace("+00:00", "Z"),
            "plate_id": self.plate_id,
            "plate": self.plate,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "detection_confidence": None if self.detection_confidence is None else round(self.detection_confidence, 4),
            "country": self.country,
            "box_xmin": box[0], "box_ymin": box[1], "box_xmax": box[2], "box_ymax": box[3],
            "camera_id": self.camera_id,
            "source": self.source,
            "filename": self.filename,
            "watchlist_label": self.watchlist_label,
            "watchlist_plate": self.watchlist_plate,
            **{f"vehicle_{name}": vehicle.get(name) for name in VEHICLE_FIELDS},
        }


def export_rows(db: Database, query: ReadQuery, batch_reads: int = BATCH_READS) -> Iterator[ExportRow]:
    """Every read matching ``query`` (its page and per_page aside), newest first as on the history page, as rows.

    The same reads as :meth:`ReadStore.search` over all its pages (both select by :func:`read_filter`), fetched
    ``batch_reads`` reads at a time by keyset pagination on (created_at, id), each batch in its own short
    transaction: no connection is held between batches, however slowly the rows are consumed. Only reads that
    existed when the export began are exported (``id`` at most the largest id then; ids only grow), so reads
    saved meanwhile are neither exported nor able to shift the pages (on PostgreSQL, a save that took its id
    before the export began and commits during it may be exported); a read deleted meanwhile is left out if its
    batch had not been fetched yet, and every other read comes exactly once. A read and its plates come from one
    statement, so they are always consistent with each other.

    Args:
        db: the database of reads.
        query: the filters of the history search.
        batch_reads: reads per query (at least 1).
    """
    found = read_filter(query)
    with db.session() as session:
        newest = session.scalar(select(func.max(Read.id)))
    if newest is None:
        return
    after: tuple[datetime, int] | None = None
    size = max(1, batch_reads)
    while True:
        with db.session() as session:
            records = session.execute(_batch(found, newest, after, size)).all()
        reads = _group(records)
        for plates in reads:
            # The fuzzy search's edit distance, which SQL does not compute: one plate meeting every condition.
            if not found.fuzzy or any(p.plate_hit and found.close_enough(p.plate_norm) for p in plates):
                yield from _rows(plates)
        if len(reads) < size:
            return
        last = reads[-1][0]
        after = (last.created_at, last.read_id)


def _batch(found: ReadFilter, newest: int, after: tuple[datetime, int] | None, size: int) -> Executable:
    """One statement for the next ``size`` matching reads after ``after``, each with its plates (one row each;
    ``plate_hit``: whether the plate meets the plate conditions of ``found``)."""
    filters = [Read.id <= newest, *found.where]
    if after is not None:
        created, read_id = after
        # The first condition alone is a range of the created_at index, so each batch starts where the last ended
        # instead of walking past every read already exported.
        filters += [Read.created_at <= created, or_(Read.created_at < created, Read.id < read_id)]
    ids = select(Read.id).where(*filters).order_by(Read.created_at.desc(), Read.id.desc()).limit(size)
    return (
        select(Read.id.label("read_id"), Read.created_at, Read.source, Read.camera_id, Read.filename,
               Read.image_sha256, Plate.id.label("plate_id"), Plate.text, Plate.plate_norm, Plate.confidence,
               Plate.detection_confidence, Plate.country, Plate.box_xmin, Plate.box_ymin, Plate.box_xmax,
               Plate.box_ymax, Plate.crop_sha256, Plate.vehicle, WatchEntry.label.label("watch_label"),
               WatchEntry.plate_norm.label("watch_plate"), and_(true(), *found.on_plates).label("plate_hit"))
        .select_from(Read)
        .outerjoin(Plate, Plate.read_id == Read.id)
        .outerjoin(WatchEntry, WatchEntry.id == Plate.watch_id)
        .where(Read.id.in_(ids))
        .order_by(Read.created_at.desc(), Read.id.desc(), Plate.position, Plate.id)
    )


def _group(records: Iterable[Row[Any]]) -> list[list[Row[Any]]]:
    """The rows of a batch (:func:`_batch`), one list per read, in order."""
    reads: list[list[Row[Any]]] = []
    for record in records:
        if reads and reads[-1][0].read_id == record.read_id:
            reads[-1].append(record)
        else:
            reads.append([record])
    return reads


def _rows(plates: list[Row[Any]]) -> Iterator[ExportRow]:
    """A read's rows of :func:`_batch` as export rows."""
    for p in plates:
        read = ExportRow(p.read_id, p.created_at, p.source, p.camera_id, p.filename, p.image_sha256)
        if p.plate_id is None:
            yield read
            continue
        yield replace(
            read,
            plate_id=p.plate_id,
            plate=p.text,
            confidence=p.confidence,
            detection_confidence=p.detection_confidence,
            country=p.country,
            box=_box(p),
            crop_sha256=p.crop_sha256,
            watchlist_label=p.watch_label,
            watchlist_plate=p.watch_plate,
            vehicle=p.vehicle if isinstance(p.vehicle, dict) else None,
        )


def _box(p: Row[Any]) -> tuple[int, int, int, int] | None:
    if p.box_xmin is None or p.box_ymin is None or p.box_xmax is None or p.box_ymax is None:
        return None
    return (p.box_xmin, p.box_ymin, p.box_xmax, p.box_ymax)


def guard_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run: text starting with ``= + - @``, a tab or a carriage return
    gets a leading ``'`` (Excel, LibreOffice and Google Sheets then show it as text).

    Only text is guarded: numbers (ids, confidences, box coordinates, which may be negative) are written as they
    are, so they stay numbers. A plate never starts with one of these characters.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _records(rows: Iterable[ExportRow], links: Links | None) -> Iterator[dict[str, Any]]:
    for row in rows:
        record = row.to_dict()
        if links is not None:
            record.update(links(row))
        yield record


def columns(links: Links | None = None) -> tuple[str, ...]:
    """The columns of an export, with the link columns when ``links`` is given."""
    return COLUMNS + LINK_COLUMNS if links is not None else COLUMNS


def write_csv(rows: Iterable[ExportRow], links: Links | None = None) -> Iterator[str]:
    """``rows`` as CSV text in pieces: UTF-8's byte order mark first (so that Excel reads non-Latin plates and
    names right), a header line, then one line per row; text cells guarded by :func:`guard_cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    names = columns(links)
    writer.writerow(names)
    for record in _records(rows, links):
        writer.writerow([guard_cell(record[name]) for name in names])
        if buffer.tell() >= CHUNK_CHARS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_jsonl(rows: Iterable[ExportRow], links: Links | None = None) -> Iterator[str]:
    """``rows`` as JSON Lines in pieces: one object per line with the keys of :func:`columns`; nothing guarded
    (JSON is not run by spreadsheets), nothing escaped but what JSON needs and the Unicode line separators."""
    pieces: list[str] = []
    size = 0
    for record in _records(rows, links):
        line = json.dumps(record, ensure_ascii=False).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
        pieces.append(line + "\n")
        size += len(line) + 1
        if size >= CHUNK_CHARS:
            yield "".join(pieces)
            pieces, size = [], 0
    if pieces:
        yield "".join(pieces)


WRITERS: dict[ExportFormat, Callable[[Iterable[ExportRow], Links | None], Iterator[str]]] = {
    "csv": write_csv,
    "jsonl": write_jsonl,
}


def export_text(db: Database, query: ReadQuery, fmt: ExportFormat, links: Links | None = None) -> Iterator[str]:
    """The reads matching ``query`` as CSV or JSON Lines text, in pieces of about :data:`CHUNK_CHARS`
    characters, read from the database as they are needed (see :func:`export_rows`)."""
    return WRITERS[fmt](export_rows(db, query), links)
