"""Browser-facing security: protective headers on every response and a per-session CSRF token for forms."""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, Response, request, session

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


def init_app(app: Flask) -> None:
    """Check CSRF tokens before every request, add security headers after, and offer ``csrf_token()`` to templates."""
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.before_request(check_csrf)
    app.after_request(set_security_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
