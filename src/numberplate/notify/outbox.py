"""The webhook outbox: deliveries queued in the transaction that stores a read, and what ``webhooks status`` and
``webhooks retry`` ask of them."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import delete, event, func, or_, select, update
from sqlalchemy.orm import Session

from numberplate.config import WEBHOOK_EVENTS, Config, parse_webhook_urls
from numberplate.notify.webhooks import Event, WebhookEvents, iso, shown_url
from numberplate.store.clock import as_utc, utcnow
from numberplate.store.db import Database
from numberplate.store.models import WebhookDelivery
from numberplate.store.reads import StoredRead

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
STATUSES = (PENDING, DELIVERED, FAILED)
Progress = Literal["sending", "due", "waiting", "delivered", "failed"]
"""Where a delivery stands when shown: a pending one is ``sending`` (a deliverer holds an unexpired lease on it),
``due`` (its next attempt time has passed: the next round sends it) or ``waiting`` (for its next attempt time)."""
KEEP_DELIVERED = timedelta(days=7)
"""How long a delivered row is kept (for ``webhooks status``) before the deliverers' hourly purge removes it."""
KEEP_FAILED = timedelta(days=30)
"""How long a failed row is kept for ``webhooks retry`` before the purge removes it."""


def event_of(read: StoredRead) -> Event:
    """``alert`` when a plate of ``read`` matched the watchlist, else ``read``."""
    return "alert" if any(p.watch is not None for p in read.plates) else "read"


class WebhookOutbox:
    """Queues one delivery per URL for each stored read that ``events`` selects: a :class:`ReadOutbox` of the
    :class:`~numberplate.store.reads.ReadStore`, whose save calls :meth:`enqueue` in its own transaction.

    Args:
        urls: the receivers (checked http(s) URLs).
        events: ``alerts`` (reads with a watchlist alert) or ``reads`` (every read; alerts still say ``alert``).
        clock: the current time (tests).
    """

    def __init__(self, urls: Sequence[str], events: WebhookEvents = "alerts",
                 clock: Callable[[], datetime] = utcnow):
        if events not in WEBHOOK_EVENTS:
            raise ValueError(f"events must be 'alerts' or 'reads', got {events!r}")
        self.urls = tuple(urls)
        self.events = events
        self._clock = clock
        self.queued = threading.Event()
        """Set when a transaction that queued deliveries commits: a deliverer in this process starts at once."""

    def enqueue(self, session: Session, read: StoredRead) -> int:
        """Add the deliveries owed for ``read`` to ``session`` (not committed here); returns how many."""
        kind = event_of(read)
        if not self.urls or (self.events == "alerts" and kind != "alert"):
            return 0
        now = self._clock()
        payload = read.to_dict()
        for url in self.urls:
            session.add(WebhookDelivery(uid=uuid.uuid4().hex, read_id=read.id, event=kind, url=url, payload=payload,
                                        status=PENDING, attempts=0, created_at=now, next_attempt_at=now))
        event.listen(session, "after_commit", self._committed, once=True)
        return len(self.urls)

    def _committed(self, _session: Session) -> None:
        self.queued.set()


def outbox_for(config: Config) -> WebhookOutbox | None:
    """The outbox of ``config``'s ``webhook_urls`` and ``webhook_events``; None when no URL is set."""
    urls = parse_webhook_urls(config.webhook_urls)
    if not urls:
        return None
    return WebhookOutbox(urls, "reads" if config.webhook_events == "reads" else "alerts")


@dataclass(frozen=True)
class DeliveryInfo:
    """A delivery as ``webhooks status`` shows it (its URL without credentials or query)."""

    id: int
    delivery_id: str
    read_id: int
    event: str
    url: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    progress: Progress
    """Where it stands at the time it was read (see :data:`Progress`)."""
    lease_until: datetime | None = None
    """When the lease of the deliverer sending it runs out; only while it is ``sending``."""

    def describe(self) -> str:
        """Where it stands in words: ``sending (lease until <time>)``, ``due now``, ``next <time>``, ``gave up``
        or ``delivered``."""
        if self.progress == "sending" and self.lease_until is not None:
            return f"sending (lease until {iso(self.lease_until)})"
        if self.progress == "due":
            return "due now"
        if self.progress == "waiting" and self.next_attempt_at is not None:
            return f"next {iso(self.next_attempt_at)}"
        return "gave up" if self.status == FAILED else self.status

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "delivery_id": self.delivery_id,
            "read_id": self.read_id,
            "event": self.event,
            "url": self.url,
            "status": self.status,
            "attempts": self.attempts,
            "created_at": iso(self.created_at),
            "next_attempt_at": iso(self.next_attempt_at) if self.next_attempt_at else None,
            "last_status": self.last_status,
            "last_error": self.last_error,
            "progress": self.progress,
            "lease_until": iso(self.lease_until) if self.lease_until else None,
        }


