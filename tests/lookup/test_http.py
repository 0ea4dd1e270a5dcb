"""HttpClient against a local server: retries, jittered backoff, Retry-After, circuit breaker, rate limit, threads."""

from __future__ import annotations

import dataclasses
import gzip
import json
import logging
import random
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from numberplate.errors import LookupRateLimited, LookupUnavailable
from numberplate.lookup.http import (
    LONGEST_RETRY_AFTER,
    MAX_BODY_BYTES,
    MAX_JSON_DEPTH,
    MAX_PLATE_LENGTH,
    MAX_TEXT_LENGTHS,
    HttpClient,
    bounded,
    compact_plate,
    parse_json,
    parse_retry_after,
    read_json,
    whole_number,
)
from numberplate.store.clock import normalize_plate
from numberplate.types import VehicleInfo
from tests.lookup.servers import FakeClock, LocalServer, MakeClient, Reply, Request, ok_app


def test_a_plain_answer_comes_back_after_one_request(server: LocalServer, make_client: MakeClient) -> None:
    response = make_client().request("GET", server.url + "/thing", params={"q": "1"}, headers={"X-Test": "yes"})
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    [request] = server.requests
    assert (request.path, request.query, request.headers["x-test"]) == ("/thing", {"q": "1"}, "yes")


@pytest.mark.parametrize("status", [400, 401, 403, 404, 501])
def test_statuses_that_are_not_retried_go_back_to_the_caller(
    status: int, server: LocalServer, make_client: MakeClient, clock: FakeClock
) -> None:
    server.then(Reply.json({"error": "nope"}, status))
    response = make_client().request("GET", server.url)
    assert response.status_code == status
    assert len(server.requests) == 1
    assert clock.sleeps == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_until_an_answer(
    status: int, server: LocalServer, make_client: MakeClient, clock: FakeClock
) -> None:
    server.then(Reply.json({}, status), Reply.json({}, status))
    response = make_client(retries=2).request("GET", server.url)
    assert response.status_code == 200
    assert len(server.requests) == 3
    assert len(clock.sleeps) == 2


def test_backoff_is_full_jitter_under_the_exponential_cap(server: LocalServer, clock: FakeClock) -> None:
    server.then(*[Reply.json({}, 500)] * 6)
    client = HttpClient(
        name="test", timeout=0.2, retries=5, backoff=0.1, max_backoff=0.25, sleep=clock.sleep, clock=clock
    )
    with client, pytest.raises(LookupUnavailable) as caught:
        client.request("GET", server.url)
    caps = [0.1, 0.2, 0.25, 0.25, 0.25]
    assert len(clock.sleeps) == len(caps)
    assert all(0.0 <= s <= cap for s, cap in zip(clock.sleeps, caps))
    assert len(set(clock.sleeps)) == len(caps)  # jittered: no two waits alike
    assert len(server.requests) == 6
    message = str(caught.value)
    assert "test (127.0.0.1)" in message
    assert "server error (HTTP 500) (6 tries)" in message


def test_jitter_spreads_over_the_whole_range(server: LocalServer, make_client: MakeClient, clock: FakeClock) -> None:
    client = make_client(retries=1, backoff=1.0, rng=random.Random(0))
    for _ in range(40):
        server.then(Reply.json({}, 503))
        client.request("GET", server.url)
    assert len(clock.sleeps) == 40
    assert all(0.0 <= w <= 1.0 for w in clock.sleeps)
    assert min(clock.sleeps) < 0.25 and max(clock.sleeps) > 0.75  # full jitter, not "the cap plus a little"


def test_retry_after_seconds_replace_the_backoff(
    server: LocalServer, make_client: MakeClient, clock: FakeClock
) -> None:
    server.then(Reply.retry_after(429, 3))
    response = make_client().request("GET", server.url)
    assert response.status_code == 200
    assert clock.sleeps == [3.0]


def test_retry_after_as_an_http_date(server: LocalServer, make_client: MakeClient, clock: FakeClock) -> None:
    when = datetime.now(UTC) + timedelta(seconds=10)
    server.then(Reply.retry_after(503, format_datetime(when, usegmt=True)))
    assert make_client().request("GET", server.url).status_code == 200
    [wait] = clock.sleeps
    assert 8.0 < wait <= 10.0


