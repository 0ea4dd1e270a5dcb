"""The outbox: deliveries are queued in the read's own transaction, for the reads webhook_events selects."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from numberplate.config import Config
from numberplate.notify.deliver import WebhookDeliverer
from numberplate.notify.outbox import Deliveries, WebhookOutbox, outbox_for
from numberplate.notify.webhooks import iso
from numberplate.store.db import Database
from numberplate.store.models import Read, WebhookDelivery
from numberplate.store.reads import StoredRead
from tests.notify.conftest import Clock, result, save_alert, store_with

URLS = ["http://127.0.0.1:9/a", "https://hooks.example.org/b?token=x"]


def rows(db: Database) -> list[WebhookDelivery]:
    with db.session() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def read_count(db: Database) -> int:
    with db.session() as session:
        return len(session.scalars(select(Read.id)).all())


def test_an_alert_queues_one_delivery_per_url_with_the_read_as_the_api_returns_it(db: Database,
                                                                                   clock: Clock) -> None:
    store = store_with(db, URLS, clock=clock)
    saved = save_alert(store)
    queued = rows(db)
    assert [r.url for r in queued] == URLS
    assert {r.read_id for r in queued} == {saved.id}
    assert all(r.event == "alert" and r.status == "pending" and r.attempts == 0 for r in queued)
    assert queued[0].payload == saved.to_dict() == store.get(saved.id).to_dict()
    assert queued[0].payload["plates"][0]["watchlist"]["label"] == "stolen"
    assert len({r.uid for r in queued}) == 2
    assert all(r.next_attempt_at.replace(tzinfo=None) == clock.now.replace(tzinfo=None) for r in queued)


def test_alerts_only_queues_nothing_for_a_read_without_an_alert(db: Database) -> None:
    store = store_with(db, URLS)
    store.save(result("XY99ZZZ"))
    store.save(result())
    assert rows(db) == []
    save_alert(store)
    assert len(rows(db)) == 2


def test_reads_queues_every_read_and_still_calls_an_alert_an_alert(db: Database) -> None:
    store = store_with(db, URLS[:1], events="reads")
    store.save(result("XY99ZZZ"))
    store.save(result())  # no plate at all: still a stored read
    save_alert(store)
    assert [r.event for r in rows(db)] == ["read", "read", "alert"]


class FailingOutbox(WebhookOutbox):
    def enqueue(self, session: Session, read: StoredRead) -> int:
        super().enqueue(session, read)
        session.flush()  # the deliveries are written ...
        raise RuntimeError("the process dies before the commit")  # ... and the transaction never commits


def test_a_save_that_fails_after_queueing_leaves_neither_read_nor_delivery(db: Database) -> None:
    store = store_with(db, URLS)
    store.outbox = FailingOutbox(URLS)
    with pytest.raises(RuntimeError):
        save_alert(store)
    assert rows(db) == [] and read_count(db) == 0


def test_a_commit_that_fails_leaves_neither_read_nor_delivery(db: Database) -> None:
    store = store_with(db, URLS)

    def refuse(_session: Session) -> None:
        raise RuntimeError("the disk filled up at the commit")

    event.listen(Session, "before_commit", refuse)
    try:
        with pytest.raises(RuntimeError):
            save_alert(store)
    finally:
        event.remove(Session, "before_commit", refuse)
    assert rows(db) == [] and read_count(db) == 0


def test_a_delivery_that_cannot_be_queued_does_not_store_the_read_either(db: Database) -> None:
    store = store_with(db, ["http://127.0.0.1:9/" + "x" * 3000])  # longer than the url column (PostgreSQL)
    if db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite does not enforce column lengths")
    with pytest.raises(Exception, match="too long"):
        save_alert(store)
    assert read_count(db) == 0


def test_a_read_deleted_before_its_delivery_drops_the_delivery(db: Database) -> None:
    store = store_with(db, URLS)
    kept, deleted = save_alert(store), save_alert(store)
    store.delete(deleted.id)
    assert {r.read_id for r in rows(db)} == {kept.id}


def test_the_commit_wakes_the_deliverer_of_this_process(db: Database) -> None:
    store = store_with(db, URLS)
    assert isinstance(store.outbox, WebhookOutbox)
    store.save(result("XY99ZZZ"))  # nothing queued: nothing to wake for
    assert not store.outbox.queued.is_set()
    save_alert(store)
    assert store.outbox.queued.is_set()


def test_no_webhook_urls_means_no_outbox() -> None:
    assert outbox_for(Config()) is None
    outbox = outbox_for(Config(webhook_urls=" http://a.example/x , https://b.example/y ", webhook_events="reads"))
    assert outbox is not None and outbox.urls == ("http://a.example/x", "https://b.example/y")
    assert outbox.events == "reads"


def test_status_counts_and_retry_requeues_only_failed_deliveries(db: Database, clock: Clock) -> None:
    store = store_with(db, URLS, clock=clock)
    save_alert(store)
    first, second = rows(db)
    with db.session() as session:
        for row_id, status in ((first.id, "failed"), (second.id, "delivered")):
            row: Any = session.get(WebhookDelivery, row_id)
            row.status, row.attempts, row.last_error, row.finished_at = status, 10, f"{status} why", clock.now
    deliveries = Deliveries(db, clock)
    assert deliveries.counts() == {"pending": 0, "delivered": 1, "failed": 1}
    assert [e.last_error for e in deliveries.recent_errors()] == ["failed why"]
    assert deliveries.recent_errors()[0].url == "http://127.0.0.1:9/a"
    clock.advance(60)
    assert deliveries.retry_failed() == 1
    assert deliveries.counts() == {"pending": 1, "delivered": 1, "failed": 0}
    again = rows(db)[0]
    assert (again.status, again.attempts, again.finished_at) == ("pending", 0, None)
    assert again.next_attempt_at.replace(tzinfo=None) == clock.now.replace(tzinfo=None)
    assert deliveries.retry_failed() == 0


def test_old_finished_deliveries_are_purged_and_pending_ones_never(db: Database, clock: Clock) -> None:
    store = store_with(db, URLS[:1], events="reads", clock=clock)
    for _ in range(4):
        store.save(result("XY99ZZZ"))
    ids = [r.id for r in rows(db)]
    with db.session() as session:
        for row_id, status, days in ((ids[0], "delivered", 8), (ids[1], "delivered", 6), (ids[2], "failed", 31)):
            row: Any = session.get(WebhookDelivery, row_id)
            row.status = status
            row.finished_at = clock.now - timedelta(days=days)
    assert Deliveries(db, clock).purge() == 2
    assert [r.id for r in rows(db)] == [ids[1], ids[3]]


def test_status_says_sending_while_a_lease_is_held_and_due_now_once_the_next_attempt_time_passed(
        db: Database, clock: Clock) -> None:
    store = store_with(db, URLS[:1], clock=clock)
    save_alert(store)
    (row,) = rows(db)
    with db.session() as session:  # as a first attempt that failed leaves it: due again in 30 s
        failed: Any = session.get(WebhookDelivery, row.id)
        failed.attempts, failed.last_error, failed.next_attempt_at = 1, "HTTP 503", clock.now + timedelta(seconds=30)
    deliveries = Deliveries(db, clock)

    def shown() -> tuple[str, str]:
        (info,) = deliveries.recent_errors()
        return info.progress, info.describe()

    assert shown() == ("waiting", "next 2026-05-01T12:00:30Z")
    clock.advance(31)
    assert shown() == ("due", "due now")
    deliverer = WebhookDeliverer(db, timeout=10, clock=clock)
    assert deliverer.claim(row.id) is not None  # ... and its deliverer dies mid-request, the lease left on the row
    lease_end = clock.now + deliverer.lease
    assert shown() == ("sending", f"sending (lease until {iso(lease_end)})")
    assert deliveries.recent_errors()[0].to_dict()["lease_until"] == iso(lease_end)
    clock.now = lease_end
    assert shown()[0] == "sending"  # no deliverer may claim it yet
    clock.advance(1)
    assert shown() == ("due", "due now")  # the lease ran out: the next round sends it, though its time is long past
    assert deliveries.recent_errors()[0].to_dict()["lease_until"] is None
    with db.session() as session:
        gone: Any = session.get(WebhookDelivery, row.id)
        gone.status, gone.finished_at = "failed", clock.now
    assert shown() == ("failed", "gave up")
