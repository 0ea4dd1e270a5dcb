"""The settings page (effective configuration with secrets masked, API tokens, webhooks) and the API how-to page."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from werkzeug.wrappers import Response as BaseResponse

from numberplate.config import Config, parse_webhook_urls
from numberplate.errors import StoreError
from numberplate.notify.outbox import Deliveries, DeliveryInfo
from numberplate.notify.webhooks import send_test_events, shown_url
from numberplate.store.db import Database
from numberplate.store.tokens import MAX_CALLS
from numberplate.web.errors import WebError
from numberplate.web.params import as_int, invalid
from numberplate.web.state import get_state
from numberplate.web.views import private_page

bp = Blueprint("settings", __name__)

SECRET_FIELD_RE = re.compile(r"secret_key|admin_password|.*_api_key|.*_password|.*_token|.*_secret|webhook_urls")
MASK = "•••••••• (set)"
MAX_TOKEN_NAME = 100
DEFAULT_FORM = {"name": "", "max_calls": ""}
RECENT_ERRORS = 10  # webhook deliveries whose last attempt failed, shown on the page
TEST_TIMEOUT_S = 5.0
"""The longest the page's "Send a test event" waits for each receiver (less when ``webhook_timeout`` is)."""
MAX_FLASHED = 5  # test answers flashed one by one: the messages travel in the session cookie
WEBHOOKS_OFF = ("Webhooks are off: no webhook_urls are set. Set NUMBERPLATE_WEBHOOK_URLS (or webhook_urls in the "
                "config file) to comma-separated http(s) URLs and restart the server.")


@dataclass(frozen=True)
class Setting:
    """One configuration value as the settings page shows it."""

    name: str
    value: str
    secret: bool


def is_secret(name: str) -> bool:
    """Whether a setting holds a credential that must never be shown."""
    return SECRET_FIELD_RE.fullmatch(name) is not None


def _shown(name: str, value: Any) -> str:
    if value is None:
        return "not set"
    if is_secret(name):
        return MASK
    if name == "database_url":
        try:  # a PostgreSQL URL may carry a password
            return make_url(str(value)).render_as_string(hide_password=True)
        except ArgumentError:
            return MASK
    return str(value)


def effective_settings(config: Config) -> list[Setting]:
    """Every setting with its value, credentials masked."""
    return [
        Setting(f.name, _shown(f.name, getattr(config, f.name)), is_secret(f.name))
        for f in dataclasses.fields(config)
    ]


@dataclass(frozen=True)
class WebhooksSection:
    """What the settings page shows of the webhooks: the receivers, never their credentials or the secret."""

    urls: tuple[str, ...]
    """The receivers without password or query (:func:`~numberplate.notify.webhooks.shown_url`); empty: off."""
    events: str
    signed: bool
    timeout: float
    max_attempts: int
    counts: dict[str, int] | None
    """Pending, delivered and failed deliveries; None when the database could not say."""
    errors: list[DeliveryInfo]


def webhooks_section(config: Config, db: Database) -> WebhooksSection:
    """The webhooks as the settings page shows them; when the database cannot say how the deliveries stand, the
    settings without them and a flashed error (the rest of the page still works)."""
    deliveries = Deliveries(db)
    counts: dict[str, int] | None = None
    errors: list[DeliveryInfo] = []
    try:
        counts = deliveries.counts()
        errors = deliveries.recent_errors(RECENT_ERRORS)
    except StoreError as e:
        flash(f"The webhook deliveries cannot be shown: {e}", "error")
    return WebhooksSection(
        urls=tuple(shown_url(url) for url in parse_webhook_urls(config.webhook_urls)),
        events=config.webhook_events,
        signed=bool(config.webhook_secret),
        timeout=config.webhook_timeout,
        max_attempts=config.webhook_max_attempts,
        counts=counts,
        errors=errors,
    )


def _page(form: dict[str, str], *, error: str | None = None, status: int = 200, new_token: str | None = None,
          new_name: str | None = None) -> BaseResponse:
    state = get_state()
    tokens = [(t, state.tokens.usage(t)[0]) for t in state.tokens.list()]
    return private_page(
        "settings.html", status=status, settings=effective_settings(state.config), tokens=tokens,
        counts=state.reads.counts(), form=form, error=error, new_token=new_token, new_name=new_name,
        webhooks=webhooks_section(state.config, state.db),
    )


