"""The settings page's Webhooks section: the receivers and the deliveries, retrying failed ones, a test event."""

from __future__ import annotations

import hashlib
import hmac
import socket
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text, update

from numberplate.notify.deliver import WebhookDeliverer
from numberplate.notify.outbox import Deliveries
from numberplate.store.clock import utcnow
from numberplate.store.models import WebhookDelivery
from numberplate.web import get_state, settings_pages
from numberplate.web.settings_pages import MASK
from tests.lookup.servers import LocalServer, Reply
from tests.notify.conftest import posted, result
from tests.web.forms import form_token, post_form, text_of
from tests.web.test_login import PASSWORD, log_in

MakeApp = Callable[..., Flask]
SECRET = "hook-secret-123"
RECEIVER_KEY = "receiver-key-456"
RECEIVER_PASSWORD = "receiver-pw-789"
HOSTILE_ERROR = '<script>alert("x")</script> & <b>down</b>'


@pytest.fixture
def receiver() -> Iterator[LocalServer]:
    """A webhook receiver on 127.0.0.1 that answers 204 unless a test scripts otherwise."""
    with LocalServer(lambda _request: Reply(204)) as server:
        yield server


@pytest.fixture
def hooked(make_app: MakeApp, receiver: LocalServer) -> Flask:
    """An app whose reads with a watchlist alert go to ``receiver`` (one attempt each), AB12CDE watched."""
    app = make_app(webhook_urls=f"{receiver.url}/hook", webhook_secret=SECRET, webhook_max_attempts=1,
                   webhook_timeout=2)
    get_state(app).watchlist.add("AB12CDE", label="stolen")
    return app


def save_alerts(app: Flask, n: int) -> None:
    for _ in range(n):
        get_state(app).reads.save(result("AB12CDE"), source="api", camera_id="gate")


def deliver(app: Flask) -> None:
    """One round of the deliverer that `serve` runs in each worker."""
    state = get_state(app)
    deliverer = WebhookDeliverer.for_config(state.db, state.config)
    try:
        deliverer.deliver_due()
    finally:
        deliverer.close()


def one_of_each(app: Flask, receiver: LocalServer) -> None:
    """Leave one delivery failed (with HOSTILE_ERROR), one delivered and one pending."""
    save_alerts(app, 2)
    receiver.then(Reply.text(HOSTILE_ERROR, 500))
    deliver(app)  # the first fails (one attempt allowed); the URL then sits out the round
    deliver(app)  # the second is delivered
    save_alerts(app, 1)
    assert Deliveries(get_state(app).db).counts() == {"pending": 1, "delivered": 1, "failed": 1}


def section_text(html: str) -> str:
    """The text of the Webhooks section."""
    start = html.index('id="webhooks"')
    return text_of(html[start:html.index("</section>", start)])


def flashes(html: str) -> list[str]:
    """The flashed messages at the top of a page."""
    return [text_of(part.split("</p>")[0].split(">", 1)[1]) for part in html.split('<p class="flash ')[1:]]


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (a receiver that is down)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_webhooks_off_says_which_settings_turn_them_on(client: FlaskClient, receiver: LocalServer) -> None:
    html = client.get("/settings").get_data(as_text=True)
    section = section_text(html)
    assert "Webhooks are off" in section
    for name in ("webhook_urls", "NUMBERPLATE_WEBHOOK_URLS", "webhook_events", "webhook_secret"):
        assert name in section, name
    assert "Pending 0 Delivered 0 Failed 0" in section
    assert "/settings/webhooks/test" not in html and "/settings/webhooks/retry" not in html  # nothing to do

    res = post_form(client, "/settings/webhooks/test")
    assert res.status_code == 303 and res.headers["Location"] == "/settings#webhooks"
    (message,) = flashes(client.get("/settings").get_data(as_text=True))
    assert message.startswith("Webhooks are off: no webhook_urls are set. Set NUMBERPLATE_WEBHOOK_URLS")


def test_webhooks_on_show_the_receivers_without_credentials(make_app: MakeApp, receiver: LocalServer) -> None:
    port = closed_port()
    urls = f"http://gate:{RECEIVER_PASSWORD}@127.0.0.1:{port}/hook?key={RECEIVER_KEY},{receiver.url}/ha"
    app = make_app(webhook_urls=urls, webhook_events="reads", webhook_secret=SECRET, webhook_max_attempts=3)
    html = app.test_client().get("/settings").get_data(as_text=True)
    section = section_text(html)
    assert "On: every stored read" in section and 'webhook_events = "reads"' in section
    assert f"http://127.0.0.1:{port}/hook?…" in section and f"{receiver.url}/ha" in section
    assert "Signed with webhook_secret" in section and "tried 3 times" in section
    for credential in (SECRET, RECEIVER_KEY, RECEIVER_PASSWORD, "gate:", "gate@"):
        assert credential not in html, credential
    assert f"webhook_urls {MASK}" in text_of(html)  # the configuration table still masks them
    assert 'action="/settings/webhooks/test"' in html


