"""Webhook fixtures: a database of each kind, a store that queues webhooks, a local receiver, a movable clock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from numberplate.notify.outbox import WebhookOutbox
from numberplate.store.clock import utcnow
from numberplate.store.db import Database
from numberplate.store.reads import ReadStore, StoredRead
from numberplate.store.watchlist import Watchlist
from numberplate.types import BoundingBox, Detection, ImageResult, PlateRead, PlateText
from tests.lookup.servers import LocalServer, Reply, Request
from tests.store.conftest import empty_database


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A freshly migrated, empty database of each kind."""
    database = empty_database(request, tmp_path)
    yield database
    database.close()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database, for tests about HTTP rather than the database."""
    database = Database(f"sqlite:///{tmp_path / 'hooks.db'}")
    database.migrate()
    yield database
    database.close()


class Clock:
    """A wall clock that moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def receiver() -> Iterator[LocalServer]:
    """A webhook receiver on 127.0.0.1 that answers 204 unless a test scripts otherwise."""
    with LocalServer(lambda _request: Reply(204)) as server:
        yield server


def result(*texts: str) -> ImageResult:
    plates = tuple(PlateRead(Detection(BoundingBox(10 + i, 20, 110 + i, 50), 0.9), PlateText(t, 0.8, country="gb"))
                   for i, t in enumerate(texts))
    return ImageResult(640, 480, plates, 12.5)


def store_with(db: Database, urls: list[str], events: str = "alerts", clock: Clock | None = None) -> ReadStore:
    """A store whose saves queue webhooks to ``urls``, with AB12CDE on the watchlist."""
    if not any(e.plate == "AB12CDE" for e in Watchlist(db).list()):
        Watchlist(db).add("AB12CDE", label="stolen")
    return ReadStore(db, outbox=WebhookOutbox(urls, events, clock or utcnow))  # type: ignore[arg-type]


def save_alert(store: ReadStore) -> StoredRead:
    """Save a read of a watchlisted plate."""
    return store.save(result("AB12CDE"), source="api", camera_id="gate")


def posted(server: LocalServer) -> list[Request]:
    return [r for r in server.requests if r.method == "POST"]
