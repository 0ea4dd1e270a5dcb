"""Saving, finding and deleting reads: an image's plates with their crops, searchable by plate text."""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

import numpy as np
from sqlalchemy import ColumnElement, false, func, select, text
from sqlalchemy.orm import Session

from numberplate.errors import NotFoundError
from numberplate.formats.distance import levenshtein
from numberplate.imaging import encode_jpeg
from numberplate.store.clock import as_utc, normalize_plate, utcnow
from numberplate.store.db import (
    Database,
    batches,
    delete_or_raise,
    get_or_raise,
    id_fits,
    not_found,
    one_of,
)
from numberplate.store.files import ImageFiles
from numberplate.store.models import Plate, Read, WatchEntry
from numberplate.types import ImageResult

log = logging.getLogger(__name__)

STORED_JPEG_QUALITY = 90  # stored photos are re-encoded at this JPEG quality
CROP_JPEG_QUALITY = 92

SearchMode = Literal["exact", "prefix", "fuzzy"]
SEARCH_MODES: tuple[SearchMode, ...] = ("exact", "prefix", "fuzzy")
SOURCES = ("web", "api", "plate-recognizer", "cli", "video")
"""How a read came in (its ``source``): the web page, the API, the Plate Recognizer API, the CLI, a video."""
MAX_PER_PAGE = 100
ORPHAN_GRACE = timedelta(hours=1)
"""How long a file no read refers to is left alone: far longer than a save takes from writing it to its commit."""
SWEEP_EVERY = timedelta(minutes=50)
"""How often the purges sweep the images folder: each worker's hourly retention purge would; the first of them
each hour does, and spares the others the walk of the folder."""
SWEEP_BATCH = 500  # files whose use one query checks
REMOVE_BATCH = 50  # files removed per transaction (on PostgreSQL it holds a lock per file until it ends)


@dataclass(frozen=True)
class WatchHit:
    """A watchlist entry a plate matched."""

    id: int
    plate: str
    label: str
    distance: int

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "plate": self.plate, "label": self.label, "distance": self.distance}


@dataclass(frozen=True)
class StoredPlate:
    """A plate as stored with its read."""

    id: int
    text: str | None
    confidence: float
    detection_confidence: float
    box: dict[str, int]
    country: str | None
    candidates: tuple[dict[str, Any], ...]
    crop_sha256: str | None
    vehicle: dict[str, Any] | None
    lookup_error: str | None
    watch: WatchHit | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "confidence": round(self.confidence, 4),
            "detection_confidence": round(self.detection_confidence, 4),
            "box": self.box,
            "country": self.country,
            "candidates": list(self.candidates),
            "crop": self.crop_sha256,
            "vehicle": self.vehicle,
            "lookup_error": self.lookup_error,
            "watchlist": self.watch.to_dict() if self.watch else None,
        }


@dataclass(frozen=True)
class StoredRead:
    """One stored read: the image's metadata and its plates."""

    id: int
    created_at: datetime
    source: str
    camera_id: str | None
    filename: str | None
    image_sha256: str | None
    width: int
    height: int
    processing_ms: float
    plates: tuple[StoredPlate, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "source": self.source,
            "camera_id": self.camera_id,
            "filename": self.filename,
            "image": self.image_sha256,
            "width": self.width,
            "height": self.height,
            "processing_time_ms": round(self.processing_ms, 1),
            "plates": [p.to_dict() for p in self.plates],
        }


@dataclass(frozen=True)
class ReadQuery:
    """What to look for in the history; every field is optional."""

    plate: str | None = None
    mode: SearchMode = "exact"
    distance: int = 1  # fuzzy mode: at most this many characters off (1 or 2)
    since: datetime | None = None
    until: datetime | None = None
    camera_id: str | None = None
    source: str | None = None
    watchlist_only: bool = False
    page: int = 1
    per_page: int = 20


@dataclass(frozen=True)
class Page:
    """One page of search results."""

    items: tuple[StoredRead, ...]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": [r.to_dict() for r in self.items],
            "total": self.total,
            "page": self.page,
            "per_page": self.per_page,
            "pages": self.pages,
        }


