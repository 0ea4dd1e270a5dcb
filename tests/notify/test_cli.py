"""`numberplate webhooks deliver|status|retry|test`, the CLI's stores queueing webhooks, and `serve`'s deliverer."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from numberplate.cli import main
from numberplate.config import load_config
from numberplate.notify.deliver import WebhookDeliverer
from numberplate.notify.outbox import Deliveries
from numberplate.notify.webhooks import iso
from numberplate.store.cli import open_database, open_read_store
from numberplate.store.clock import utcnow
from numberplate.store.models import WebhookDelivery
from numberplate.store.watchlist import Watchlist
from numberplate.web import create_app, get_state
from numberplate.web.cli import start_webhooks
from tests.lookup.servers import LocalServer, Reply
from tests.notify.conftest import posted, result, save_alert

SECRET = "cli-secret-value"


@pytest.fixture
def env(tmp_path: Path, receiver: LocalServer) -> dict[str, str]:
    return {"NUMBERPLATE_INSTANCE_PATH": str(tmp_path / "instance"), "NUMBERPLATE_CONFIG": "",
            "NUMBERPLATE_WEBHOOK_URLS": receiver.url + "/hook", "NUMBERPLATE_WEBHOOK_SECRET": SECRET,
            "NUMBERPLATE_WEBHOOK_TIMEOUT": "1"}


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def save_alerts(env: dict[str, str], n: int = 1) -> None:
    """Save alerts as `numberplate video --store` does: through the CLI's store."""
    config = load_config(env=env)
    store = open_read_store(config)
    Watchlist(store.db).add("AB12CDE", label="stolen")
    for _ in range(n):
        save_alert(store)
    store.save(result("XY99ZZZ"))  # no alert: not announced (webhook_events is alerts)
    store.db.close()


def test_the_cli_store_queues_and_deliver_once_sends_them(env: dict[str, str], receiver: LocalServer) -> None:
    save_alerts(env, 2)
    code, out, _ = run(env, "webhooks", "deliver", "--once")
    assert code == 0 and out.strip() == "delivered 2, to retry later 0, failed 0"
    requests = posted(receiver)
    assert len(requests) == 2 and all(r.path == "/hook" and "x-numberplate-signature" in r.headers for r in requests)
    assert run(env, "webhooks", "deliver", "--once")[1].strip() == "delivered 0, to retry later 0, failed 0"


def test_deliver_once_tries_a_failing_url_once_and_says_so(env: dict[str, str], receiver: LocalServer) -> None:
    save_alerts(env, 3)
    receiver.then(Reply(503))
    code, out, _ = run(env, "webhooks", "deliver", "--once")
    assert code == 0 and out.strip() == "delivered 0, to retry later 1, failed 0"
    assert len(posted(receiver)) == 1


def test_status_shows_counts_and_the_last_errors_and_retry_requeues(env: dict[str, str],
                                                                    receiver: LocalServer) -> None:
    env = {**env, "NUMBERPLATE_WEBHOOK_MAX_ATTEMPTS": "1"}
    save_alerts(env, 2)
    receiver.then(Reply.text("receiver broke", 500))
    assert run(env, "webhooks", "deliver", "--once")[1].strip() == "delivered 0, to retry later 0, failed 1"
    assert run(env, "webhooks", "deliver", "--once")[1].strip() == "delivered 1, to retry later 0, failed 0"
    code, out, _ = run(env, "webhooks", "status")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "pending 0  delivered 1  failed 1"
    assert "failed  read" in lines[1] and "/hook" in lines[1] and lines[1].endswith("HTTP 500: receiver broke")
    status = json.loads(run(env, "webhooks", "status", "--json")[1])
    assert (status["pending"], status["delivered"], status["failed"]) == (0, 1, 1)
    assert status["errors"][0]["last_error"] == "HTTP 500: receiver broke"
    assert SECRET not in out
    assert run(env, "webhooks", "retry")[1].strip() == "queued 1 failed delivery again"
    assert run(env, "webhooks", "deliver", "--once")[1].strip() == "delivered 1, to retry later 0, failed 0"
    assert json.loads(run(env, "webhooks", "status", "--json")[1])["delivered"] == 2
    assert run(env, "webhooks", "retry", "--id", "1")[1].strip() == "queued 0 failed deliveries again"


def test_test_posts_a_signed_test_event_to_each_url_and_prints_the_answers(env: dict[str, str],
                                                                          receiver: LocalServer) -> None:
    with LocalServer(lambda _r: Reply(500)) as broken:
        env = {**env, "NUMBERPLATE_WEBHOOK_URLS": f"{receiver.url}/hook,{broken.url}/x?token=hidden"}
        code, out, _ = run(env, "webhooks", "test")
    assert code == 1
    first, second = out.splitlines()
    assert first.startswith(f"{receiver.url}/hook  HTTP 204  ")
    assert second.startswith(f"{broken.url}/x?…  FAILED  HTTP 500") and "hidden" not in out
    (request,) = posted(receiver)
    body = request.json()
    assert body["event"] == "test" and body["read"] is None
    assert request.headers["x-numberplate-event"] == "test"
    assert request.headers["x-numberplate-delivery"] == body["delivery_id"]
    assert request.headers["x-numberplate-signature"].startswith("sha256=")