class Deliveries:
    """The outbox table as a whole: counts, recent errors, re-queueing failed deliveries, removing old ones.

    Args:
        db: the database (migrated).
        clock: the current time (tests).
    """

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow):
        self.db = db
        self._clock = clock

    def counts(self) -> dict[str, int]:
        """How many deliveries are pending, delivered and failed."""
        with self.db.session() as session:
            rows = session.execute(select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status))
            found = {status: int(n) for status, n in rows}
        return {status: found.get(status, 0) for status in STATUSES}

    def recent_errors(self, limit: int = 10) -> list[DeliveryInfo]:
        """The deliveries that failed or whose last attempt failed, most recent first."""
        now = self._clock()
        with self.db.session() as session:
            rows = session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.status != DELIVERED, WebhookDelivery.last_error.is_not(None))
                .order_by(WebhookDelivery.id.desc())
                .limit(limit)
            ).all()
            return [_info(row, now) for row in rows]

    def retry_failed(self, ids: Sequence[int] = ()) -> int:
        """Queue the failed deliveries (those of ``ids`` only, when given) again, due now, with a fresh count of
        attempts; returns how many."""
        query = (update(WebhookDelivery)
                 .where(WebhookDelivery.status == FAILED)
                 .values(status=PENDING, attempts=0, next_attempt_at=self._clock(), finished_at=None,
                         lease_until=None, lease_owner=None)
                 .execution_options(synchronize_session=False))
        if ids:
            query = query.where(WebhookDelivery.id.in_(list(ids)))
        with self.db.session() as session:
            return int(getattr(session.execute(query), "rowcount", 0) or 0)

    def purge(self, keep_delivered: timedelta = KEEP_DELIVERED, keep_failed: timedelta = KEEP_FAILED) -> int:
        """Remove delivered rows older than ``keep_delivered`` and failed ones older than ``keep_failed``;
        returns how many."""
        now = self._clock()
        old = or_(
            (WebhookDelivery.status == DELIVERED) & (WebhookDelivery.finished_at < now - keep_delivered),
            (WebhookDelivery.status == FAILED) & (WebhookDelivery.finished_at < now - keep_failed),
        )
        with self.db.session() as session:
            result = session.execute(delete(WebhookDelivery).where(old).execution_options(synchronize_session=False))
            return int(getattr(result, "rowcount", 0) or 0)


def _progress(row: WebhookDelivery, now: datetime) -> tuple[Progress, datetime | None]:
    """Where ``row`` stands at ``now``, and its lease's end while a deliverer holds it."""
    if row.status != PENDING:
        return ("delivered" if row.status == DELIVERED else "failed"), None
    lease_until = as_utc(row.lease_until) if row.lease_until is not None else None
    if lease_until is not None and lease_until >= now:  # a deliverer may claim it only once the lease is past
        return "sending", lease_until
    # A deliverer that died mid-request leaves next_attempt_at in the past: due (again) as soon as its lease ends.
    return ("due" if as_utc(row.next_attempt_at) <= now else "waiting"), None


def _info(row: WebhookDelivery, now: datetime) -> DeliveryInfo:
    progress, lease_until = _progress(row, now)
    return DeliveryInfo(
        id=row.id,
        delivery_id=row.uid,
        read_id=row.read_id,
        event=row.event,
        url=shown_url(row.url),
        status=row.status,
        attempts=row.attempts,
        created_at=as_utc(row.created_at),
        next_attempt_at=as_utc(row.next_attempt_at) if row.status == PENDING else None,
        last_status=row.last_status,
        last_error=row.last_error,
        progress=progress,
        lease_until=lease_until,
    )