def test_retry_after_longer_than_the_cap_fails_at_once_and_blocks_until_then(
    server: LocalServer, make_client: MakeClient, clock: FakeClock
) -> None:
    client = make_client(max_retry_after=30)
    server.then(Reply.retry_after(429, 120))
    with pytest.raises(LookupRateLimited) as caught:
        client.request("GET", server.url)
    assert caught.value.retry_after == 120
    assert "120 s" in str(caught.value)
    assert len(server.requests) == 1 and clock.sleeps == []
    clock.advance(60)
    with pytest.raises(LookupRateLimited) as again:
        client.request("GET", server.url)
    assert again.value.retry_after == pytest.approx(60)
    assert len(server.requests) == 1  # blocked without touching the network
    clock.advance(61)
    assert client.request("GET", server.url).status_code == 200


def test_503_with_a_long_retry_after_is_unavailable_at_once(server: LocalServer, make_client: MakeClient) -> None:
    server.then(Reply.retry_after(503, 3600))
    with pytest.raises(LookupUnavailable, match="3600 s"):
        make_client().request("GET", server.url)
    assert len(server.requests) == 1


def test_429_after_every_try_is_rate_limited_with_the_last_retry_after(
    server: LocalServer, make_client: MakeClient, clock: FakeClock
) -> None:
    server.then(*[Reply.retry_after(429, 2)] * 3)
    with pytest.raises(LookupRateLimited) as caught:
        make_client(retries=2).request("GET", server.url)
    assert caught.value.retry_after == 2.0
    assert "rate limited (HTTP 429) (3 tries)" in str(caught.value)
    assert clock.sleeps == [2.0, 2.0]


def test_429_without_retry_after_uses_the_backoff(
    server: LocalServer, make_client: MakeClient, clock: FakeClock
) -> None:
    server.then(*[Reply.json({}, 429)] * 2)
    with pytest.raises(LookupRateLimited) as caught:
        make_client(retries=1).request("GET", server.url)
    assert caught.value.retry_after is None
    [wait] = clock.sleeps
    assert 0.0 <= wait <= 0.1


def test_a_slow_server_times_out_and_names_the_timeout(server: LocalServer, make_client: MakeClient) -> None:
    server.then(Reply.json({}, delay=0.5), Reply.json({}, delay=0.5))
    started = time.monotonic()
    with pytest.raises(LookupUnavailable) as caught:
        make_client(retries=1).request("GET", server.url)
    assert time.monotonic() - started < 1.0
    assert "timed out after 0.2 s (2 tries); try again later" in str(caught.value)
    assert isinstance(caught.value.__cause__, httpx.TimeoutException)


def test_a_slow_first_reply_is_retried(server: LocalServer, make_client: MakeClient) -> None:
    server.then(Reply.json({}, delay=0.5))
    assert make_client(retries=1).request("GET", server.url).json() == {"ok": True}


def test_nothing_listening_is_unavailable(make_client: MakeClient) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(LookupUnavailable, match=r"could not connect .*\(3 tries\)") as caught:
        make_client().request("GET", f"http://127.0.0.1:{port}/")
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


def test_a_dropped_connection_is_retried(server: LocalServer, make_client: MakeClient) -> None:
    server.then(Reply(drop=True))
    assert make_client().request("GET", server.url).status_code == 200
    assert len(server.requests) == 2


def test_a_truncated_reply_after_every_try_is_unavailable(server: LocalServer, make_client: MakeClient) -> None:
    server.then(*[Reply.json({"make": "FORD", "pad": "x" * 200}, truncate=True)] * 3)
    with pytest.raises(LookupUnavailable, match=r"broke off the reply .*\(3 tries\)"):
        make_client().request("GET", server.url)
    assert len(server.requests) == 3


