"""The settings page (configuration with secrets masked, API tokens) and the API how-to page."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from numberplate.config import Config
from numberplate.store.tokens import MAX_CALLS
from numberplate.web import get_state, settings_pages
from numberplate.web.settings_pages import MASK, effective_settings, is_secret
from tests.web.forms import form_token, post_form, text_of

MakeApp = Callable[..., Flask]
SECRETS = {
    "dvla_api_key": "dvla-key-123", "regcheck_password": "rc-pass-456", "rdw_app_token": "rdw-token-789",
    "vegvesen_api_key": "vv-key-000",
}


def test_settings_show_the_configuration_without_secrets(make_app: MakeApp) -> None:
    app = make_app(retention_days=30, regcheck_username="fleet", **SECRETS)
    html = app.test_client().get("/settings").get_data(as_text=True)
    text = text_of(html)
    assert "retention_days 30" in text and "regcheck_username fleet" in text and "store_reads True" in text
    for name, secret in (*SECRETS.items(), ("secret_key", "test-secret")):
        assert secret not in html, name
        assert f"{name} {MASK}" in text
    assert "admin_password not set" in text
    assert "Reads older than 30 days are deleted automatically" in text  # the footer says so too


@pytest.mark.parametrize(
    ("name", "secret"),
    [("secret_key", True), ("admin_password", True), ("dvla_api_key", True), ("regcheck_password", True),
     ("rdw_app_token", True), ("webhook_secret", True), ("webhook_urls", True),  # a receiver's URL may be its key
     ("regcheck_username", False), ("max_upload_mb", False), ("api_auth", False), ("webhook_events", False)],
)
def test_which_settings_are_secret(name: str, secret: bool) -> None:
    assert is_secret(name) is secret


def test_database_password_is_hidden(make_config: Callable[..., Config]) -> None:
    config = dataclasses.replace(make_config(), database_url="postgresql+psycopg://np:hunter2@db:5432/numberplate")
    shown = {s.name: s.value for s in effective_settings(config)}
    assert "hunter2" not in shown["database_url"]
    assert shown["database_url"] == "postgresql+psycopg://np:***@db:5432/numberplate"


def test_create_use_and_revoke_a_token(client: FlaskClient, app: Flask) -> None:
    res = post_form(client, "/settings/tokens", {"name": "Home Assistant", "max_calls": "500"})
    html = res.get_data(as_text=True)
    assert res.status_code == 201
    assert res.headers["Cache-Control"] == "no-store"
    secret = re.search(r'id="new-token" class="token-value" type="text" value="(np_[^"]+)"', html)
    assert secret, html
    token = secret.group(1)
    assert "is not shown again" in html
    (info,) = get_state(app).tokens.list()
    assert (info.name, info.max_calls, info.revoked) == ("Home Assistant", 500, False)

    auth = {"Authorization": f"Token {token}"}
    assert client.get("/api/v1/reads", headers=auth).status_code == 200
    html = client.get("/settings").get_data(as_text=True)
    assert token not in html  # shown once only
    assert info.prefix in html and "1 of 500" in html and "active" in html

    res = post_form(client, f"/settings/tokens/{info.id}/revoke")
    assert res.status_code == 303 and res.headers["Location"] == "/settings"
    html = client.get("/settings").get_data(as_text=True)
    assert "The token &#39;Home Assistant&#39;" in html and "is revoked" in html
    assert '<span class="badge">revoked</span>' in html
    assert client.get("/api/v1/reads", headers=auth).status_code == 401
    assert post_form(client, "/settings/tokens/999/revoke").status_code == 404


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"name": ""}, "parameter 'name': is required"),
        ({"name": "x" * 101}, "parameter 'name': must be at most 100 characters"),
        ({"name": "cam", "max_calls": "lots"}, "parameter 'max_calls': must be a whole number from 1"),
        ({"name": "cam", "max_calls": "0"}, "parameter 'max_calls': must be a whole number from 1"),
    ],
)
def test_bad_token_form_is_422(client: FlaskClient, app: Flask, form: dict[str, str], message: str) -> None:
    res = post_form(client, "/settings/tokens", form)
    html = res.get_data(as_text=True)
    assert res.status_code == 422
    assert message in text_of(html).replace("&#39;", "'")
    assert 'id="new-token"' not in html
    assert get_state(app).tokens.list() == []


def test_a_tokens_monthly_limit_goes_as_far_as_the_stores(
    client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    res = post_form(client, "/settings/tokens", {"name": "cam", "max_calls": str(MAX_CALLS + 1)})
    assert res.status_code == 422
    assert f"must be a whole number from 1 to {MAX_CALLS}" in text_of(res.get_data(as_text=True))
    assert post_form(client, "/settings/tokens", {"name": "cam", "max_calls": str(MAX_CALLS)}).status_code == 201
    monkeypatch.setattr(settings_pages, "MAX_CALLS", 10)  # the page asks the store, not a number of its own
    res = post_form(client, "/settings/tokens", {"name": "cam", "max_calls": "11"})
    assert res.status_code == 422 and "from 1 to 10" in text_of(res.get_data(as_text=True))
    assert [t.max_calls for t in get_state(app).tokens.list()] == [MAX_CALLS]


def test_token_forms_need_the_csrf_token(client: FlaskClient, app: Flask) -> None:
    form_token(client)
    assert client.post("/settings/tokens", data={"name": "x"}).status_code == 400
    assert get_state(app).tokens.list() == []


def test_api_docs_page(client: FlaskClient) -> None:
    res = client.get("/api-docs")
    html = res.get_data(as_text=True)
    assert res.status_code == 200
    assert 'href="/api/openapi.json"' in html
    assert "Authorization: Token" in html
    assert "-F image=@car.jpg" in html and "http://localhost/api/v1/read" in html
    assert "-F upload=@car.jpg" in html and "http://localhost/v1/plate-reader/" in html
    assert "-F video=@gate.mp4" in html and "http://localhost/api/v1/read-video" in html and "200 MB" in html
    assert client.get("/api/openapi.json").status_code == 200


def test_revoking_an_id_beyond_64_bits_is_404(client: FlaskClient, app: Flask) -> None:
    get_state(app).tokens.create("kept")
    res = post_form(client, "/settings/tokens/99999999999999999999999/revoke")
    assert res.status_code == 404
    assert [t.revoked for t in get_state(app).tokens.list()] == [False]