def test_test_without_urls_says_what_to_set(env: dict[str, str]) -> None:
    code, _, err = run({**env, "NUMBERPLATE_WEBHOOK_URLS": ""}, "webhooks", "test")
    assert code == 1 and "no webhook_urls are set; set NUMBERPLATE_WEBHOOK_URLS" in err


def test_a_bad_webhook_setting_is_a_one_line_error(env: dict[str, str]) -> None:
    code, _, err = run({**env, "NUMBERPLATE_WEBHOOK_EVENTS": "everything"}, "webhooks", "status")
    assert code == 1 and "config 'webhook_events' must be 'alerts'" in err and "Traceback" not in err


def test_deliver_runs_until_ctrl_c(env: dict[str, str], receiver: LocalServer,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    save_alerts(env)

    def one_round_then_ctrl_c(self: WebhookDeliverer, *_args: Any) -> None:
        self.deliver_due()
        raise KeyboardInterrupt

    monkeypatch.setattr(WebhookDeliverer, "run", one_round_then_ctrl_c)
    code, _, err = run(env, "webhooks", "deliver")
    assert code == 0 and "delivering webhooks (Ctrl+C to stop)" in err and err.strip().endswith("stopped")
    assert len(posted(receiver)) == 1


def test_serve_workers_queue_with_each_read_and_deliver_from_their_own_thread(
        env: dict[str, str], receiver: LocalServer) -> None:
    app = create_app(load_config(env=env))
    state = get_state(app)
    state.watchlist.add("AB12CDE")
    running = start_webhooks(app)
    assert running is not None
    try:
        saved = save_alert(state.reads)
        deadline = time.monotonic() + 5
        while not posted(receiver) and time.monotonic() < deadline:
            time.sleep(0.01)
        (request,) = posted(receiver)
        assert request.json()["read"]["id"] == saved.id
    finally:
        running.stop(5)
        state.close()
    assert not running.thread.is_alive()


def test_an_app_however_started_queues_the_webhooks_of_the_reads_it_stores(env: dict[str, str]) -> None:
    # create_app alone (a WSGI server other than `serve`, the tests): no deliverer runs, yet every read queues.
    app = create_app(load_config(env=env))
    state = get_state(app)
    try:
        state.watchlist.add("AB12CDE")
        saved = save_alert(state.reads)
        assert Deliveries(state.db).counts()["pending"] == 1, saved.id
    finally:
        state.close()


def test_serve_without_webhook_urls_starts_no_deliverer(env: dict[str, str]) -> None:
    app = create_app(load_config(env={**env, "NUMBERPLATE_WEBHOOK_URLS": ""}))
    assert start_webhooks(app) is None and get_state(app).reads.outbox is None
    get_state(app).close()


def test_a_failed_delivery_row_of_a_broken_database_does_not_stop_the_cli(env: dict[str, str]) -> None:
    save_alerts(env)
    db = open_database(load_config(env=env))
    with db.session() as session:  # a URL changed by hand into something that is not one
        session.execute(update(WebhookDelivery).values(url="http://[::1"))
    db.close()
    code, out, _ = run(env, "webhooks", "deliver", "--once")
    assert code == 0 and out.strip() == "delivered 0, to retry later 1, failed 0"
    status = json.loads(run(env, "webhooks", "status", "--json")[1])
    assert status["errors"][0]["last_error"].startswith("the request failed")


def test_status_says_sending_due_now_or_next_for_each_pending_delivery(env: dict[str, str]) -> None:
    save_alerts(env, 3)
    now = utcnow().replace(microsecond=0)
    hour = timedelta(hours=1)
    db = open_database(load_config(env=env))
    with db.session() as session:  # each has failed once; the first is held by a deliverer that died mid-request
        for row_id, next_at, lease in ((1, now - hour, now + hour), (2, now - hour, now - hour), (3, now + hour, None)):
            session.execute(update(WebhookDelivery).where(WebhookDelivery.id == row_id).values(
                attempts=1, last_error=f"HTTP 503 ({row_id})", next_attempt_at=next_at, lease_until=lease))
    db.close()
    code, out, _ = run(env, "webhooks", "status")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "pending 3  delivered 0  failed 0"
    shown = {line.rsplit("(", 1)[1].rstrip(")"): line.split("attempts 1  ")[1] for line in lines[1:]}
    assert shown == {"1": f"sending (lease until {iso(now + hour)})  HTTP 503 (1)",
                     "2": "due now  HTTP 503 (2)",
                     "3": f"next {iso(now + hour)}  HTTP 503 (3)"}
    errors = json.loads(run(env, "webhooks", "status", "--json")[1])["errors"]
    assert [(e["id"], e["progress"], e["lease_until"]) for e in errors] == [
        (3, "waiting", None), (2, "due", None), (1, "sending", iso(now + hour))]