def _watch_hit(plate: Plate) -> WatchHit | None:
    watch = plate.watch
    if watch is None:
        return None
    return WatchHit(watch.id, watch.plate_norm, watch.label, levenshtein(plate.plate_norm, watch.plate_norm))


def _stored(read: Read) -> StoredRead:
    plates = tuple(
        StoredPlate(
            id=p.id,
            text=p.text,
            confidence=p.confidence,
            detection_confidence=p.detection_confidence,
            box={"xmin": p.box_xmin, "ymin": p.box_ymin, "xmax": p.box_xmax, "ymax": p.box_ymax},
            country=p.country,
            candidates=tuple(p.candidates or ()),
            crop_sha256=p.crop_sha256,
            vehicle=p.vehicle,
            lookup_error=p.lookup_error,
            watch=_watch_hit(p),
        )
        for p in read.plates
    )
    return StoredRead(
        id=read.id,
        created_at=as_utc(read.created_at),
        source=read.source,
        camera_id=read.camera_id,
        filename=read.filename,
        image_sha256=read.image_sha256,
        width=read.width,
        height=read.height,
        processing_ms=read.processing_ms,
        plates=plates,
    )


CAMERA_RE = re.compile(r"[\w.:@/ -]{1,128}")
CAMERA_RULE = "must be 1-128 letters, digits, spaces or _ . : @ / -"


def check_camera_id(text: str) -> str:
    """A camera id with surrounding spaces removed: 1-128 letters, digits, spaces or ``_ . : @ / -``.

    The one rule for camera ids, wherever they come in (every web entry point, the CLI's ``--camera-id``).

    Raises:
        ValueError: any other text; the message says what is allowed.
    """
    stripped = text.strip()
    if not CAMERA_RE.fullmatch(stripped):
        raise ValueError(f"camera id {text[:40]!r}: {CAMERA_RULE}")
    return stripped


def retention_period(days: int) -> timedelta:
    """``days`` as a timedelta, capped at the longest one Python has (about 2.7 million years)."""
    return timedelta(days=min(max(days, 0), timedelta.max.days))


@dataclass(frozen=True)
class ReadFilter:
    """What a :class:`ReadQuery` selects, as SQL; see :func:`read_filter`."""

    on_reads: tuple[ColumnElement[bool], ...]
    """Conditions on the reads table alone (time, camera, source)."""
    on_plates: tuple[ColumnElement[bool], ...]
    """Conditions one and the same plate of the read must meet (its text, its watchlist alert)."""
    plate_norm: str
    """The normalised plate searched for ("" when none)."""
    distance: int | None
    """The fuzzy search's edit distance, which SQL does not compute (its length window is in ``on_plates``):
    :meth:`close_enough` checks it; None for the other modes."""

    @property
    def where(self) -> tuple[ColumnElement[bool], ...]:
        """Every condition as a WHERE clause on the reads table (the plate's as an EXISTS), less the fuzzy
        search's edit distance."""
        if not self.on_plates:
            return self.on_reads
        return (*self.on_reads, select(Plate.id).where(Plate.read_id == Read.id, *self.on_plates).exists())

    @property
    def fuzzy(self) -> bool:
        """Whether a plate that meets :attr:`on_plates` must still pass :meth:`close_enough`."""
        return self.distance is not None

    def close_enough(self, plate_norm: str | None) -> bool:
        """Whether a plate meeting :attr:`on_plates` is within the fuzzy search's edit distance (always, in the
        other modes)."""
        if self.distance is None:
            return True
        return levenshtein(plate_norm or "", self.plate_norm, self.distance) <= self.distance