def test_unsigned_alerts_only(make_app: MakeApp, receiver: LocalServer) -> None:
    app = make_app(webhook_urls=f"{receiver.url}/hook")
    section = section_text(app.test_client().get("/settings").get_data(as_text=True))
    assert "On: each stored read with a watchlist alert" in section and "Not signed: set webhook_secret" in section


def test_counts_and_the_last_errors_escaped(hooked: Flask, receiver: LocalServer) -> None:
    one_of_each(hooked, receiver)
    res = hooked.test_client().get("/settings")
    html = res.get_data(as_text=True)
    assert res.status_code == 200 and res.headers["Cache-Control"] == "no-store"
    section = section_text(html)
    assert "Pending 1 Delivered 1 Failed 1" in section
    assert HOSTILE_ERROR not in html and "<script>alert" not in html
    assert "HTTP 500: &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;down&lt;/b&gt;" in html
    rows = html.split('<table class="list webhook-errors">')[1].split("</tbody>")[0].split("<tr>")[2:]
    assert len(rows) == 1  # the pending and the delivered ones have no error
    assert f"UTC {receiver.url}/hook 1 failed HTTP 500: &lt;script&gt;" in text_of(rows[0])
    assert 'action="/settings/webhooks/retry"' in html


def test_retry_queues_the_failed_deliveries_again(hooked: Flask, receiver: LocalServer) -> None:
    one_of_each(hooked, receiver)
    client = hooked.test_client()
    res = post_form(client, "/settings/webhooks/retry", {})
    assert res.status_code == 303 and res.headers["Location"] == "/settings#webhooks"
    html = client.get("/settings").get_data(as_text=True)
    assert flashes(html) == ["1 failed delivery was queued again."]
    assert "Pending 2 Delivered 1 Failed 0" in section_text(html)
    assert Deliveries(get_state(hooked).db).counts() == {"pending": 2, "delivered": 1, "failed": 0}
    assert 'action="/settings/webhooks/retry"' not in html  # nothing failed now

    post_form(client, "/settings/webhooks/retry")
    assert flashes(client.get("/settings").get_data(as_text=True)) == [
        "No delivery had failed: nothing was queued again."]
    deliver(hooked)
    assert Deliveries(get_state(hooked).db).counts() == {"pending": 0, "delivered": 3, "failed": 0}


def test_a_test_event_goes_to_each_receiver_and_each_answer_is_flashed(make_app: MakeApp,
                                                                     receiver: LocalServer) -> None:
    port = closed_port()
    with LocalServer(lambda _r: Reply.text(HOSTILE_ERROR, 503)) as broken:
        urls = f"{receiver.url}/hook,{broken.url}/x?key={RECEIVER_KEY},http://127.0.0.1:{port}/down"
        app = make_app(webhook_urls=urls, webhook_secret=SECRET)
        client = app.test_client()
        res = post_form(client, "/settings/webhooks/test")
        assert res.status_code == 303 and res.headers["Location"] == "/settings#webhooks"
        html = client.get("/settings").get_data(as_text=True)
        assert len(posted(broken)) == 1
    ok, failed, down = flashes(html)
    assert ok.startswith(f"Test event to {receiver.url}/hook: HTTP 204 in ") and ok.endswith(" ms.")
    assert failed.startswith(f"Test event to {broken.url}/x?… failed: HTTP 503: &lt;script&gt;")
    assert down.startswith(f"Test event to http://127.0.0.1:{port}/down failed: could not connect")
    assert '<p class="flash info" role="status">Test event to' in html
    assert html.count('<p class="flash error" role="alert">Test event to') == 2
    assert RECEIVER_KEY not in html and "<script>alert" not in html

    (request,) = posted(receiver)
    body = request.json()
    assert request.path == "/hook" and body["event"] == "test" and body["read"] is None
    assert request.headers["x-numberplate-event"] == "test"
    assert request.headers["x-numberplate-delivery"] == body["delivery_id"]
    signed = request.headers["x-numberplate-timestamp"].encode() + b"." + request.body
    expected = "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert request.headers["x-numberplate-signature"] == expected
    assert Deliveries(get_state(app).db).counts() == {"pending": 0, "delivered": 0, "failed": 0}  # nothing queued


def test_answers_beyond_the_flashed_ones_are_summed_up(make_app: MakeApp, receiver: LocalServer,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings_pages, "MAX_FLASHED", 1)  # the flashes travel in the session cookie
    port = closed_port()
    app = make_app(webhook_urls=f"{receiver.url}/a,{receiver.url}/b,http://127.0.0.1:{port}/c")
    client = app.test_client()
    post_form(client, "/settings/webhooks/test")
    html = client.get("/settings").get_data(as_text=True)
    first, rest = flashes(html)
    assert first.startswith(f"Test event to {receiver.url}/a: HTTP 204")
    assert rest == "2 more receivers: 1 answered with a 2xx, 1 failed; `numberplate webhooks test` prints every answer."
    assert '<p class="flash error" role="alert">2 more receivers' in html
    assert sorted(r.path for r in posted(receiver)) == ["/a", "/b"]


