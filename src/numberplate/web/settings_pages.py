"""The settings page (effective configuration with secrets masked, API tokens) and the API how-to page."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from werkzeug.wrappers import Response as BaseResponse

from numberplate.config import Config
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


def _page(form: dict[str, str], *, error: str | None = None, status: int = 200, new_token: str | None = None,
          new_name: str | None = None) -> BaseResponse:
    state = get_state()
    tokens = [(t, state.tokens.usage(t)[0]) for t in state.tokens.list()]
    return private_page(
        "settings.html", status=status, settings=effective_settings(state.config), tokens=tokens,
        counts=state.reads.counts(), form=form, error=error, new_token=new_token, new_name=new_name,
    )


@bp.get("/settings")
def index() -> BaseResponse:
    """The effective configuration and the API tokens."""
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


@bp.get("/api-docs")
def api_docs() -> BaseResponse:
    """How to call the REST API and the Plate Recognizer-compatible endpoint."""
    config = get_state().config
    return private_page("api_docs.html", base_url=request.host_url, api_auth=config.api_auth,
                        rate_limit=config.rate_limit_per_minute)