def read_filter(query: ReadQuery) -> ReadFilter:
    """The filters of ``query`` (its page aside): the one definition of what the history search finds, used by
    :meth:`ReadStore.search` and by the export.

    Plate search compares normalised text (``ab-12 cde`` finds ``AB12CDE``): ``exact``, ``prefix``, or
    ``fuzzy`` (at most ``query.distance`` insertions, deletions or substitutions); a plate text without letters
    or digits (``%``, ``--``) finds nothing.
    """
    on_reads: list[ColumnElement[bool]] = []
    if query.since:
        on_reads.append(Read.created_at >= query.since)
    if query.until:
        on_reads.append(Read.created_at < query.until)
    if query.camera_id:
        on_reads.append(Read.camera_id == query.camera_id)
    if query.source:
        on_reads.append(Read.source == query.source)
    on_plates: list[ColumnElement[bool]] = []
    norm = normalize_plate(query.plate or "")
    distance: int | None = None
    if query.plate is not None and not norm:
        on_plates.append(false())  # "%" or "--" searches for a plate with no letters: none
    elif query.plate is not None:
        if query.mode == "exact":
            on_plates.append(Plate.plate_norm == norm)
        elif query.mode == "prefix":
            on_plates.append(Plate.plate_norm.startswith(norm, autoescape=True))
        else:
            distance = max(0, query.distance)
            on_plates.append(func.length(Plate.plate_norm).between(len(norm) - distance, len(norm) + distance))
    if query.watchlist_only:
        on_plates.append(Plate.watch_id.is_not(None))
    return ReadFilter(tuple(on_reads), tuple(on_plates), norm, distance)


def _lock_files(session: Session, shas: Iterable[str]) -> None:
    """Take, until ``session``'s transaction ends, the lock that saving a read and removing unused files share.

    PostgreSQL: a transaction-level advisory lock per file (in a fixed order, so two holders never deadlock).
    SQLite: the database's single write lock, taken by a write statement that changes nothing.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        keys = sorted({int.from_bytes(bytes.fromhex(sha[:16]), "big", signed=True) for sha in shas})
        for key in keys:
            session.execute(select(func.pg_advisory_xact_lock(key)))
    elif dialect == "sqlite":
        _sqlite_write_lock(session)


def _sqlite_write_lock(session: Session) -> None:
    """Start ``session``'s SQLite write transaction now: no other connection writes until it ends."""
    session.execute(text("UPDATE reads SET id = id WHERE 0"))


def _match_and_hold(session: Session, norms: Sequence[str]) -> list[WatchEntry | None]:
    """The watchlist entry each of ``norms`` matches, none of which another transaction can delete before this
    one ends.

    The watchlist is read, then plates pointing at its entries are inserted: an entry deleted in between would
    break the insert's foreign key and lose the whole read. Retrying the save after such an IntegrityError would
    still fail whenever the watchlist changes again meanwhile, so instead the matched entries are held:

    - PostgreSQL: ``SELECT ... FOR KEY SHARE`` of the matched rows (the lock the foreign key check itself takes;
      it blocks their deletion until this transaction ends, not edits of their label or distance). A row deleted
      since the watchlist was read comes back from it no more: the plates are matched again without it (against
      the other entries, which may still match), until every matched entry is held.
    - SQLite: the write lock is taken before the watchlist is read; no other connection can write until commit.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        _sqlite_write_lock(session)
    entries = list(session.scalars(select(WatchEntry)))
    while True:
        matches = [match_watchlist(entries, norm) for norm in norms]
        wanted = {m.id for m in matches if m is not None}
        if dialect != "postgresql" or not wanted:
            return matches
        held = set(session.scalars(
            select(WatchEntry.id).where(WatchEntry.id.in_(wanted)).with_for_update(read=True, key_share=True)
        ))
        if held == wanted:
            return matches
        # Drop the entries deleted meanwhile; each pass drops at least one, so the loop ends.
        entries = [e for e in entries if e.id in held or e.id not in wanted]


def _used(session: Session, shas: Iterable[str]) -> set[str]:
    """Those of ``shas`` that a committed read uses, as its photo or a plate's crop."""
    wanted = list(shas)
    in_reads = select(Read.image_sha256).where(one_of(Read.image_sha256, wanted))
    in_plates = select(Plate.crop_sha256).where(one_of(Plate.crop_sha256, wanted))
    return {sha for sha in session.scalars(in_reads.union(in_plates)) if sha}


def match_watchlist(entries: Sequence[WatchEntry], plate_norm: str) -> WatchEntry | None:
    """The closest watchlist entry within its own ``max_distance`` of ``plate_norm`` (None: no alert)."""
    if not plate_norm:
        return None
    best: tuple[int, WatchEntry] | None = None
    for entry in entries:
        d = levenshtein(plate_norm, entry.plate_norm, entry.max_distance)
        if d <= entry.max_distance and (best is None or d < best[0]):
            best = (d, entry)
    return best[1] if best else None