def test_is_answer_returns_a_meaningful_500_without_retrying(server: LocalServer, make_client: MakeClient) -> None:
    server.then(Reply.text("System.Exception: No vehicles found", 500))
    response = make_client().request("GET", server.url, is_answer=lambda r: "No vehicles" in r.text)
    assert response.status_code == 500
    assert len(server.requests) == 1


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/", "http://[::1"])
def test_a_bad_url_is_not_retried(url: str, make_client: MakeClient, clock: FakeClock) -> None:
    with pytest.raises(LookupUnavailable, match="check the base URL and credentials"):
        make_client().request("GET", url)
    assert clock.sleeps == []


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_not_followed_and_names_the_host(
    status: int, server: LocalServer, make_client: MakeClient, clock: FakeClock
) -> None:
    with LocalServer(ok_app()) as elsewhere:
        server.then(Reply(status, headers=(("Location", elsewhere.url + "/steal"),)))
        with pytest.raises(LookupUnavailable, match=r"dvla \(127\.0\.0\.1\): answered HTTP \d+ redirecting to 127"):
            make_client(name="dvla").request("POST", server.url, headers={"x-api-key": "secret"}, json={"a": 1})
        assert elsewhere.requests == []
    assert len(server.requests) == 1
    assert clock.sleeps == []


def test_a_redirect_error_says_to_check_the_url_setting(server: LocalServer, make_client: MakeClient) -> None:
    server.then(Reply(302, headers=(("Location", "http://evil.example/steal"),)))
    with pytest.raises(LookupUnavailable) as raised:
        make_client(name="rdw").request("GET", server.url)
    assert "redirecting to evil.example" in str(raised.value)
    assert "check the provider's rdw_url setting" in str(raised.value)


# --- circuit breaker ----------------------------------------------------------------------------------


def _fail(server: LocalServer, n: int) -> None:
    server.then(*[Reply.json({}, 500)] * n)


def test_consecutive_failures_open_the_breaker_and_it_fails_fast(
    server: LocalServer, make_client: MakeClient, clock: FakeClock
) -> None:
    client = make_client(retries=0, breaker_failures=3, breaker_reset=10)
    _fail(server, 3)
    for _ in range(3):
        with pytest.raises(LookupUnavailable, match="server error"):
            client.request("GET", server.url)
    assert client.breaker_state == "open"
    with pytest.raises(LookupUnavailable, match="circuit breaker open") as caught:
        client.request("GET", server.url)
    assert "failed 3 times in a row" in str(caught.value) and "10 s" in str(caught.value)
    assert len(server.requests) == 3  # the fast failure never reached the server


def test_after_the_reset_one_trial_call_closes_the_breaker(
    server: LocalServer, make_client: MakeClient, clock: FakeClock
) -> None:
    client = make_client(retries=0, breaker_failures=2, breaker_reset=10)
    _fail(server, 2)
    for _ in range(2):
        with pytest.raises(LookupUnavailable):
            client.request("GET", server.url)
    clock.advance(10)
    assert client.breaker_state == "half-open"
    assert client.request("GET", server.url).status_code == 200
    assert client.breaker_state == "closed"
    assert len(server.requests) == 3


def test_a_failed_trial_opens_the_breaker_again_after_one_try(
    server: LocalServer, make_client: MakeClient, clock: FakeClock
) -> None:
    client = make_client(retries=0, breaker_failures=2, breaker_reset=10)
    _fail(server, 2)
    for _ in range(2):
        with pytest.raises(LookupUnavailable):
            client.request("GET", server.url)
    client.retries = 3  # the trial still makes a single try
    clock.advance(10)
    _fail(server, 1)
    with pytest.raises(LookupUnavailable, match=r"\(1 try\)"):
        client.request("GET", server.url)
    assert len(server.requests) == 3
    assert client.breaker_state == "open"
    with pytest.raises(LookupUnavailable, match="circuit breaker open"):
        client.request("GET", server.url)
    assert len(server.requests) == 3


