"""Browser-facing security: protective headers on every response and a per-session CSRF token for forms."""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, Response, current_app, request, session

from numberplate.web.errors import WebError
from numberplate.web.state import get_state

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_SESSION_KEY = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def csrf_token() -> str:
    """This session's CSRF token, created on first use; templates put it in a hidden form field."""
    token = session.get(_SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[_SESSION_KEY] = token
    return token


def check_csrf() -> None:
    """Reject an unsafe request whose form field (or ``X-CSRF-Token`` header) does not match the session's token.

    Raises:
        WebError: 400 ``csrf_failed``.
    """
    if request.method not in UNSAFE_METHODS or request.blueprint in get_state().csrf_exempt:
        return
    if request.routing_exception is not None:  # 404 / 405 answer first: there is no view to protect
        return
    expected = session.get(_SESSION_KEY)
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    if not isinstance(expected, str) or not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise WebError(
            400,
            "csrf_failed",
            "The form has expired or did not come from this site. Reload the page and send it again.",
        )


def set_security_headers(response: Response) -> Response:
    """Add the protective headers (without overriding ones a view has set)."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


LOOPBACK_ADDRESSES = frozenset({"127.0.0.1", "localhost", "::1"})
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def trusted_hosts(bind_host: str, configured: str | None) -> tuple[str, ...] | None:
    """The host names the app answers to: ``configured`` (comma-separated), else the loopback names when it is bound
    to a loopback address (``bind_host``), else ``None`` (any)."""
    if configured:
        return tuple(h.strip().lower() for h in configured.split(",") if h.strip())
    return LOOPBACK_HOSTS if bind_host.strip().lower() in LOOPBACK_ADDRESSES else None


def _host_name(host: str) -> str:
    """``host`` of a Host header without its port (``[::1]:8000`` -> ``::1``)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def check_host() -> None:
    """Refuse (400) a request whose Host header names none of the trusted hosts.

    Without it, a web page on any site could resolve its own name to 127.0.0.1 (DNS rebinding) and then use the
    pages of a local server that has no admin password as if it were same-site: create API tokens, read the history.
    """
    allowed: tuple[str, ...] | None = current_app.config.get("NUMBERPLATE_TRUSTED_HOSTS")
    if not allowed:
        return
    name = _host_name(request.headers.get("Host", ""))
    if not any(name == h or (h.startswith(".") and (name.endswith(h) or name == h[1:])) for h in allowed):
        raise WebError(400, "untrusted_host", f"this server does not answer to the host name {name[:60]!r}; "
                       "add it to the trusted_hosts setting (NUMBERPLATE_TRUSTED_HOSTS) if it is yours")


def init_app(app: Flask) -> None:
    """Check CSRF tokens before every request, add security headers after, and offer ``csrf_token()`` to templates."""
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.before_request(check_csrf)
    app.after_request(set_security_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