@bp.get("/settings")
def index() -> BaseResponse:
    """The effective configuration, the API tokens and the webhooks."""
    return _page(DEFAULT_FORM)


@bp.post("/settings/tokens")
def create_token() -> BaseResponse:
    """Create an API token and show its secret, once.

    The page is the answer to the POST itself (not a redirect) so the secret never goes into the session
    cookie; it is sent with ``Cache-Control: no-store``.
    """
    form = {name: request.form.get(name, default).strip() for name, default in DEFAULT_FORM.items()}
    try:
        if not form["name"]:
            raise invalid("name", "is required: say who or what will use the token")
        if len(form["name"]) > MAX_TOKEN_NAME:
            raise invalid("name", f"must be at most {MAX_TOKEN_NAME} characters")
        max_calls = as_int("max_calls", form["max_calls"], 0, 1, MAX_CALLS) if form["max_calls"] else None
    except WebError as e:
        return _page(form, error=e.message, status=422)
    secret, info = get_state().tokens.create(form["name"], max_calls)
    return _page(DEFAULT_FORM, status=201, new_token=secret, new_name=info.name)


@bp.post("/settings/tokens/<id:token_id>/revoke")
def revoke_token(token_id: int) -> BaseResponse:
    """Revoke a token: calls with it get 401 from now on."""
    info = get_state().tokens.revoke(token_id)
    flash(f"The token {info.name!r} ({info.prefix}…) is revoked.", "info")
    return redirect(url_for("settings.index"), 303)


@bp.post("/settings/webhooks/retry")
def retry_webhooks() -> BaseResponse:
    """Queue the failed webhook deliveries again, due now, with a fresh count of attempts (``webhooks retry``)."""
    try:
        n = Deliveries(get_state().db).retry_failed()
    except StoreError as e:
        flash(f"The failed deliveries could not be queued again: {e}", "error")
    else:
        flash(f"{n} failed deliver{'y was' if n == 1 else 'ies were'} queued again." if n else
              "No delivery had failed: nothing was queued again.", "info")
    return redirect(url_for("settings.index", _anchor="webhooks"), 303)


@bp.post("/settings/webhooks/test")
def test_webhooks() -> BaseResponse:
    """POST a test event to each of the webhook_urls now and flash each answer (``webhooks test``).

    Each receiver gets :data:`TEST_TIMEOUT_S` at most, and they are asked together, so that a receiver that is
    down or hangs holds the page up for seconds, not minutes.
    """
    config = get_state().config
    urls = parse_webhook_urls(config.webhook_urls)
    if not urls:
        flash(WEBHOOKS_OFF, "error")
        return redirect(url_for("settings.index", _anchor="webhooks"), 303)
    answers = list(send_test_events(urls, config.webhook_secret, min(config.webhook_timeout, TEST_TIMEOUT_S)))
    for url, answer in answers[:MAX_FLASHED]:
        if answer.delivered:
            flash(f"Test event to {shown_url(url)}: HTTP {answer.status} in {answer.elapsed_ms:.0f} ms.", "info")
        else:
            flash(f"Test event to {shown_url(url)} failed: {answer.error} ({answer.elapsed_ms:.0f} ms).", "error")
    if len(answers) > MAX_FLASHED:
        rest = answers[MAX_FLASHED:]
        failed = sum(not answer.delivered for _url, answer in rest)
        flash(f"{len(rest)} more receivers: {len(rest) - failed} answered with a 2xx, {failed} failed; "
              "`numberplate webhooks test` prints every answer.", "error" if failed else "info")
    return redirect(url_for("settings.index", _anchor="webhooks"), 303)


@bp.get("/api-docs")
def api_docs() -> BaseResponse:
    """How to call the REST API and the Plate Recognizer-compatible endpoint."""
    config = get_state().config
    return private_page("api_docs.html", base_url=request.host_url, api_auth=config.api_auth,
                        rate_limit=config.rate_limit_per_minute)
