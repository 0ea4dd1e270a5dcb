"""One webhook POST: its JSON body, its headers and HMAC-SHA256 signature, and a sender that never waits long."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

# The lookup providers' transport: every socket operation of a try ends by its deadline, so a receiver that
# trickles its answer (headers included) a byte at a time is cut off at ``timeout`` too. Importing it also installs
# its filter of httpx's request log, which leaves out a URL's password and query.
from numberplate.lookup.http import TRY_DEADLINE, deadline_transport, parse_retry_after
from numberplate.store.clock import as_utc, utcnow

log = logging.getLogger(__name__)

Event = Literal["read", "alert", "test"]
WebhookEvents = Literal["alerts", "reads"]
"""Which reads are announced (the ``webhook_events`` setting): those with a watchlist alert, or every one."""

ERROR_BODY_CHARS = 200
"""How much of a failed answer's body is kept as the delivery's error (the rest is never read)."""
ERROR_BODY_BYTES = 4096
MAX_TEST_THREADS = 8
"""How many receivers :func:`send_test_events` waits on at once."""


def user_agent() -> str:
    """``numberplate/<version>``."""
    from numberplate import __version__

    return f"numberplate/{__version__}"


def iso(moment: datetime) -> str:
    """``moment`` as ISO 8601 UTC with a ``Z``, as the API writes times."""
    return as_utc(moment).isoformat().replace("+00:00", "Z")


def body(event: Event, delivery_id: str, created_at: datetime, read: Mapping[str, Any] | None) -> bytes:
    """The JSON body of a webhook: ``{"event", "delivery_id", "created_at", "read"}`` as UTF-8 bytes.

    ``read`` is the read as ``GET /api/v1/reads/<id>`` returns it (None for a test event).
    """
    document = {"event": event, "delivery_id": delivery_id, "created_at": iso(created_at), "read": read}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def signature(secret: str, timestamp: int, payload: bytes) -> str:
    """``sha256=<hex>``: the HMAC-SHA256, keyed by ``secret``, of ``"<timestamp>.<body>"``."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + payload, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def headers(event: Event, delivery_id: str, payload: bytes, secret: str | None, now: float) -> dict[str, str]:
    """The headers of a webhook POST; with a ``secret``, the timestamp (Unix seconds ``now``) and signature."""
    out = {
        "Content-Type": "application/json",
        "User-Agent": user_agent(),
        "X-Numberplate-Event": event,
        "X-Numberplate-Delivery": delivery_id,
    }
    if secret:
        timestamp = int(now)
        out["X-Numberplate-Timestamp"] = str(timestamp)
        out["X-Numberplate-Signature"] = signature(secret, timestamp, payload)
    return out


