"""Delivery: signed POSTs to a local receiver, backoff, failing after the last attempt, leases between deliverers."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import threading
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from numberplate.notify.deliver import BACKOFF_S, BATCH, WebhookDeliverer, backoff, start_delivery_thread
from numberplate.notify.outbox import Deliveries, WebhookOutbox
from numberplate.notify.webhooks import WebhookSender, send_test_events
from numberplate.store.db import Database
from numberplate.store.models import WebhookDelivery
from numberplate.store.reads import ReadStore
from tests.lookup.servers import LocalServer, Reply, Request
from tests.notify.conftest import Clock, posted, result, save_alert, store_with

SECRET = "s3cret-shared-with-the-receiver"


def deliverer(db: Database, clock: Clock | None = None, **kwargs: Any) -> WebhookDeliverer:
    options: dict[str, Any] = {"timeout": 2.0, "rng": random.Random(7), **kwargs}
    if clock is not None:
        options["clock"] = clock
    return WebhookDeliverer(db, **options)


def only_row(db: Database) -> WebhookDelivery:
    with db.session() as session:
        (row,) = session.scalars(select(WebhookDelivery)).all()
        return row


def verify(secret: str, request: Request, tolerance: float | None = None) -> bool:
    """What a receiver does (the README's snippet): recompute the HMAC of "<timestamp>.<body>"."""
    timestamp = request.headers["x-numberplate-timestamp"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    fresh = tolerance is None or abs(time.time() - int(timestamp)) <= tolerance
    return fresh and hmac.compare_digest("sha256=" + expected, request.headers["x-numberplate-signature"])


def test_a_delivery_is_posted_signed_with_the_read_and_marked_delivered(db: Database, receiver: LocalServer) -> None:
    store = store_with(db, [receiver.url + "/hook?key=abc"])
    saved = save_alert(store)
    sender = deliverer(db, secret=SECRET)
    done = sender.deliver_due()
    assert (done.delivered, done.retrying, done.failed) == (1, 0, 0)
    (request,) = posted(receiver)
    assert request.path == "/hook" and request.query == {"key": "abc"}
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("numberplate/")
    assert request.headers["x-numberplate-event"] == "alert"
    body = request.json()
    assert set(body) == {"event", "delivery_id", "created_at", "read"}
    assert body["event"] == "alert" and body["read"] == saved.to_dict()
    assert body["read"]["plates"][0]["watchlist"]["label"] == "stolen"
    assert body["delivery_id"] == request.headers["x-numberplate-delivery"] == only_row(db).uid
    assert body["created_at"].endswith("Z")
    assert verify(SECRET, request, tolerance=300)
    assert not verify("another secret", request)
    tampered = Request(request.method, request.path, request.query, request.headers,
                       request.body.replace(b"AB12", b"ZZ12"))
    assert not verify(SECRET, tampered)
    row = only_row(db)
    assert (row.status, row.attempts, row.last_status, row.lease_until) == ("delivered", 1, 204, None)
    assert deliverer(db).deliver_due().attempted == 0  # never sent again


def test_without_a_secret_there_is_no_signature(sqlite_db: Database, receiver: LocalServer) -> None:
    save_alert(store_with(sqlite_db, [receiver.url]))
    deliverer(sqlite_db).deliver_due()
    (request,) = posted(receiver)
    assert "x-numberplate-signature" not in request.headers and "x-numberplate-timestamp" not in request.headers


def test_failures_are_retried_with_growing_jittered_waits_and_the_same_delivery_id(
        sqlite_db: Database, receiver: LocalServer, clock: Clock) -> None:
    db = sqlite_db
    save_alert(store_with(db, [receiver.url], clock=clock))
    receiver.then(Reply.text("database down", 500), Reply(502), Reply(200))
    sender = deliverer(db, clock)
    waits = []
    for attempt in (1, 2):
        assert sender.deliver_due().retrying == 1
        row = only_row(db)
        wait = (row.next_attempt_at.replace(tzinfo=None) - clock.now.replace(tzinfo=None)).total_seconds()
        base = BACKOFF_S[attempt - 1]
        assert 0.8 * base <= wait <= 1.2 * base and row.attempts == attempt
        waits.append(wait)
        assert sender.deliver_due().attempted == 0  # not due yet
        clock.advance(wait - 1)
        assert sender.deliver_due().attempted == 0
        clock.advance(1)
    assert only_row(db).last_error is not None and "HTTP 502" in (only_row(db).last_error or "")
    assert sender.deliver_due().delivered == 1
    requests = posted(receiver)
    assert len(requests) == 3 and len({r.headers["x-numberplate-delivery"] for r in requests}) == 1
    assert len({r.body for r in requests}) == 1
    assert waits[1] > waits[0]


def test_backoff_follows_the_schedule_and_honours_a_longer_retry_after() -> None:
    rng = random.Random(1)
    for attempts, base in ((1, 10), (2, 30), (3, 60), (4, 300), (5, 900), (6, 3600), (40, 8 * 3600)):
        assert 0.8 * base <= backoff(attempts, rng).total_seconds() <= 1.2 * base
    assert backoff(1, rng, retry_after=120).total_seconds() == 120
    assert backoff(1, rng, retry_after=10**9) == timedelta(hours=12)
    assert len({backoff(3, rng) for _ in range(20)}) > 1  # jittered


def test_after_the_last_attempt_a_delivery_fails_with_its_error_and_retry_queues_it_again(
        sqlite_db: Database, receiver: LocalServer, clock: Clock) -> None:
    db = sqlite_db
    save_alert(store_with(db, [receiver.url], clock=clock))
    receiver.then(*[Reply.text("nope", 404)] * 3)
    sender = deliverer(db, clock, max_attempts=3)
    outcomes = []
    for _ in range(3):
        done = sender.deliver_due()
        outcomes.append((done.retrying, done.failed))
        clock.advance(3 * 3600)
    assert outcomes == [(1, 0), (1, 0), (0, 1)]
    row = only_row(db)
    assert (row.status, row.attempts, row.last_status, row.last_error) == ("failed", 3, 404, "HTTP 404: nope")
    assert sender.deliver_due().attempted == 0  # failed stays failed
    assert Deliveries(db, clock).retry_failed() == 1
    assert sender.deliver_due().delivered == 1
    assert only_row(db).status == "delivered" and len(posted(receiver)) == 4


@pytest.mark.parametrize(("reply", "error"), [
    (Reply(200, delay=1.5), "no answer within 0.5 s (webhook_timeout)"),
    (Reply(200, drop=True), "the connection broke off"),
    (Reply(200, b"x" * 100, drip=0.2, drip_headers=True), "no answer within 0.5 s"),
])
def test_a_receiver_that_hangs_or_drops_the_connection_is_a_failed_attempt_within_the_timeout(
        sqlite_db: Database, receiver: LocalServer, reply: Reply, error: str) -> None:
    save_alert(store_with(sqlite_db, [receiver.url]))
    receiver.then(reply)
    start = time.monotonic()
    done = deliverer(sqlite_db, timeout=0.5).deliver_due()
    assert time.monotonic() - start < 1.4
    assert done.retrying == 1
    assert error in (only_row(sqlite_db).last_error or "")


def test_a_huge_answer_is_not_read(sqlite_db: Database, receiver: LocalServer) -> None:
    save_alert(store_with(sqlite_db, [receiver.url, receiver.url + "/other"]))
    huge = b"<html>" + b"x" * 50_000_000
    receiver.then(Reply(200, huge, "text/html"), Reply(500, huge, "text/html"))
    start = time.monotonic()
    done = deliverer(sqlite_db).deliver_due()
    assert time.monotonic() - start < 3
    assert (done.delivered, done.retrying) == (1, 1)
    with sqlite_db.session() as session:
        error = session.scalars(select(WebhookDelivery.last_error).where(WebhookDelivery.status == "pending")).one()
    assert error is not None and error.startswith("HTTP 500: <html>xxx") and len(error) < 250


def test_a_redirect_is_not_followed(sqlite_db: Database, receiver: LocalServer) -> None:
    with LocalServer(lambda _r: Reply(200)) as elsewhere:
        save_alert(store_with(sqlite_db, [receiver.url]))
        receiver.then(Reply(302, headers=(("Location", elsewhere.url + "/steal"),)))
        assert deliverer(sqlite_db).deliver_due().retrying == 1
        assert elsewhere.requests == []
    assert "HTTP 302 redirect to http://127.0.0.1" in (only_row(sqlite_db).last_error or "")


def test_a_retry_after_on_a_429_sets_the_next_attempt(sqlite_db: Database, receiver: LocalServer,
                                                      clock: Clock) -> None:
    save_alert(store_with(sqlite_db, [receiver.url], clock=clock))
    receiver.then(Reply.retry_after(429, 600))
    deliverer(sqlite_db, clock).deliver_due()
    row = only_row(sqlite_db)
    assert (row.next_attempt_at.replace(tzinfo=None) - clock.now.replace(tzinfo=None)) == timedelta(seconds=600)


def test_a_url_that_fails_is_tried_once_a_round_and_does_not_hold_up_the_others(
        sqlite_db: Database, receiver: LocalServer) -> None:
    with LocalServer(lambda _r: Reply(200, delay=1.0)) as hanging:
        store = store_with(sqlite_db, [hanging.url, receiver.url])
        for _ in range(3):
            save_alert(store)
        start = time.monotonic()
        done = deliverer(sqlite_db, timeout=0.3).deliver_due()
        elapsed = time.monotonic() - start
    assert (done.delivered, done.retrying) == (3, 1)
    assert elapsed < 0.9  # one timeout, not three
    assert len(posted(receiver)) == 3 and len(posted(hanging)) == 1


def test_a_claimed_delivery_cannot_be_claimed_again_until_its_lease_runs_out(db: Database, clock: Clock) -> None:
    save_alert(store_with(db, ["http://127.0.0.1:9/"], clock=clock))
    row_id = only_row(db).id
    first, second = deliverer(db, clock, timeout=10), deliverer(db, clock, timeout=10)
    claim = first.claim(row_id)
    assert claim is not None and claim.attempts == 1
    assert second.claim(row_id) is None
    clock.advance(69)  # timeout + 60 s margin not yet over
    assert second.claim(row_id) is None
    clock.advance(2)  # the first deliverer died: its lease ran out, the delivery is sent again
    taken = second.claim(row_id)
    assert taken is not None and taken.attempts == 2 and taken.delivery_id == claim.delivery_id


def test_two_deliverers_at_once_send_each_delivery_exactly_once(db: Database, tmp_path: Any) -> None:
    with LocalServer(lambda _r: Reply(200, delay=0.01)) as server:
        store = store_with(db, [server.url], events="reads")
        for _ in range(40):
            store.save(result("XY99ZZZ"))
        others = [Database(db.url) for _ in range(2)]  # as two processes: their own engines
        senders = [deliverer(d) for d in others]
        barrier = threading.Barrier(2)

        def work(sender: WebhookDeliverer) -> None:
            barrier.wait()
            while sender.deliver_due().attempted:
                pass

        threads = [threading.Thread(target=work, args=(s,)) for s in senders]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for d in others:
            d.close()
    counts = Counter(r.headers["x-numberplate-delivery"] for r in posted(server))
    assert len(counts) == 40 and set(counts.values()) == {1}
    assert Deliveries(db).counts() == {"pending": 0, "delivered": 40, "failed": 0}


def test_a_read_deleted_while_its_delivery_is_sent_is_dropped_quietly(sqlite_db: Database) -> None:
    store = ReadStore(sqlite_db)

    def delete_then_answer(request: Request) -> Reply:
        store.delete(json.loads(request.body)["read"]["id"])
        return Reply(200)

    with LocalServer(delete_then_answer) as server:
        hooked = store_with(sqlite_db, [server.url])
        save_alert(hooked)
        done = deliverer(sqlite_db).deliver_due()
    assert (done.delivered, done.dropped) == (0, 1)
    assert Deliveries(sqlite_db).counts() == {"pending": 0, "delivered": 0, "failed": 0}


def test_the_delivery_thread_sends_a_new_alert_at_once_and_survives_database_errors(
        sqlite_db: Database, receiver: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    store = store_with(sqlite_db, [receiver.url])
    sender = deliverer(sqlite_db)
    calls = Counter[str]()
    real = sender.deliver_due

    def flaky(*args: Any) -> Any:
        calls["rounds"] += 1
        if calls["rounds"] == 1:
            raise RuntimeError("a bug in one round")
        return real(*args)

    monkeypatch.setattr(sender, "deliver_due", flaky)
    assert isinstance(store.outbox, WebhookOutbox)
    running = start_delivery_thread(sender, store.outbox.queued)
    try:
        time.sleep(0.1)
        save_alert(store)  # wakes the thread (its poll is 2 s)
        deadline = time.monotonic() + 5
        while not posted(receiver) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(posted(receiver)) == 1 and running.thread.is_alive()
    finally:
        running.stop(5)
    assert calls["rounds"] >= 2 and not running.thread.is_alive()


def test_a_failing_urls_backlog_larger_than_a_batch_does_not_hold_up_the_others(
        sqlite_db: Database, receiver: LocalServer) -> None:
    with LocalServer(lambda _r: Reply(500)) as failing:
        backlog = store_with(sqlite_db, [failing.url])
        for _ in range(BATCH + 5):  # queued first: the oldest due deliveries are all the failing URL's
            save_alert(backlog)
        save_alert(store_with(sqlite_db, [receiver.url]))
        sender, skip = deliverer(sqlite_db), set[str]()
        while sender.deliver_due(skip).attempted:  # as `webhooks deliver --once`
            pass
    assert len(posted(failing)) == 1 and len(posted(receiver)) == 1
    assert Deliveries(sqlite_db).counts()["delivered"] == 1


def test_the_delivery_thread_goes_on_to_other_urls_after_a_failing_one_without_waiting_a_poll(
        sqlite_db: Database, receiver: LocalServer) -> None:
    with LocalServer(lambda _r: Reply(500)) as failing:
        backlog = store_with(sqlite_db, [failing.url])
        for _ in range(BATCH + 5):
            save_alert(backlog)
        save_alert(store_with(sqlite_db, [receiver.url]))
        sender, stop, wake = deliverer(sqlite_db), threading.Event(), threading.Event()
        thread = threading.Thread(target=sender.run, args=(stop, wake, 60.0))  # no poll within the test
        thread.start()
        try:
            deadline = time.monotonic() + 5
            while not posted(receiver) and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            stop.set()
            wake.set()
            thread.join(5)
    assert len(posted(receiver)) == 1 and len(posted(failing)) == 1


def test_the_httpx_request_log_leaves_out_a_webhook_urls_password_and_query(
        receiver: LocalServer, caplog: pytest.LogCaptureFixture) -> None:
    url = receiver.url.replace("http://", "http://hook:p4ssw0rd@") + "/anpr?key=k3y"
    with caplog.at_level(logging.INFO, logger="httpx"), WebhookSender(2.0) as sender:
        assert sender.post(url, b"{}", {}).delivered
    [record] = [r for r in caplog.records if r.name == "httpx"]
    message = record.getMessage()
    assert "/anpr" in message and "p4ssw0rd" not in message and "k3y" not in message


def test_test_events_go_to_every_receiver_at_once_and_come_back_in_order(receiver: LocalServer) -> None:
    with LocalServer(lambda _r: Reply(204, delay=3)) as hangs:
        urls = [f"{hangs.url}/a", f"{receiver.url}/b", f"{hangs.url}/c", f"{hangs.url}/d"]
        start = time.monotonic()
        answers = list(send_test_events(urls, SECRET, 0.4))
        elapsed = time.monotonic() - start
    assert [url for url, _answer in answers] == urls
    assert [answer.status for _url, answer in answers] == [None, 204, None, None]
    assert answers[0][1].error == "no answer within 0.4 s (webhook_timeout)"
    assert elapsed < 1.0  # one after the other, the three that hang would take 1.2 s
    (request,) = posted(receiver)
    assert request.json()["event"] == "test" and request.headers["x-numberplate-signature"].startswith("sha256=")
    assert list(send_test_events([], SECRET, 0.4)) == []
