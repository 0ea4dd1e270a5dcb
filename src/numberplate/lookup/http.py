"""The HTTP layer all lookup providers share: timeouts, jittered retries, Retry-After, circuit breaker, rate limit."""

from __future__ import annotations

import contextvars
import dataclasses
import email.utils
import functools
import json
import logging
import math
import random
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import httpcore
import httpx

from numberplate.errors import ConfigError, LookupRateLimited, LookupUnavailable
from numberplate.store.clock import normalize_plate
from numberplate.store.vehicles import MAX_LENGTHS, MAX_PLATE, YEARS
from numberplate.types import VehicleInfo

log = logging.getLogger(__name__)


class _UrlWithoutCredentials(logging.Filter):
    """httpx logs every request's URL at INFO; its query may hold a credential (regcheck's ``username``) and
    the plate, and its user info a password (a webhook URL's ``https://user:pass@host/``), so the URL is logged
    without either."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(a.copy_with(query=None, userinfo=b"") if isinstance(a, httpx.URL) else a
                                for a in record.args)
        return True


logging.getLogger("httpx").addFilter(_UrlWithoutCredentials())

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Statuses that are retried; every other status goes back to the provider to interpret."""

MAX_BODY_BYTES = 1024 * 1024
"""The largest answer read from a provider (a vehicle record is a few KB); a larger one is refused unread."""

MAX_JSON_DEPTH = 64
"""The deepest nesting of lists and objects read in a provider's JSON (the deepest real payload has about 10)."""

LONGEST_RETRY_AFTER = 86400.0
"""A ``Retry-After`` longer than a day is read as a day: later calls try again then, and messages stay readable."""

# A provider's vehicle is held to the local registry's limits (its column lengths, plausible years), so that an
# answer fits wherever a vehicle is stored.
MAX_PLATE_LENGTH = MAX_PLATE
MAX_TEXT_LENGTHS = MAX_LENGTHS

BreakerState = Literal["closed", "open", "half-open"]

_STATUS_WORDS = {
    429: "rate limited",
    500: "server error",
    502: "bad gateway",
    503: "service unavailable",
    504: "gateway timeout",
}


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying TLS context for every client: building one loads the CA bundle, which takes tens of ms."""
    return httpx.create_ssl_context()


# When the try now running must be over (time.monotonic()); None outside a try. Per thread, as each call is.
TRY_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("numberplate_lookup_deadline", default=None)


def _left(timeout: float | None, error: type[Exception]) -> float | None:
    """``timeout`` shortened to the time left before the deadline; ``error`` when it has passed."""
    deadline = TRY_DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the deadline of this try has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every socket operation ends by the deadline of the try using it.

    httpx's timeouts apply to each operation: a server sending a byte a second never trips them.
    """

    def __init__(self, stream: httpcore.NetworkStream):
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's own socket backend, with connections that keep to the deadline of the try."""

    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        timeout = _left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def deadline_transport() -> httpx.HTTPTransport:
    """httpx's default transport on the deadline backend."""
    transport = httpx.HTTPTransport(verify=_ssl_context())
    if not isinstance(getattr(transport, "_pool", None), httpcore.ConnectionPool):
        return transport  # an httpx whose insides differ: only the body's reads keep to the deadline then
    # httpx takes no network backend, so its pool is replaced by the same pool on ours (httpx's default limits).
    transport._pool = httpcore.ConnectionPool(
        ssl_context=_ssl_context(),
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=_DeadlineBackend(),
    )
    return transport


def _duration(seconds: float) -> str:
    """``"0.5 s"``, ``"120 s"``, ``"43200 s"``; past a day in days: a wait short enough to read."""
    if seconds > LONGEST_RETRY_AFTER:
        return f"{seconds / 86400:.3g} days"
    return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.2g} s"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or an HTTP date); None when absent or unreadable.

    A wait longer than :data:`LONGEST_RETRY_AFTER` (a day) is read as a day.
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # an HTTP date is always GMT, even when written without a zone
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds):
        return None
    return min(max(0.0, seconds), LONGEST_RETRY_AFTER)