def shown_url(url: str) -> str:
    """``url`` as logs and tables show it: scheme, host, port and path, never a password or the query (either
    may hold the receiver's credential)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an invalid URL)"
    host = f"[{host}]" if ":" in host else host
    query = "?…" if parts.query else ""
    return f"{parts.scheme}://{host}{port}{parts.path}{query}"


@dataclass(frozen=True)
class Answer:
    """How a receiver answered one POST."""

    status: int | None
    """The HTTP status; None when there was no answer (no connection, a timeout, a broken reply)."""
    error: str | None
    """Why it is not delivered; None for a 2xx."""
    retry_after: float | None = None
    """Seconds a 429 or 503 asked us to wait (``Retry-After``)."""
    elapsed_ms: float = 0.0

    @property
    def delivered(self) -> bool:
        return self.error is None


class WebhookSender:
    """POSTs webhook bodies; thread-safe. One try per call: retrying is the deliverer's (hours apart).

    A try must have its answer's status and headers within ``timeout`` seconds of its start (connecting
    included); the body of a 2xx is never read, and of any other answer only its first few KB (for the error).
    Redirects are never followed: a 3xx is a failure that names where it pointed.

    Args:
        timeout: seconds a try may take.
        transport: an httpx transport (tests); None for the deadline-keeping default.
    """

    def __init__(self, timeout: float, transport: httpx.BaseTransport | None = None):
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.timeout = float(timeout)
        self._client = httpx.Client(
            timeout=self.timeout,
            transport=transport or deadline_transport(),
            follow_redirects=False,  # a redirect would resend the signed body to a host nobody configured
        )

    def __enter__(self) -> WebhookSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._client.close()

    def post(self, url: str, payload: bytes, request_headers: Mapping[str, str]) -> Answer:
        """POST ``payload`` to ``url``; never raises for anything the receiver or the network does."""
        start = time.monotonic()
        token = TRY_DEADLINE.set(start + self.timeout)
        try:
            answer = self._post(url, payload, request_headers)
        except httpx.TimeoutException:
            answer = Answer(None, f"no answer within {self.timeout:g} s (webhook_timeout)")
        except httpx.ConnectError as e:
            answer = Answer(None, f"could not connect ({e})")
        except (httpx.NetworkError, httpx.RemoteProtocolError) as e:
            answer = Answer(None, f"the connection broke off ({e})")
        except (httpx.HTTPError, httpx.InvalidURL) as e:
            answer = Answer(None, f"the request failed ({e})")
        finally:
            TRY_DEADLINE.reset(token)
        return Answer(answer.status, answer.error, answer.retry_after, (time.monotonic() - start) * 1000)

    def _post(self, url: str, payload: bytes, request_headers: Mapping[str, str]) -> Answer:
        with self._client.stream("POST", url, content=payload, headers=dict(request_headers)) as response:
            status = response.status_code
            if 200 <= status < 300:
                return Answer(status, None)
            if 300 <= status < 400:
                return Answer(status, _redirect_error(response))
            retry_after = None
            if status in (429, 503):
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            text = _start_of_body(response)
            return Answer(status, f"HTTP {status}" + (f": {text}" if text else ""), retry_after)


def send_test_events(urls: Sequence[str], secret: str | None, timeout: float,
                     transport: httpx.BaseTransport | None = None) -> Iterator[tuple[str, Answer]]:
    """POST a test event (``"event": "test"``, ``"read": null``), signed as the real ones, to each of ``urls``.

    Up to :data:`MAX_TEST_THREADS` POSTs go out together, so that many receivers take one ``timeout`` at most, not
    one each; the answers are yielded in the order of ``urls`` (what ``numberplate webhooks test`` prints, and the
    settings page flashes).

    Args:
        urls: the receivers (``webhook_urls``).
        secret: signs the POSTs when set (``webhook_secret``).
        timeout: seconds each POST may take.
        transport: an httpx transport (tests); None for the deadline-keeping default.

    Yields:
        Each URL with its receiver's answer; nothing a receiver or the network does raises.
    """
    if not urls:
        return
    with WebhookSender(timeout, transport) as sender, \
            ThreadPoolExecutor(min(len(urls), MAX_TEST_THREADS), thread_name_prefix="numberplate-webhook-test") as pool:
        yield from zip(urls, pool.map(lambda url: _send_test(sender, url, secret), urls), strict=True)


def _send_test(sender: WebhookSender, url: str, secret: str | None) -> Answer:
    now = utcnow()
    delivery_id = uuid.uuid4().hex
    payload = body("test", delivery_id, now, None)
    return sender.post(url, payload, headers("test", delivery_id, payload, secret, now.timestamp()))


def _start_of_body(response: httpx.Response) -> str:
    """The first characters of an answer's body as one printable line (read no further than that)."""
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= ERROR_BODY_BYTES:
                break
    except httpx.HTTPError:
        pass  # the status is what counts; a body that breaks off adds nothing
    text = b"".join(chunks)[:ERROR_BODY_BYTES].decode("utf-8", "replace")
    line = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return line[:ERROR_BODY_CHARS] + ("…" if len(line) > ERROR_BODY_CHARS else "")


def _redirect_error(response: httpx.Response) -> str:
    location = response.headers.get("Location")
    try:
        target = shown_url(str(response.request.url.join(location))) if location else None
    except (httpx.InvalidURL, ValueError):
        target = None
    where = f" to {target}" if target else ""
    return (f"HTTP {response.status_code} redirect{where}, which is not followed; put the final URL in "
            "webhook_urls")
