"""Optional login: when ``admin_password`` is set, every page asks for it once per browser session.

The REST API (``/api/*``, ``/v1/*``) authenticates with tokens instead, and ``/health``, ``/metrics``
and ``/static/*`` stay open for monitors and the login page itself.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from flask import Blueprint, Response, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from numberplate.web.state import get_state
from numberplate.web.views import LOGGED_IN_KEY, logged_in, login_enabled

bp = Blueprint("login", __name__)

OPEN_PATHS = frozenset({"/health", "/metrics", "/login"})
OPEN_PREFIXES = ("/api/", "/v1/", "/static/")


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site only (never another host), default the start page."""
    if not target:
        return url_for("pages.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
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
    given = request.form.get("password", "")
    if not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        html = render_template("login.html", next=target, error="That password is not right. Try again.")
        return Response(html, status=401)
    session.clear()  # a fresh session (and CSRF token) once logged in
    session[LOGGED_IN_KEY] = True
    return redirect(target, 303)


@bp.post("/logout")
def logout() -> BaseResponse:
    """Forget the login."""
    session.clear()
    return redirect(url_for("login.login") if login_enabled() else url_for("pages.index"), 303)