class HttpClient:
    """A thread-safe ``httpx.Client`` wrapper that makes lookups reliable and fails with ``Lookup*`` errors.

    Each call of :meth:`request` waits for a rate-limit token (when ``rate_per_second`` is set), then tries up
    to ``retries + 1`` times. Each try must be over, body read, within ``timeout`` seconds of its start
    (connect, send, headers and body together: a server trickling its answer is cut off then), and an answer
    longer than ``max_body_bytes`` is refused with ``LookupUnavailable`` without being retried. Connection
    failures, timeouts, broken replies and HTTP 429/500/502/503/504 are retried after a jittered exponential
    backoff (``uniform(0, min(max_backoff, backoff * 2**n))``, "full jitter"); a ``Retry-After`` on a 429 or 503
    replaces the backoff when it is at most ``max_retry_after`` seconds, and a longer one ends the call at once.
    When the tries run out a 429 raises ``LookupRateLimited`` and everything else ``LookupUnavailable``.
    Redirects are never followed (they would carry the credentials to the host they name): a 3xx raises
    ``LookupUnavailable`` at once. Any other status is returned.

    ``breaker_failures`` calls in a row that end in ``LookupUnavailable`` open a circuit breaker: for
    ``breaker_reset`` seconds calls fail at once without touching the network, then a single trial call
    (one try, no retries) is let through; its success closes the breaker and its failure opens it again.
    A 429 whose ``Retry-After`` is too long to wait also makes later calls fail fast with
    ``LookupRateLimited`` until that time has passed. Use one client per provider so that one
    provider's outage does not open another's breaker.

    The rate limit is a token bucket holding up to ``burst`` tokens, refilled at ``rate_per_second``.
    A call that would have to wait longer than ``timeout`` for its token raises ``LookupRateLimited``
    (with ``retry_after`` set to the wait) instead of waiting, so a caller never waits for the limit
    longer than for the provider itself; shorter waits are slept through.

    Args:
        name: provider label used in error messages with the host, e.g. ``"dvla"``.
        timeout: seconds for each try, from connecting to the last byte of the answer.
        retries: extra tries after the first.
        backoff: base of the exponential backoff in seconds.
        max_backoff: cap of one backoff wait in seconds.
        max_retry_after: the longest ``Retry-After`` in seconds that is waited for.
        breaker_failures: consecutive failed calls that open the breaker (0 disables it).
        breaker_reset: seconds the breaker stays open before a trial call.
        rate_per_second: the most requests per second this client sends (None: unlimited).
        burst: how many requests may go at once before the rate limit spaces them.
        sleep: how to wait (``time.sleep``; tests pass a recorder).
        clock: a monotonic clock in seconds (``time.monotonic``).
        rng: source of the backoff jitter (a fresh ``random.Random``).
        transport: an httpx transport (tests, proxies); None for the default.
        headers: headers sent with every request (a User-Agent by default).
        max_body_bytes: the longest answer read; a longer one raises ``LookupUnavailable``.
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        max_retry_after: float = 30.0,
        breaker_failures: int = 5,
        breaker_reset: float = 30.0,
        rate_per_second: float | None = None,
        burst: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        transport: httpx.BaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
    ):
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        if retries < 0:
            raise ValueError(f"retries must be 0 or more, got {retries}")
        if backoff < 0 or max_backoff < 0 or max_retry_after < 0:
            raise ValueError("backoff, max_backoff and max_retry_after must not be negative")
        if breaker_failures < 0 or breaker_reset < 0:
            raise ValueError("breaker_failures and breaker_reset must not be negative")
        if rate_per_second is not None and rate_per_second <= 0:
            raise ValueError(f"rate_per_second must be positive or None, got {rate_per_second}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst}")
        if max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be positive, got {max_body_bytes}")
        self.name = name
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.max_retry_after = float(max_retry_after)
        self.breaker_failures = int(breaker_failures)
        self.breaker_reset = float(breaker_reset)
        self.rate_per_second = rate_per_second
        self.burst = float(burst)
        self.max_body_bytes = int(max_body_bytes)
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._client = httpx.Client(
            timeout=self.timeout,
            verify=_ssl_context(),
            transport=transport or deadline_transport(),
            headers={"User-Agent": "numberplate", **(headers or {})},
            # A redirect would carry the provider's key header (x-api-key, SVV-Authorization, X-App-Token)
            # to whatever host it names, resend a POST body and allow https -> http: none is followed.
            follow_redirects=False,
        )
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False
        self._blocked_until: float | None = None
        self._tokens = self.burst
        self._refilled_at = clock()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._client.close()

    @property
    def breaker_state(self) -> BreakerState:
        """``closed`` (calls go through), ``open`` (calls fail fast) or ``half-open`` (a trial call may go)."""
        with self._lock:
            if self._opened_at is None:
                return "closed"
            if self._clock() - self._opened_at >= self.breaker_reset:
                return "half-open"
            return "open"

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        is_answer: Callable[[httpx.Response], bool] | None = None,
    ) -> httpx.Response:
        """Send one request reliably and return the response for the provider to interpret.

        Args:
            method: HTTP method.
            url: absolute URL.
            params: query parameters.
            headers: extra headers for this request.
            json: a JSON body.
            data: a form body.
            auth: HTTP basic credentials.
            is_answer: says whether a response with a retried status is really the provider's
                answer (e.g. an HTTP 500 that means "no such vehicle"); such a response is returned
                at once, never retried.

        Raises:
            LookupRateLimited: HTTP 429 after every try, a too-long ``Retry-After``, or the local rate limit.
            LookupUnavailable: no connection, timeouts, broken replies or server errors after every try,
                an answer longer than ``max_body_bytes``, a redirect (3xx), or the circuit breaker is open.
        """
        try:
            host = httpx.URL(url).host or url
        except httpx.InvalidURL:
            host = url
        label = f"{self.name} ({host})" if self.name else host
        trial = self._admit(label)
        outcome: bool | None = None  # True: the provider answered; False: it failed; None: no verdict
        try:
            response = self._send(
                label,
                1 if trial else self.retries + 1,
                method,
                url,
                params=params,
                headers=headers,
                json=json,
                data=data,
                auth=auth,
                is_answer=is_answer,
            )
            outcome = True
            return response
        except LookupUnavailable:
            outcome = False
            raise
        finally:
            self._record(outcome, trial, label)

    def _send(
        self,
        label: str,
        tries: int,
        method: str,
        url: str,
        *,
        is_answer: Callable[[httpx.Response], bool] | None,
        **kwargs: Any,
    ) -> httpx.Response:
        what = "failed"
        cause: Exception | None = None
        status: int | None = None
        retry_after: float | None = None
        for attempt in range(tries):
            self._take_token(label)
            status, retry_after, cause = None, None, None
            token = TRY_DEADLINE.set(time.monotonic() + self.timeout)
            try:
                response = self._fetch(label, method, url, **kwargs)
            except httpx.TimeoutException as e:
                what, cause = f"timed out after {self.timeout:g} s", e
            except httpx.ConnectError as e:
                what, cause = f"could not connect ({e})", e
            except (httpx.NetworkError, httpx.RemoteProtocolError) as e:
                what, cause = f"broke off the reply ({e})", e
            except (httpx.HTTPError, httpx.InvalidURL) as e:  # a bad URL, scheme or header: retrying cannot help
                raise LookupUnavailable(f"{label}: request failed ({e}); check the base URL and credentials") from e
            else:
                status = response.status_code
                if 300 <= status < 400:
                    raise self._redirected(label, response)
                if status not in RETRY_STATUSES or (is_answer is not None and is_answer(response)):
                    return response
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                what = f"{_STATUS_WORDS[status]} (HTTP {status})"
                if retry_after is not None and retry_after > self.max_retry_after and status in (429, 503):
                    raise self._too_long(label, status, retry_after)
            finally:
                TRY_DEADLINE.reset(token)
            if attempt + 1 < tries:
                if retry_after is not None and status in (429, 503):
                    delay = retry_after
                else:
                    delay = self._backoff_delay(attempt)
                log.debug("%s: %s; try %d of %d again in %.2f s", label, what, attempt + 1, tries, delay)
                self._sleep(delay)
        plural = "try" if tries == 1 else "tries"
        if status == 429:
            after = (
                f"retry after {_duration(retry_after)}" if retry_after is not None else "slow down and try again later"
            )
            raise LookupRateLimited(f"{label}: {what} ({tries} {plural}); {after}", retry_after)
        message = f"{label}: {what} ({tries} {plural}); try again later"
        if cause is not None:
            raise LookupUnavailable(message) from cause
        raise LookupUnavailable(message)

    def _fetch(self, label: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One try: the response with its whole body, read in chunks so that neither the deadline nor the
        size limit waits for the end of a slow or endless answer."""
        deadline, limit = TRY_DEADLINE.get(), self.max_body_bytes
        with self._client.stream(method, url, **kwargs) as streamed:
            announced = streamed.headers.get("Content-Length", "").strip()
            too_big = announced.isascii() and announced.isdigit() and (len(announced) > 18 or int(announced) > limit)
            if too_big:
                raise self._too_big(label, streamed)
            chunks: list[bytes] = []
            size = 0
            for chunk in streamed.iter_bytes():  # decoded: a gzip bomb is stopped too
                size += len(chunk)
                if size > limit:
                    raise self._too_big(label, streamed)
                if deadline is not None and time.monotonic() > deadline:  # a transport of the caller's
                    raise httpx.ReadTimeout("the deadline of this try has passed", request=streamed.request)
                chunks.append(chunk)
        # The body is decoded already: the new response must not decode it again.
        headers = [
            (k, v)
            for k, v in streamed.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(
            streamed.status_code,
            headers=headers,
            content=b"".join(chunks),
            request=streamed.request,
            extensions=streamed.extensions,
            history=streamed.history,
        )

    def _redirected(self, label: str, response: httpx.Response) -> LookupUnavailable:
        """The error for a 3xx: no provider redirects its API, so the base URL is wrong (or the server is not it)."""
        location = response.headers.get("Location")
        try:
            target = response.request.url.join(location).host if location else None
        except (httpx.InvalidURL, ValueError):
            target = None
        where = f" to {target}" if target else (" to an unreadable Location" if location else "")
        setting = f"{self.name}_url" if self.name else "*_url"
        return LookupUnavailable(
            f"{label}: answered HTTP {response.status_code} redirecting{where}, which is not followed so that "
            f"credentials stay with the provider; check the provider's {setting} setting"
        )

    def _too_big(self, label: str, response: httpx.Response) -> LookupUnavailable:
        n = self.max_body_bytes
        limit = f"{n / 2**20:g} MB" if n >= 2**20 else f"{n / 1024:g} KB" if n >= 1024 else f"{n} bytes"
        return LookupUnavailable(
            f"{label}: answered HTTP {response.status_code} with more than {limit}, far more than a vehicle "
            "record, and was cut off; check the base URL"
        )

    def _too_long(self, label: str, status: int, retry_after: float) -> LookupRateLimited | LookupUnavailable:
        """The error for a Retry-After longer than we wait; a 429's also blocks later calls until then."""
        if status == 429:
            with self._lock:
                self._blocked_until = self._clock() + retry_after
            return LookupRateLimited(
                f"{label}: rate limited (HTTP 429) and asked to wait {_duration(retry_after)}, longer than the "
                f"{_duration(self.max_retry_after)} we wait; try again after that",
                retry_after,
            )
        return LookupUnavailable(
            f"{label}: service unavailable (HTTP 503) for the next {_duration(retry_after)}; try again after that"
        )

    def _backoff_delay(self, attempt: int) -> float:
        """Full jitter: a uniform wait between 0 and the capped exponential backoff."""
        cap = min(self.max_backoff, self.backoff * 2**attempt)
        with self._lock:
            return self._rng.uniform(0.0, cap)

    def _admit(self, label: str) -> bool:
        """Check the breaker and any Retry-After block; True when this call is the half-open trial."""
        with self._lock:
            now = self._clock()
            if self._blocked_until is not None:
                left = self._blocked_until - now
                if left > 0:
                    raise LookupRateLimited(
                        f"{label}: rate limited; the provider asked us to wait another {_duration(left)}", left
                    )
                self._blocked_until = None
            if self._opened_at is None:
                return False
            left = self._opened_at + self.breaker_reset - now
            if left > 0 or self._trial_running:
                wait = _duration(left) if left > 0 else "the trial call"
                raise LookupUnavailable(
                    f"{label}: not called because it failed {self._failures} times in a row "
                    f"(circuit breaker open); try again in {wait}"
                )
            self._trial_running = True
            return True

    def _record(self, outcome: bool | None, trial: bool, label: str) -> None:
        with self._lock:
            if trial:
                self._trial_running = False
            if outcome is True:
                if self._opened_at is not None:
                    log.info("%s: answering again; circuit breaker closed", label)
                self._failures = 0
                self._opened_at = None
            elif outcome is False:
                self._failures += 1
                if self.breaker_failures and (trial or self._failures >= self.breaker_failures):
                    if self._opened_at is None or trial:
                        log.warning(
                            "%s: %d failures in a row; circuit breaker open for %g s",
                            label,
                            self._failures,
                            self.breaker_reset,
                        )
                    self._opened_at = self._clock()

    def _take_token(self, label: str) -> None:
        """Wait for a rate-limit token, or raise when the wait would be longer than the timeout."""
        rate = self.rate_per_second
        if rate is None:
            return
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._refilled_at) * rate)
            self._refilled_at = now
            wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) / rate
            if wait > self.timeout:
                raise LookupRateLimited(
                    f"{label}: local limit of {rate:g} requests/s reached; the next slot is {wait:.2f} s away",
                    wait,
                )
            self._tokens -= 1  # may go below zero: that reserves a later slot for this call
        if wait > 0:
            self._sleep(wait)


