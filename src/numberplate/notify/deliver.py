"""Sending the outbox: claim each due delivery with a compare-and-set lease, POST it, record the answer, back off.

Any number of deliverers (a thread in each web worker, ``numberplate webhooks deliver`` on other hosts) share one
database. A deliverer claims a due row with one UPDATE that succeeds only while no live lease is on it
(``lease_until IS NULL OR lease_until < now``) and checks that it changed one row: of two deliverers at once one
wins (SQLite: one writer at a time; PostgreSQL: the second UPDATE waits for the first to commit and then finds the
lease taken). The lease lasts the request's timeout plus :data:`LEASE_MARGIN`, so in normal operation no
delivery is sent twice; a deliverer that dies mid-request leaves its lease to expire, and the delivery is sent
again (at least once, with the same ``X-Numberplate-Delivery``). Hosts' clocks must agree within the margin.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import httpx
from sqlalchemy import ColumnElement, or_, select, update

from numberplate.config import Config
from numberplate.errors import NumberplateError
from numberplate.notify.outbox import DELIVERED, FAILED, PENDING, Deliveries
from numberplate.notify.webhooks import Answer, Event, WebhookSender, body, headers, shown_url
from numberplate.store.clock import utcnow
from numberplate.store.db import Database
from numberplate.store.models import WebhookDelivery

log = logging.getLogger(__name__)

BACKOFF_S = (10, 30, 60, 300, 900, 3600, 2 * 3600, 4 * 3600, 8 * 3600)
"""Waits after the 1st, 2nd, ... failed attempt (later ones wait the last), each scaled by a random factor in
[1 - JITTER, 1 + JITTER] so that deliveries that failed together do not come back together."""
JITTER = 0.2
LONGEST_WAIT_S = 12 * 3600.0
"""The longest wait a ``Retry-After`` can ask for."""
LEASE_MARGIN = timedelta(seconds=60)
"""How much longer than the request's timeout a claim lasts (the answer's recording, a slow database)."""
BATCH = 50  # due deliveries listed per round
POLL_S = 2.0  # how often a deliverer looks for due deliveries queued by other processes
PURGE_EVERY_S = 3600.0


def backoff(attempts: int, rng: random.Random, retry_after: float | None = None) -> timedelta:
    """The wait before the next attempt after ``attempts`` failed ones (at least ``retry_after``)."""
    base = BACKOFF_S[min(max(attempts, 1), len(BACKOFF_S)) - 1]
    wait = base * rng.uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None:
        wait = max(wait, min(retry_after, LONGEST_WAIT_S))
    return timedelta(seconds=wait)


def _due(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """A delivery due at ``now``: pending, its next attempt time passed, and no live lease on it (what
    :meth:`WebhookDeliverer.deliver_due` lists and :meth:`WebhookDeliverer.claim` compares and sets)."""
    return (WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now))


@dataclass(frozen=True)
class Claim:
    """A delivery this deliverer holds the lease on, with what to send."""

    id: int
    owner: str
    delivery_id: str
    event: Event
    url: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int  # this one included
    last_error: str | None


@dataclass(frozen=True)
class Round:
    """What one :meth:`WebhookDeliverer.deliver_due` did."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    dropped: int = 0  # its read was deleted (or its lease lost) while it was being sent

    @property
    def attempted(self) -> int:
        return self.delivered + self.retrying + self.failed + self.dropped

    def __add__(self, other: Round) -> Round:
        return Round(self.delivered + other.delivered, self.retrying + other.retrying, self.failed + other.failed,
                     self.dropped + other.dropped)