def test_only_one_trial_call_goes_through_while_half_open(make_client: MakeClient, clock: FakeClock) -> None:
    release = threading.Event()

    def app(request: Request) -> Reply:
        if request.query.get("fail"):
            return Reply.json({}, 500)
        release.wait(5)
        return Reply.json({"trial": True})

    with LocalServer(app) as server:
        client = make_client(retries=0, breaker_failures=1, breaker_reset=10, timeout=5)
        with pytest.raises(LookupUnavailable):
            client.request("GET", server.url, params={"fail": "1"})
        clock.advance(10)
        results: list[int] = []
        trial = threading.Thread(target=lambda: results.append(client.request("GET", server.url).status_code))
        trial.start()
        deadline = time.monotonic() + 5
        while len(server.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        with pytest.raises(LookupUnavailable, match="the trial call"):
            client.request("GET", server.url)
        release.set()
        trial.join(5)
    assert results == [200]
    assert client.breaker_state == "closed"
    assert len(server.requests) == 2


def test_a_success_resets_the_failure_count(server: LocalServer, make_client: MakeClient) -> None:
    client = make_client(retries=0, breaker_failures=3)
    for script in ([500, 500, 200], [500, 500]):
        server.then(*[Reply.json({}, s) for s in script])
        for status in script:
            if status == 200:
                client.request("GET", server.url)
            else:
                with pytest.raises(LookupUnavailable):
                    client.request("GET", server.url)
    assert client.breaker_state == "closed"


def test_rate_limiting_does_not_open_the_breaker(server: LocalServer, make_client: MakeClient) -> None:
    client = make_client(retries=0, breaker_failures=2)
    server.then(*[Reply.json({}, 429)] * 4)
    for _ in range(4):
        with pytest.raises(LookupRateLimited):
            client.request("GET", server.url)
    assert client.breaker_state == "closed"


def test_breaker_failures_zero_disables_it(server: LocalServer, make_client: MakeClient) -> None:
    client = make_client(retries=0, breaker_failures=0)
    _fail(server, 10)
    for _ in range(10):
        with pytest.raises(LookupUnavailable, match="server error"):
            client.request("GET", server.url)
    assert client.breaker_state == "closed"
    assert len(server.requests) == 10


# --- rate limit ---------------------------------------------------------------------------------------


def test_the_token_bucket_spaces_requests(server: LocalServer, make_client: MakeClient, clock: FakeClock) -> None:
    client = make_client(rate_per_second=2, timeout=1.0)
    for _ in range(3):
        client.request("GET", server.url)
    assert clock.sleeps == [0.5, 0.5]
    assert len(server.requests) == 3


def test_a_burst_goes_at_once_then_the_rate_applies(
    server: LocalServer, make_client: MakeClient, clock: FakeClock
) -> None:
    client = make_client(rate_per_second=10, burst=3, timeout=1.0)
    for _ in range(4):
        client.request("GET", server.url)
    assert clock.sleeps == [pytest.approx(0.1)]


def test_a_wait_longer_than_the_timeout_raises_instead(server: LocalServer, make_client: MakeClient) -> None:
    client = make_client(rate_per_second=1, timeout=0.2)
    client.request("GET", server.url)
    with pytest.raises(LookupRateLimited, match="local limit of 1 requests/s") as caught:
        client.request("GET", server.url)
    assert caught.value.retry_after == pytest.approx(1.0)
    assert len(server.requests) == 1


def test_concurrent_callers_share_one_client_safely(server: LocalServer) -> None:
    server.then(*[Reply.json({}, 503)] * 5)
    client = HttpClient(name="threads", timeout=2.0, retries=3, backoff=0.001, rate_per_second=400, burst=5)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        for _ in range(5):
            try:
                statuses.append(client.request("GET", server.url).status_code)
            except BaseException as e:
                errors.append(e)

    started = time.monotonic()
    with client:
        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
    elapsed = time.monotonic() - started
    assert errors == []
    assert statuses == [200] * 40
    assert len(server.requests) == 45  # every scripted 503 was retried once
    assert elapsed >= (45 - 5) / 400 * 0.9  # the shared bucket held the rate across threads
    assert client.breaker_state == "closed"


# --- helpers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("5", 5.0),
        (" 2.5 ", 2.5),
        ("-3", 0.0),
        ("0", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
        ("100000", 86400.0),
        ("1e308", 86400.0),
        ("inf", 86400.0),
    ],
)
def test_parse_retry_after_seconds(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value) == seconds


def test_parse_retry_after_dates() -> None:
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Wed, 01 May 2024 12:01:30 GMT", now=now) == 90.0
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now=now) == 0.0


def test_compact_plate() -> None:
    assert compact_plate(" ab-12 cde ") == "AB12CDE"
    assert compact_plate("ек 39-085") == "ЕК39085"
    assert compact_plate(" - ") == ""