def compact_plate(plate: str) -> str:
    """A plate as registries key it: upper-case letters and digits of any script (``"ab-12 cde"`` -> ``"AB12CDE"``).

    Compatibility forms are folded as in the cache's key (``"ＡＢ１２"`` -> ``"AB12"``), so that the plate asked
    is the one whose answer is cached.
    """
    return normalize_plate(plate)


def header_safe(value: str, what: str) -> str:
    """``value`` when an HTTP header can carry it (printable ASCII).

    Raises:
        ConfigError: naming ``what`` but not the value (it is a credential).
    """
    if not (value.isascii() and value.isprintable()):
        raise ConfigError(
            f"{what} holds characters an HTTP header cannot carry (non-ASCII, a line break or another control "
            "character); copy it again from the provider"
        )
    return value


def _finite_float(text: str) -> float | None:
    value = float(text)
    return value if math.isfinite(value) else None  # 1e999 reads as infinity


def _no_constant(name: str) -> None:
    """``NaN``, ``Infinity`` and ``-Infinity`` (not JSON, though Python writes them) read as null."""
    return None


def _deeper_than(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Iterable[Any] = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def parse_json(data: bytes | str) -> Any:
    """A provider's JSON, decoded defensively: ``NaN``, ``Infinity`` and numbers beyond a float read as None.

    Raises:
        ValueError: not JSON, not UTF-8, or nested deeper than :data:`MAX_JSON_DEPTH`.
    """
    try:
        value = json.loads(data, parse_float=_finite_float, parse_constant=_no_constant)
    except RecursionError as e:  # "[" * 100000: the decoder recurses once a level
        raise ValueError("JSON nested too deeply to read") from e
    if _deeper_than(value, MAX_JSON_DEPTH):
        raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def read_json(response: httpx.Response, label: str) -> Any:
    """The response's JSON body, read with :func:`parse_json`.

    Raises:
        LookupUnavailable: the body is not JSON (an HTML error page, a truncated or garbled reply) or is
            malformed (nested too deeply).
    """
    try:
        return parse_json(response.content)
    except ValueError as e:  # json.JSONDecodeError and UnicodeDecodeError are both ValueErrors
        kind = response.headers.get("Content-Type", "no content type")
        what = "not JSON" if isinstance(e, (json.JSONDecodeError, UnicodeDecodeError)) else f"malformed ({e})"
        raise LookupUnavailable(
            f"{label}: answered HTTP {response.status_code} with a body that is {what} ({kind}, "
            f"{len(response.content)} bytes); try again later"
        ) from e


def error_body(response: httpx.Response) -> Any:
    """The JSON of an error answer, or None when it has none (for the provider's error message)."""
    try:
        return parse_json(response.content)
    except ValueError:
        return None


def whole_number(value: Any) -> int | None:
    """A count or year from a provider: an int, or a string of ASCII digits (``"1600"``); else None.

    ``"¹⁶⁰⁰"`` passes ``str.isdigit()`` but not ``int()``: only ASCII digits count. Negative numbers and
    ones of more than 18 digits are None too.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value < 10**18 else None
    if isinstance(value, str):
        text = value.strip()
        if 0 < len(text) <= 18 and text.isascii() and text.isdigit():
            return int(text)
    return None


def bounded(vehicle: VehicleInfo, plate: str) -> VehicleInfo:
    """``vehicle`` with each text detail cut to :data:`MAX_TEXT_LENGTHS` (ending in "…"), a year outside
    :data:`YEARS` dropped and a plate longer than :data:`MAX_PLATE_LENGTH` replaced by ``plate``, the one asked."""
    changes: dict[str, Any] = {}
    for name, limit in MAX_TEXT_LENGTHS.items():
        value = getattr(vehicle, name)
        if isinstance(value, str) and len(value) > limit:
            changes[name] = value[: limit - 1] + "…"
    if vehicle.year is not None and vehicle.year not in YEARS:
        changes["year"] = None
    if len(vehicle.plate) > MAX_PLATE_LENGTH:
        changes["plate"] = plate
    return dataclasses.replace(vehicle, **changes) if changes else vehicle


class HttpProvider:
    """What every HTTP lookup provider shares: its service root and an HTTP client (its own unless given).

    Subclasses set ``name`` and implement ``lookup(plate, country)``.
    """

    name = "http"

    def __init__(self, base_url: str, client: HttpClient | None = None):
        self.base_url = base_url.rstrip("/")
        self._owns_client = client is None
        self.client = client or HttpClient(name=self.name)

    def __repr__(self) -> str:  # never the credentials
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def close(self) -> None:
        """Close the HTTP client if this provider made it."""
        if self._owns_client:
            self.client.close()