class WebhookDeliverer:
    """Sends the outbox's due deliveries, one at a time, and records each answer.

    Args:
        db: the database (migrated).
        secret: signs every POST when set (``webhook_secret``).
        timeout: seconds for one POST (``webhook_timeout``).
        max_attempts: attempts before a delivery is marked failed (``webhook_max_attempts``).
        clock: the current time (tests move it on instead of waiting).
        rng: the source of the backoff's jitter.
        transport: an httpx transport for the POSTs (tests); None for the default.
    """

    def __init__(self, db: Database, *, secret: str | None = None, timeout: float = 10.0, max_attempts: int = 10,
                 clock: Callable[[], datetime] = utcnow, rng: random.Random | None = None,
                 transport: httpx.BaseTransport | None = None):
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be 1 or more, got {max_attempts}")
        self.db = db
        self.max_attempts = max_attempts
        self.lease = timedelta(seconds=timeout) + LEASE_MARGIN
        self._secret = secret
        self._clock = clock
        self._rng = rng or random.Random()
        self.sender = WebhookSender(timeout, transport)
        self.deliveries = Deliveries(db, clock)

    @classmethod
    def for_config(cls, db: Database, config: Config, **kwargs: Any) -> WebhookDeliverer:
        """A deliverer with ``config``'s secret, timeout and attempts."""
        return cls(db, secret=config.webhook_secret, timeout=config.webhook_timeout,
                   max_attempts=config.webhook_max_attempts, **kwargs)

    def close(self) -> None:
        """Close the sender's connections."""
        self.sender.close()

    def deliver_due(self, skip_urls: set[str] | None = None) -> Round:
        """Send up to :data:`BATCH` due deliveries, oldest first.

        A URL that fails is not tried again in this round (its other deliveries wait for the next one), so a
        receiver that hangs costs one timeout a round, not one per queued delivery.

        Args:
            skip_urls: URLs not to try (nor list: their backlog never fills the batch); those failing now are
                added (pass the same set to several rounds to try each URL at most until it fails once).

        Raises:
            StoreError: the database cannot be used.
        """
        skip = skip_urls if skip_urls is not None else set()
        now = self._clock()
        query = (select(WebhookDelivery.id, WebhookDelivery.url)
                 .where(*_due(now))
                 .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                 .limit(BATCH))
        if skip:  # left out of the listing, so a failing URL's backlog cannot fill the batch of the others
            query = query.where(WebhookDelivery.url.not_in(sorted(skip)))
        with self.db.session() as session:
            due = session.execute(query).all()
        done = Round()
        for row_id, url in due:
            if url in skip:
                continue
            claim = self.claim(row_id)
            if claim is None:
                continue  # another deliverer has it, or it is gone
            outcome = self._deliver(claim)
            done += outcome
            if outcome.retrying or outcome.failed:
                skip.add(url)
        return done

    def claim(self, row_id: int) -> Claim | None:
        """Take the lease on delivery ``row_id`` if it is due and no live lease is on it (counting an attempt);
        None when another deliverer holds it or it is not due (or gone)."""
        now = self._clock()
        owner = uuid.uuid4().hex
        with self.db.session() as session:
            result = session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == row_id, *_due(now))
                .values(lease_until=now + self.lease, lease_owner=owner, attempts=WebhookDelivery.attempts + 1)
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) != 1:
                return None
            row = session.execute(
                select(WebhookDelivery.uid, WebhookDelivery.event, WebhookDelivery.url, WebhookDelivery.payload,
                       WebhookDelivery.created_at, WebhookDelivery.attempts, WebhookDelivery.last_error)
                .where(WebhookDelivery.id == row_id)
            ).one()
        return Claim(row_id, owner, row.uid, cast(Event, row.event), row.url, row.payload, row.created_at,
                     row.attempts, row.last_error)

    def _deliver(self, claim: Claim) -> Round:
        where = f"webhook {claim.delivery_id} ({claim.event}) to {shown_url(claim.url)}"
        if claim.attempts > self.max_attempts:  # a deliverer died during the last attempt, or the limit fell
            error = claim.last_error or "no answer recorded"
            self._finish(claim, FAILED, None, f"gave up after {claim.attempts - 1} attempt(s): {error}")
            log.warning("%s failed after %d attempt(s): %s", where, claim.attempts - 1, error)
            return Round(failed=1)
        payload = body(claim.event, claim.delivery_id, claim.created_at, claim.payload)
        request_headers = headers(claim.event, claim.delivery_id, payload, self._secret, self._clock().timestamp())
        answer = self.sender.post(claim.url, payload, request_headers)
        if answer.delivered:
            kept = self._finish(claim, DELIVERED, answer.status, None)
            log.debug("%s delivered (HTTP %s, %.0f ms)", where, answer.status, answer.elapsed_ms)
            return Round(delivered=1) if kept else Round(dropped=1)
        if claim.attempts >= self.max_attempts:
            kept = self._finish(claim, FAILED, answer.status, answer.error)
            log.warning("%s failed after %d attempt(s): %s; `numberplate webhooks retry` queues it again", where,
                        claim.attempts, answer.error)
            return Round(failed=1) if kept else Round(dropped=1)
        wait = backoff(claim.attempts, self._rng, answer.retry_after)
        kept = self._record(claim, answer, wait)
        log.warning("%s: attempt %d of %d failed (%s); next in %.0f s", where, claim.attempts, self.max_attempts,
                    answer.error, wait.total_seconds())
        return Round(retrying=1) if kept else Round(dropped=1)

    def _record(self, claim: Claim, answer: Answer, wait: timedelta) -> bool:
        """Set the next attempt of a failed delivery still held; False when it is gone (its read deleted)."""
        return self._update(claim, next_attempt_at=self._clock() + wait, last_status=answer.status,
                            last_error=answer.error)

    def _finish(self, claim: Claim, status: str, http_status: int | None, error: str | None) -> bool:
        return self._update(claim, status=status, last_status=http_status, last_error=error,
                            finished_at=self._clock())

    def _update(self, claim: Claim, **values: Any) -> bool:
        """Write ``values`` and free the lease, if this deliverer still holds it."""
        with self.db.session() as session:
            result = session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == claim.id, WebhookDelivery.lease_owner == claim.owner)
                .values(lease_until=None, lease_owner=None, **values)
                .execution_options(synchronize_session=False)
            )
            kept = getattr(result, "rowcount", 0) == 1
        if not kept:
            log.info("webhook %s is no longer queued (its read was deleted, or its lease ran out)", claim.delivery_id)
        return kept

    def run(self, stop: threading.Event, wake: threading.Event | None = None, poll: float = POLL_S) -> None:
        """Deliver until ``stop`` is set: due deliveries at once, then every ``poll`` seconds or when ``wake``
        is set (a read queued in this process); old rows are purged hourly. Errors are logged, never raised.

        Rounds follow one another at once while they attempt something; a URL that failed sits out the rounds
        that follow until one attempts nothing (then the deliverer waits), so it costs one timeout a wait."""
        wake = wake or threading.Event()
        next_purge = time.monotonic()
        skip: set[str] = set()
        while not stop.is_set():
            wake.clear()
            busy = False
            try:
                if time.monotonic() >= next_purge:
                    next_purge = time.monotonic() + PURGE_EVERY_S
                    removed = self.deliveries.purge()
                    if removed:
                        log.info("removed %d old webhook deliveries", removed)
                busy = self.deliver_due(skip).attempted > 0
            except NumberplateError as e:
                log.warning("webhook delivery failed, trying again in %g s: %s", poll, e)
            except Exception:  # this thread must outlive any error
                log.exception("webhook delivery failed, trying again in %g s", poll)
            if not busy:
                skip.clear()
                wake.wait(poll)


@dataclass(frozen=True)
class DeliveryThread:
    """A deliverer running in a daemon thread (each web worker's)."""

    thread: threading.Thread
    stop_event: threading.Event
    wake: threading.Event

    def stop(self, timeout: float | None = None) -> None:
        """Ask the thread to stop after the delivery it is sending, and wait for it up to ``timeout`` seconds."""
        self.stop_event.set()
        self.wake.set()
        self.thread.join(timeout)


def start_delivery_thread(deliverer: WebhookDeliverer, wake: threading.Event | None = None) -> DeliveryThread:
    """Run ``deliverer`` in a daemon thread, woken by ``wake`` (the outbox's :attr:`WebhookOutbox.queued`)."""
    stop, wake = threading.Event(), wake or threading.Event()
    thread = threading.Thread(target=deliverer.run, args=(stop, wake), name="numberplate-webhooks", daemon=True)
    thread.start()
    return DeliveryThread(thread, stop, wake)
