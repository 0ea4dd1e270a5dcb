"""The HTTP layer all lookup providers share: timeouts, jittered retries, Retry-After, circuit breaker, rate limit."""

from __future__ import annotations

import email.utils
import functools
import logging
import math
import random
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from numberplate.errors import LookupRateLimited, LookupUnavailable

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Statuses that are retried; every other status goes back to the provider to interpret."""

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


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or an HTTP date); None when absent or unreadable."""
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
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


class HttpClient:
    """A thread-safe ``httpx.Client`` wrapper that makes lookups reliable and fails with ``Lookup*`` errors.

    Each call of :meth:`request` waits for a rate-limit token (when ``rate_per_second`` is set), then
    tries up to ``retries + 1`` times. Connection failures, timeouts, broken replies and HTTP 429/500/502/
    503/504 are retried after a jittered exponential backoff (``uniform(0, min(max_backoff, backoff * 2**n))``,
    "full jitter"); a ``Retry-After`` on a 429 or 503 replaces the backoff when it is at most
    ``max_retry_after`` seconds, and a longer one ends the call at once. When the tries run out a 429
    raises ``LookupRateLimited`` and everything else ``LookupUnavailable``. Any other status is returned.

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
        timeout: seconds for each try (connect, read, write and pool).
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
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._client = httpx.Client(
            timeout=self.timeout,
            verify=_ssl_context(),
            transport=transport,
            headers={"User-Agent": "numberplate", **(headers or {})},
            follow_redirects=True,
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
                or the circuit breaker is open.
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
            try:
                response = self._client.request(method, url, **kwargs)
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
                if status not in RETRY_STATUSES or (is_answer is not None and is_answer(response)):
                    return response
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                what = f"{_STATUS_WORDS[status]} (HTTP {status})"
                if retry_after is not None and retry_after > self.max_retry_after and status in (429, 503):
                    raise self._too_long(label, status, retry_after)
            if attempt + 1 < tries:
                if retry_after is not None and status in (429, 503):
                    delay = retry_after
                else:
                    delay = self._backoff_delay(attempt)
                log.debug("%s: %s; try %d of %d again in %.2f s", label, what, attempt + 1, tries, delay)
                self._sleep(delay)
        plural = "try" if tries == 1 else "tries"
        if status == 429:
            after = f"retry after {retry_after:g} s" if retry_after is not None else "slow down and try again later"
            raise LookupRateLimited(f"{label}: {what} ({tries} {plural}); {after}", retry_after)
        message = f"{label}: {what} ({tries} {plural}); try again later"
        if cause is not None:
            raise LookupUnavailable(message) from cause
        raise LookupUnavailable(message)

    def _too_long(self, label: str, status: int, retry_after: float) -> LookupRateLimited | LookupUnavailable:
        """The error for a Retry-After longer than we wait; a 429's also blocks later calls until then."""
        if status == 429:
            with self._lock:
                self._blocked_until = self._clock() + retry_after
            return LookupRateLimited(
                f"{label}: rate limited (HTTP 429) and asked to wait {retry_after:g} s, longer than the "
                f"{self.max_retry_after:g} s we wait; try again after that",
                retry_after,
            )
        return LookupUnavailable(
            f"{label}: service unavailable (HTTP 503) for the next {retry_after:g} s; try again after that"
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
                        f"{label}: rate limited; the provider asked us to wait another {left:.0f} s", left
                    )
                self._blocked_until = None
            if self._opened_at is None:
                return False
            left = self._opened_at + self.breaker_reset - now
            if left > 0 or self._trial_running:
                wait = f"{left:.0f} s" if left > 0 else "the trial call"
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
    """A plate as registries key it: upper-case letters and digits of any script (``"ab-12 cde"`` -> ``"AB12CDE"``)."""
    return "".join(c for c in plate.upper() if c.isalnum())


def read_json(response: httpx.Response, label: str) -> Any:
    """The response's JSON body.

    Raises:
        LookupUnavailable: the body is not JSON (an HTML error page, a truncated or garbled reply).
    """
    try:
        return response.json()
    except ValueError as e:  # json.JSONDecodeError and UnicodeDecodeError are both ValueErrors
        kind = response.headers.get("Content-Type", "no content type")
        raise LookupUnavailable(
            f"{label}: answered HTTP {response.status_code} with a body that is not JSON ({kind}, "
            f"{len(response.content)} bytes); try again later"
        ) from e


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