class ReadOutbox(Protocol):
    """What a stored read must cause later (a webhook), recorded in the transaction that stores the read."""

    def enqueue(self, session: Session, read: StoredRead) -> object:
        """Add the rows owed for ``read`` to ``session``, whose commit stores the read and them together."""
        ...


class ReadStore:
    """The history of reads in a database, with images and crops in an :class:`ImageFiles`.

    Args:
        db: the database (migrated).
        files: where image and crop bytes go; None stores metadata only.
        outbox: what each save also queues in its own transaction (the webhooks of ``numberplate.notify``); None:
            nothing. A public attribute: the web server sets it on its app's store.
    """

    def __init__(self, db: Database, files: ImageFiles | None = None, outbox: ReadOutbox | None = None):
        self.db = db
        self.files = files
        self.outbox = outbox

    def save_images(
        self, result: ImageResult, image: np.ndarray, crops: Sequence[np.ndarray], **meta: Any
    ) -> StoredRead:
        """:meth:`save` from RGB arrays: the photo re-encoded as JPEG (one format on disk, no EXIF location
        kept) and each non-empty crop; ``meta`` are :meth:`save`'s keyword arguments (source, camera_id...)."""
        return self.save(
            result,
            image_jpeg=encode_jpeg(image, STORED_JPEG_QUALITY),
            crops_jpeg=[encode_jpeg(c, CROP_JPEG_QUALITY) if c.size else None for c in crops],
            **meta,
        )

    def save(
        self,
        result: ImageResult,
        *,
        image_jpeg: bytes | None = None,
        crops_jpeg: Sequence[bytes | None] = (),
        source: str = "web",
        camera_id: str | None = None,
        filename: str | None = None,
        country_hint: str | None = None,
        token_id: int | None = None,
        created_at: datetime | None = None,
    ) -> StoredRead:
        """Store a read; files are written before the row is committed, so a stored row never lacks its files.

        The :attr:`outbox`'s rows (webhook deliveries) are written in the read's own transaction: both are stored,
        or neither.

        If the read cannot be committed, its files that no committed read uses are removed again (under the
        same lock as a delete's, so a file another save is about to commit is written again by that save).
        """
        written: set[str] = set()

        def put(data: bytes | None) -> str | None:
            if not (self.files and data):
                return None
            sha = self.files.put(data)
            written.add(sha)
            return sha

        try:
            image_sha = put(image_jpeg)
            crop_shas = [put(c) for c in crops_jpeg]
            blobs = {sha: data for sha, data in zip((image_sha, *crop_shas), (image_jpeg, *crops_jpeg), strict=True)
                     if sha and data}
            with self.db.session() as session:
                if self.files and blobs:
                    # A file that was already there may have been unlinked since by a delete that did not see this
                    # read; under the lock (held until the commit) none can, so write again any file that is gone.
                    _lock_files(session, blobs)
                    for sha, data in blobs.items():
                        self.files.ensure(sha, data)
                norms = [normalize_plate(p.text.text if p.text and p.text.text else "") for p in result.plates]
                watches = _match_and_hold(session, norms)
                read = Read(
                    created_at=created_at or utcnow(),
                    source=source,
                    camera_id=camera_id,
                    filename=filename,
                    image_sha256=image_sha,
                    width=result.width,
                    height=result.height,
                    processing_ms=result.processing_time_ms,
                    country_hint=country_hint,
                    token_id=token_id,
                )
                for i, plate in enumerate(result.plates):
                    box = plate.detection.box.to_dict()
                    read.plates.append(
                        Plate(
                            position=i,
                            text=plate.text.text if plate.text and plate.text.text else None,
                            plate_norm=norms[i],
                            confidence=plate.text.confidence if plate.text else 0.0,
                            detection_confidence=plate.detection.confidence,
                            country=plate.text.country if plate.text else None,
                            candidates=[c.to_dict() for c in plate.text.candidates] if plate.text else [],
                            crop_sha256=crop_shas[i] if i < len(crop_shas) else None,
                            vehicle=plate.vehicle.to_dict() if plate.vehicle else None,
                            lookup_error=plate.lookup_error,
                            watch=watches[i],
                            **{f"box_{k}": v for k, v in box.items()},
                        )
                    )
                session.add(read)
                session.flush()
                stored = _stored(read)
                if self.outbox is not None:
                    self.outbox.enqueue(session, stored)
                return stored
        except BaseException:
            self._remove_after_failed_save(written)
            raise

    def _remove_after_failed_save(self, shas: set[str]) -> None:
        """Remove the files a failed save wrote, unless a committed read uses them; never raises.

        The save's own error is what the caller needs; a failure here (the database gone too) only leaves files
        over, which is logged.
        """
        try:
            self._remove_unused_files(shas)
        except Exception:
            log.warning("could not remove the %d file(s) of a read that was not saved", len(shas), exc_info=True)

    def get(self, read_id: int) -> StoredRead:
        """The read with this id.

        Raises:
            NotFoundError: there is no such read.
        """
        with self.db.session() as session:
            read = get_or_raise(session, Read, read_id, "read")
            return _stored(read)

    def delete(self, read_id: int) -> None:
        """Delete a read, its plates, and the files no other read uses.

        Raises:
            NotFoundError: there is no such read.
        """
        with self.db.session() as session:
            if not id_fits(read_id):
                raise NotFoundError(not_found("read", read_id))
            image = session.execute(select(Read.image_sha256).where(Read.id == read_id)).first()
            if image is None:
                raise NotFoundError(not_found("read", read_id))
            crops = session.scalars(select(Plate.crop_sha256).where(Plate.read_id == read_id))
            shas = {s for s in (image[0], *crops) if s}
            # Not the SELECT above but the DELETE says whether this call deleted the read (its plates go by the
            # foreign key's ON DELETE CASCADE).
            delete_or_raise(session, Read, read_id, "read")
        self._remove_unused_files(shas)

    def _remove_unused_files(self, shas: set[str]) -> int:
        """Unlink the files of ``shas`` that no committed read uses; returns how many this call removed.

        Files are shared by content, so a read being saved (in another thread, process or host) may have found
        one of them already on disk a moment ago. Both sides take :func:`_lock_files`: here, the check that no
        row uses the file and its unlink happen under the lock; :meth:`save` writes the file again, if it is
        gone, under the same lock before its commit. Either the save commits first and this check sees its row,
        or the unlink comes first and the save re-creates the file: a committed read never lacks its file.
        This runs after the delete's commit, so a process dying in between leaves a file over, never a row
        without its file; :meth:`remove_orphaned_files` removes such files later.
        """
        if not self.files or not shas:
            return 0
        removed = 0
        with self.db.session() as session:
            _lock_files(session, shas)
            for sha in sorted(shas - _used(session, shas)):
                if self.files.delete(sha):
                    removed += 1
        return removed

    def remove_orphaned_files(self, grace: timedelta = ORPHAN_GRACE, *, wait: bool = False,
                              every: timedelta | None = None) -> int:
        """Remove the files in the images folder that no read refers to and that were written over ``grace`` ago,
        and the temporary files of writes that never finished (as old), in one walk of the folder.

        Such files are left over when removing a deleted read's files fails (a read-only folder, a full disk)
        or the process dies between the delete's commit and the unlink; nothing else would ever remove them.
        A read being saved meanwhile keeps its files: those it wrote are younger than ``grace``, and one it found
        already on disk (with an old time) is checked and removed under :func:`_lock_files`, which the save takes
        too before its commit, writing the file again if it is gone.

        One process at a time sweeps a folder (:meth:`ImageFiles.sweep_lock`): every worker's hourly purge calls
        this, and the walk of a large folder is long.

        Args:
            grace: leave files written less than this long ago.
            wait: when another process is sweeping, wait for it to finish and then sweep, instead of leaving the
                sweep to it (returning 0).
            every: sweep only when no sweep finished less than this long ago (None: whenever called).

        Returns:
            How many files this call removed.

        Raises:
            StoreError: the images folder cannot be listed or a file in it cannot be removed; the database
                cannot be read.
        """
        if not self.files:
            return 0
        with self.files.sweep_lock(wait) as lock:
            if lock is None:
                log.debug("another process is sweeping %s; leaving it to that one", self.files.root)
                return 0
            last = lock.last_finished
            if every is not None and last is not None and 0 <= time.time() - last < every.total_seconds():
                log.debug("%s was swept %.0f s ago; not again yet", self.files.root, time.time() - last)
                return 0
            removed = self._sweep(self.files, time.time() - grace.total_seconds())
            lock.finished()
        if removed:
            log.info("removed %d image file(s) that no read refers to", removed)
        return removed

    def _sweep(self, files: ImageFiles, cutoff: float) -> int:
        """Remove the unused files and the temporary files written before ``cutoff``; returns how many."""
        removed = 0

        def blobs() -> Iterator[str]:
            nonlocal removed
            for old in files.written_before(cutoff):
                if old.sha256 is None:
                    removed += files.remove_temporary(old)
                else:
                    yield old.sha256

        for batch in batches(blobs(), SWEEP_BATCH):
            with self.db.session() as session:  # most files are in use: drop those without taking any lock
                unused = sorted(set(batch) - _used(session, batch))
            for part in batches(unused, REMOVE_BATCH):
                removed += self._remove_unused_files(set(part))
        return removed

    def search(self, query: ReadQuery) -> Page:
        """Reads matching ``query`` (see :func:`read_filter`), newest first, one page of them."""
        per_page = max(1, min(query.per_page, MAX_PER_PAGE))
        page = max(1, query.page)
        found = read_filter(query)
        with self.db.session() as session:
            ids = select(Read.id).where(*found.where)
            if found.fuzzy:
                # The length window narrows the rows; the edit distance itself is computed here, the same
                # on SQLite and PostgreSQL.
                plates = select(Plate.read_id, Plate.plate_norm).join(Read, Plate.read_id == Read.id)
                rows = session.execute(plates.where(*found.on_reads, *found.on_plates)).all()
                matched = {rid for rid, p in rows if found.close_enough(p)}
                ids = select(Read.id).where(Read.id.in_(matched))
            total = session.scalar(select(func.count()).select_from(ids.subquery())) or 0
            reads = session.scalars(
                select(Read)
                .where(Read.id.in_(ids))
                .order_by(Read.created_at.desc(), Read.id.desc())
                .offset((page - 1) * per_page)
                .limit(per_page)
            ).all()
            return Page(tuple(_stored(r) for r in reads), total, page, per_page)

    def purge(self, older_than: timedelta, orphan_grace: timedelta = ORPHAN_GRACE,
              sweep_every: timedelta | None = SWEEP_EVERY) -> int:
        """Delete reads older than ``older_than`` (the retention setting) and their unused files; then remove
        the files that no read refers to (:meth:`remove_orphaned_files`, with ``orphan_grace``), unless another
        process is doing so or did less than ``sweep_every`` ago (None: unless another is doing so).

        Every worker process runs its own purge, and reads can be deleted through the API meanwhile: a read
        already gone is skipped.

        Returns:
            How many reads this call deleted.

        Raises:
            StoreError: the database cannot be used, or the images folder cannot be listed or changed.
        """
        deleted = 0
        for read_id in self._older_than(older_than):
            try:
                self.delete(read_id)
            except NotFoundError:
                continue  # deleted by another purge or an API call since it was listed
            deleted += 1
        self.remove_orphaned_files(orphan_grace, every=sweep_every)
        return deleted

    def _older_than(self, age: timedelta) -> Sequence[int]:
        """The ids of the reads older than ``age``."""
        try:
            cutoff = utcnow() - age
        except OverflowError:  # a cutoff before the year 1: nothing is that old
            return []
        with self.db.session() as session:
            return session.scalars(select(Read.id).where(Read.created_at < cutoff)).all()

    def counts(self) -> dict[str, int]:
        """How many reads and plates are stored."""
        with self.db.session() as session:
            return {
                "reads": session.scalar(select(func.count()).select_from(Read)) or 0,
                "plates": session.scalar(select(func.count()).select_from(Plate)) or 0,
            }