@pytest.mark.parametrize("typed", ["ＡＢ１２ ＣＤＥ", "AB①2CDE", "ab12ｃｄｅ"])
def test_compact_plate_folds_as_the_cache_key_does(typed: str) -> None:
    # The cache keys answers by normalize_plate: a provider asked another plate would poison that entry.
    assert compact_plate(typed) == normalize_plate(typed) == "AB12CDE"


def test_the_httpx_request_log_leaves_out_the_query(server: LocalServer, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="httpx"), HttpClient(name="test") as client:
        client.request("GET", server.url + "/api/reg.asmx/Check", params={"username": "alice-secret"})
    [record] = [r for r in caplog.records if r.name == "httpx"]
    assert "/api/reg.asmx/Check" in record.getMessage() and "alice-secret" not in record.getMessage()


def test_read_json_names_what_came_instead() -> None:
    response = httpx.Response(200, text="<html>maintenance</html>", headers={"Content-Type": "text/html"})
    with pytest.raises(LookupUnavailable, match=r"not JSON \(text/html, 24 bytes\)") as caught:
        read_json(response, "prov")
    assert isinstance(caught.value.__cause__, ValueError)


@pytest.mark.parametrize(
    "options",
    [{"timeout": 0}, {"retries": -1}, {"backoff": -1}, {"rate_per_second": 0}, {"burst": 0.5}, {"breaker_reset": -1}],
)
def test_invalid_settings_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        HttpClient(**options)  # type: ignore[arg-type]


# --- deadline of a try, size of an answer -------------------------------------------------------------


@pytest.mark.parametrize("drip_headers", [False, True], ids=["body", "headers-and-body"])
def test_a_trickling_answer_is_cut_off_at_the_timeout(
    drip_headers: bool, server: LocalServer, make_client: MakeClient
) -> None:
    # 200 bytes, one every 20 ms: each read comes well within the 0.3 s timeout, the whole answer takes 4 s.
    server.then(Reply.json({"pad": "x" * 180}, drip=0.02, drip_headers=drip_headers))
    started = time.monotonic()
    with pytest.raises(LookupUnavailable, match=r"timed out after 0.3 s \(1 try\)") as caught:
        make_client(retries=0, timeout=0.3).request("GET", server.url)
    assert time.monotonic() - started < 1.5
    assert isinstance(caught.value.__cause__, httpx.TimeoutException)


def test_each_try_has_its_own_deadline(server: LocalServer, make_client: MakeClient) -> None:
    server.then(Reply.json({"pad": "x" * 180}, drip=0.02))
    client = make_client(retries=1, timeout=0.3)
    assert client.request("GET", server.url).json() == {"ok": True}
    assert client.request("GET", server.url).json() == {"ok": True}  # a later call on the same connection pool


def test_an_answer_announced_over_the_limit_is_refused_unread(
    server: LocalServer, make_client: MakeClient, clock: FakeClock
) -> None:
    server.then(Reply.json({"make": "A" * 5000}))
    with pytest.raises(LookupUnavailable, match=r"HTTP 200 with more than 1000 bytes.*check the base URL"):
        make_client(max_body_bytes=1000).request("GET", server.url)
    assert len(server.requests) == 1 and clock.sleeps == []  # not retried: the same answer would come again


def test_an_unannounced_answer_over_the_limit_is_cut_off(server: LocalServer, make_client: MakeClient) -> None:
    server.then(Reply.json({"make": "A" * 50_000}, length=False))
    with pytest.raises(LookupUnavailable, match=r"more than 2 KB"):
        make_client(max_body_bytes=2048).request("GET", server.url)
    assert len(server.requests) == 1


def test_the_limit_counts_decompressed_bytes_and_a_gzip_answer_reads_normally(
    server: LocalServer, make_client: MakeClient
) -> None:
    small = gzip.compress(json.dumps({"make": "FORD"}).encode())
    bomb = gzip.compress(b'{"make": "' + b"A" * 100_000 + b'"}')
    assert len(bomb) < 1000
    server.then(
        Reply(200, small, headers=(("Content-Encoding", "gzip"),)),
        Reply(200, bomb, headers=(("Content-Encoding", "gzip"),)),
    )
    client = make_client(max_body_bytes=4096)
    response = client.request("GET", server.url)
    assert response.json() == {"make": "FORD"}
    assert read_json(response, "prov") == {"make": "FORD"}
    with pytest.raises(LookupUnavailable, match="more than 4 KB"):
        client.request("GET", server.url)