def test_a_test_event_waits_briefly_for_a_receiver_that_hangs(make_app: MakeApp, receiver: LocalServer,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings_pages, "TEST_TIMEOUT_S", 0.3)  # webhook_timeout is 30 s: the page's is shorter
    app = make_app(webhook_urls=f"{receiver.url}/slow", webhook_timeout=30)
    client = app.test_client()
    receiver.then(Reply(204, delay=3))
    start = time.monotonic()
    post_form(client, "/settings/webhooks/test")
    assert time.monotonic() - start < 2.5
    (message,) = flashes(client.get("/settings").get_data(as_text=True))
    assert message.startswith(f"Test event to {receiver.url}/slow failed: no answer within 0.3 s")


def test_the_webhook_buttons_need_the_csrf_token(hooked: Flask, receiver: LocalServer) -> None:
    one_of_each(hooked, receiver)
    sent = len(posted(receiver))
    client = hooked.test_client()
    form_token(client, "/settings")
    for path in ("/settings/webhooks/retry", "/settings/webhooks/test"):
        assert client.post(path).status_code == 400, path
        assert client.post(path, data={"csrf_token": "forged"}).status_code == 400, path
    assert Deliveries(get_state(hooked).db).counts()["failed"] == 1
    assert len(posted(receiver)) == sent


def test_the_section_and_its_buttons_are_behind_the_login(make_app: MakeApp, receiver: LocalServer) -> None:
    app = make_app(admin_password=PASSWORD, webhook_urls=f"{receiver.url}/hook")
    client = app.test_client()
    for res in (client.get("/settings"), client.post("/settings/webhooks/test"),
                client.post("/settings/webhooks/retry")):
        assert res.status_code == 303 and res.headers["Location"].startswith("/login"), res.request.path
    assert posted(receiver) == []
    assert log_in(client, next_url="/settings") == (303, "/settings")
    assert "On: each stored read with a watchlist alert" in section_text(client.get("/settings").get_data(as_text=True))
    assert post_form(client, "/settings/webhooks/test").status_code == 303
    assert len(posted(receiver)) == 1


def test_a_broken_database_is_a_flashed_error_not_a_500(hooked: Flask, receiver: LocalServer) -> None:
    with get_state(hooked).db.engine.begin() as connection:
        connection.execute(text("DROP TABLE webhook_deliveries"))
    client = hooked.test_client()
    res = client.get("/settings")
    html = res.get_data(as_text=True)
    assert res.status_code == 200
    (message,) = flashes(html)
    assert message.startswith("The webhook deliveries cannot be shown: cannot use the database")
    assert "no such table: webhook_deliveries" in message
    assert "The deliveries cannot be shown" in section_text(html) and "API tokens" in html  # the rest still works
    assert 'action="/settings/webhooks/retry"' in html

    res = post_form(client, "/settings/webhooks/retry")
    assert res.status_code == 303
    messages = flashes(client.get("/settings").get_data(as_text=True))
    assert messages[0].startswith("The failed deliveries could not be queued again: cannot use the database")
    assert post_form(client, "/settings/webhooks/test").status_code == 303  # needs no database
    assert flashes(client.get("/settings").get_data(as_text=True))[0].startswith(
        f"Test event to {receiver.url}/hook: HTTP 204")


def test_pending_deliveries_say_sending_due_now_or_next_try(hooked: Flask) -> None:
    save_alerts(hooked, 3)
    now = utcnow().replace(microsecond=0)
    hour = timedelta(hours=1)
    with get_state(hooked).db.session() as session:  # each failed once; the first is held by a dead deliverer
        for row_id, next_at, lease in ((1, now - hour, now + hour), (2, now - hour, now - hour), (3, now + hour, None)):
            session.execute(update(WebhookDelivery).where(WebhookDelivery.id == row_id).values(
                attempts=1, last_error=f"HTTP 503 ({row_id})", next_attempt_at=next_at, lease_until=lease))
    html = hooked.test_client().get("/settings").get_data(as_text=True)
    rows = html.split('<table class="list webhook-errors">')[1].split("</tbody>")[0].split("<tr>")[2:]
    shown = [text_of(row).replace(" )", ")").split(" 1 ", 1)[1] for row in rows]  # after the attempts
    later = (now + hour).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert shown == [f"next try {later} HTTP 503 (3)", "due now HTTP 503 (2)",
                     f"sending (lease until {later}) HTTP 503 (1)"]
    assert f'<time datetime="{(now + hour).isoformat().replace("+00:00", "Z")}">' in rows[2]
