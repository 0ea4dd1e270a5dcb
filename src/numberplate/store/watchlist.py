"""The watchlist (hotlist): plates to alert on, matched fuzzily against every new read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from numberplate.errors import StoreError
from numberplate.store.clock import as_utc, normalize_plate
from numberplate.store.db import Database, delete_or_raise, get_or_raise, gone_is_not_found, not_found
from numberplate.store.models import WatchEntry

MAX_DISTANCE = 2
MAX_LABEL = 200


class WatchlistError(StoreError):
    """A watchlist entry is invalid (empty plate, bad distance) or already listed."""


@dataclass(frozen=True)
class Watch:
    """One watchlist entry."""

    id: int
    plate: str
    label: str
    max_distance: int
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "plate": self.plate,
            "label": self.label,
            "max_distance": self.max_distance,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
        }


def _watch(entry: WatchEntry) -> Watch:
    return Watch(entry.id, entry.plate_norm, entry.label, entry.max_distance, as_utc(entry.created_at))


def _checked(plate: str, label: str, max_distance: int) -> tuple[str, str, int]:
    norm = normalize_plate(plate)
    if not norm or len(norm) > 16:
        raise WatchlistError(f"plate {plate[:40]!r} must have 1 to 16 letters or digits")
    if not 0 <= max_distance <= MAX_DISTANCE:
        raise WatchlistError(f"max_distance must be 0, 1 or 2 characters, got {max_distance}")
    label = label.strip()
    if len(label) > MAX_LABEL:
        raise WatchlistError(f"label must be at most {MAX_LABEL} characters, got {len(label)}")
    return norm, label, max_distance


class Watchlist:
    """Create, list, change and delete watchlist entries."""

    def __init__(self, db: Database):
        self.db = db

    def add(self, plate: str, label: str = "", max_distance: int = 1) -> Watch:
        """Put a plate on the watchlist.

        Raises:
            WatchlistError: the plate is empty or already listed, or ``max_distance`` is not 0-2.
        """
        norm, label, max_distance = _checked(plate, label, max_distance)
        try:
            with self.db.session() as session:
                entry = WatchEntry(plate_norm=norm, label=label, max_distance=max_distance)
                session.add(entry)
                session.flush()
                return _watch(entry)
        except IntegrityError as e:
            raise WatchlistError(f"{norm} is already on the watchlist") from e

    def update(self, watch_id: int, *, label: str | None = None, max_distance: int | None = None) -> Watch:
        """Change an entry's label or distance.

        Raises:
            NotFoundError: no such entry.
            WatchlistError: an invalid value.
        """
        with gone_is_not_found(not_found("watchlist entry", watch_id)), self.db.session() as session:
            entry = get_or_raise(session, WatchEntry, watch_id, "watchlist entry")
            _, entry.label, entry.max_distance = _checked(
                entry.plate_norm,
                entry.label if label is None else label,
                entry.max_distance if max_distance is None else max_distance,
            )
            session.flush()
            return _watch(entry)

    def get(self, watch_id: int) -> Watch:
        """One entry.

        Raises:
            NotFoundError: no such entry.
        """
        with self.db.session() as session:
            entry = get_or_raise(session, WatchEntry, watch_id, "watchlist entry")
            return _watch(entry)

    def list(self) -> list[Watch]:
        """Every entry, alphabetically by plate."""
        with self.db.session() as session:
            return [_watch(e) for e in session.scalars(select(WatchEntry).order_by(WatchEntry.plate_norm))]

    def delete(self, watch_id: int) -> None:
        """Remove an entry (past reads keep their text; their alert link is cleared).

        Raises:
            NotFoundError: no such entry.
        """
        with self.db.session() as session:
            delete_or_raise(session, WatchEntry, watch_id, "watchlist entry")