def test_the_default_limit_is_a_megabyte(server: LocalServer, make_client: MakeClient) -> None:
    assert MAX_BODY_BYTES == 1024 * 1024 and make_client().max_body_bytes == MAX_BODY_BYTES
    server.then(Reply.json({"make": "A" * MAX_BODY_BYTES}))
    with pytest.raises(LookupUnavailable, match="more than 1 MB"):
        make_client().request("GET", server.url)


def test_a_huge_retry_after_is_read_as_a_day_and_said_briefly(
    server: LocalServer, make_client: MakeClient, clock: FakeClock
) -> None:
    client = make_client()
    server.then(Reply.retry_after(429, "1e300"))
    with pytest.raises(LookupRateLimited) as first:
        client.request("GET", server.url)
    assert first.value.retry_after == LONGEST_RETRY_AFTER == 86400
    clock.advance(1)
    with pytest.raises(LookupRateLimited) as blocked:
        client.request("GET", server.url)
    for message in (str(first.value), str(blocked.value)):
        assert len(message) < 160 and "e+" not in message and "0000000000" not in message
    assert "wait another 86399 s" in str(blocked.value)


# --- reading a provider's payload defensively ---------------------------------------------------------


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100 + b"1" + b"}" * 100])
def test_read_json_refuses_deeply_nested_json_as_malformed(body: bytes) -> None:
    response = httpx.Response(200, content=body, headers={"Content-Type": "application/json"})
    with pytest.raises(LookupUnavailable, match=r"prov: answered HTTP 200 with a body that is malformed \(JSON nested"):
        read_json(response, "prov")


def test_parse_json_reads_non_finite_numbers_as_null() -> None:
    assert parse_json(b'{"a": NaN, "b": Infinity, "c": -Infinity, "d": 1e999, "e": 1.5, "f": 7}') == {
        "a": None,
        "b": None,
        "c": None,
        "d": None,
        "e": 1.5,
        "f": 7,
    }
    nested = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert parse_json(nested) is not None  # as deep as allowed
    with pytest.raises(ValueError, match="nested deeper than"):
        parse_json("[" + nested + "]")


@pytest.mark.parametrize(
    ("value", "number"),
    [
        (1600, 1600),
        (" 2019 ", 2019),
        ("¹⁶⁰⁰", None),
        ("²⁰¹⁹", None),
        ("٢٠١٩", None),
        ("16.5", None),
        ("-5", None),
        (-5, None),
        (True, None),
        (1600.0, None),
        ("9" * 5000, None),
        (10**30, None),
        ("", None),
        (None, None),
    ],
)
def test_whole_number_takes_ascii_digits_only(value: object, number: int | None) -> None:
    assert whole_number(value) == number


def test_bounded_cuts_each_detail_to_its_column() -> None:
    long = "A" * 10_000
    vehicle = VehicleInfo("X" * 40, "prov", make=long, vin=long, description=long, year=10**9, colour="RED")
    fitted = bounded(vehicle, "AB12CDE")
    assert fitted.plate == "AB12CDE"
    assert fitted.make == "A" * 99 + "…" and fitted.vin is not None and len(fitted.vin) == 32
    assert fitted.description is not None and len(fitted.description) == 500
    assert fitted.year is None and fitted.colour == "RED"
    ok = VehicleInfo("AB12CDE", "prov", make="FORD", year=2019)
    assert bounded(ok, "AB12CDE") is ok


def test_the_limits_are_the_local_registry_s() -> None:
    from numberplate.store.vehicles import MAX_LENGTHS, MAX_PLATE

    assert MAX_TEXT_LENGTHS == MAX_LENGTHS and MAX_PLATE_LENGTH == MAX_PLATE
    assert set(MAX_TEXT_LENGTHS) == {f.name for f in dataclasses.fields(VehicleInfo)} - {
        "plate",
        "source",
        "year",
        "raw",
    }
