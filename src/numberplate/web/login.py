"""Optional login: when ``admin_password`` is set, every page asks for it once per browser session.

The REST API (``/api/*``, ``/v1/*``) authenticates with tokens instead, and ``/health``, ``/metrics``
and ``/static/*`` stay open for monitors and the login page itself.
"""

from __future__ import annotations

import hmac
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import cast
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from numberplate.web.state import get_state
from numberplate.web.views import LOGGED_IN_KEY, logged_in, login_enabled, password_mark

bp = Blueprint("login", __name__)
log = logging.getLogger(__name__)

OPEN_PATHS = frozenset({"/health", "/metrics", "/login"})
OPEN_PREFIXES = ("/api/", "/v1/", "/static/")


# Wrong passwords from one client address within LOGIN_WINDOW_S after which it must wait out the window.
MAX_FAILED_LOGINS = 5
LOGIN_WINDOW_S = 15 * 60.0


class LoginThrottle:
    """Wrong admin passwords per client address, in this worker process: after :data:`MAX_FAILED_LOGINS` within
    :data:`LOGIN_WINDOW_S` the address is refused (429) until the oldest of them is that old."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait_s(self, client: str) -> float:
        """Seconds ``client`` must wait before trying again (0: it may try now)."""
        with self._lock:
            recent = self._recent(client)
            if len(recent) < MAX_FAILED_LOGINS:
                return 0.0
            return max(0.0, recent[0] + LOGIN_WINDOW_S - self._clock())

    def failed(self, client: str) -> None:
        """Count one wrong password from ``client``."""
        with self._lock:
            self._recent(client).append(self._clock())
            if len(self._failures) > 10_000:  # forget the addresses whose failures are all old
                for key in [k for k, v in self._failures.items() if not v or v[-1] < self._clock() - LOGIN_WINDOW_S]:
                    del self._failures[key]

    def succeeded(self, client: str) -> None:
        """Forget ``client``'s wrong passwords."""
        with self._lock:
            self._failures.pop(client, None)

    def _recent(self, client: str) -> deque[float]:
        times = self._failures.setdefault(client, deque())
        while times and times[0] < self._clock() - LOGIN_WINDOW_S:
            times.popleft()
        return times


def _throttle() -> LoginThrottle:
    return cast(LoginThrottle, current_app.extensions.setdefault("numberplate_login_throttle", LoginThrottle()))


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site only (never another host), default the start page."""
    if not target:
        return url_for("pages.index")
    parts = urlsplit(target)
    if (parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target
            or any(ord(c) < 32 or ord(c) == 127 for c in target)):  # CR/LF would break the Location header: a 500
        return url_for("pages.index")
    return target


@bp.before_app_request
def _require_login() -> BaseResponse | None:
    if not login_enabled() or logged_in():
        return None
    if request.path in OPEN_PATHS or request.path.startswith(OPEN_PREFIXES):
        return None
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("login.login", next=target), 303)


@bp.get("/login")
def login() -> BaseResponse:
    """The password form (straight to the start page when no password is set or it was given)."""
    if not login_enabled() or logged_in():
        return redirect(safe_next(request.args.get("next")), 303)
    return Response(render_template("login.html", next=safe_next(request.args.get("next")), error=None))


@bp.post("/login")
def login_post() -> BaseResponse:
    """Check the password; a wrong one shows the form again with 401."""
    expected = get_state().config.admin_password
    target = safe_next(request.form.get("next"))
    if not expected:
        return redirect(target, 303)
    client = request.remote_addr or "unknown"
    wait = _throttle().wait_s(client)
    if wait > 0:
        html = render_template("login.html", next=target,
                               error=f"Too many wrong passwords. Try again in {math.ceil(wait / 60)} minute(s).")
        return Response(html, status=429, headers={"Retry-After": str(math.ceil(wait))})
    given = request.form.get("password", "")
    if not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        _throttle().failed(client)
        log.warning("wrong admin password from %s", client)
        html = render_template("login.html", next=target, error="That password is not right. Try again.")
        return Response(html, status=401)
    _throttle().succeeded(client)
    session.clear()  # a fresh session (and CSRF token) once logged in
    session.permanent = True  # ends after PERMANENT_SESSION_LIFETIME, even in a browser that is never closed
    session[LOGGED_IN_KEY] = password_mark()
    return redirect(target, 303)


@bp.post("/logout")
def logout() -> BaseResponse:
    """Forget the login."""
    session.clear()
    return redirect(url_for("login.login") if login_enabled() else url_for("pages.index"), 303)
