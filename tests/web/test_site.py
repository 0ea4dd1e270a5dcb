"""Every page: renders, one heading, labelled inputs, navigation, footer, nothing the CSP would block."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from numberplate.web import get_state
from tests.web.forms import read_id, text_of, upload

MakeApp = Callable[..., Flask]
PAGES = {
    "/": "Read",
    "/reads/1": "Read",
    "/reads/batch?ids=1": "Read",
    "/history": "History",
    "/history?plate=AB12CD&mode=fuzzy": "History",
    "/watchlist": "Watchlist",
    "/vehicles": "Vehicles",
    "/vehicles/new": "Vehicles",
    "/vehicles/edit?plate=AB12CDE&country=gb": "Vehicles",
    "/settings": "Settings",
    "/api-docs": "API",
}
FIELD_RE = re.compile(r"<(input|select|textarea)\b([^>]*)>")


@pytest.fixture
def full_client(app: Flask, client: FlaskClient, car_jpeg: bytes) -> FlaskClient:
    """A client of an app with a read (that raised an alert), a watchlist entry, a vehicle and a token."""
    state = get_state(app)
    state.watchlist.add("AB12CDE", "test", 0)
    state.vehicles.upsert({"plate": "AB12CDE", "country": "gb", "make": "FORD"})
    state.tokens.create("cam")
    assert read_id(upload(client, car_jpeg, lookup="1")) == 1
    return client


def unlabelled_fields(html: str) -> list[str]:
    labels = set(re.findall(r'<label for="([^"]+)"', html))
    missing = []
    for _, attrs in FIELD_RE.findall(html):
        if 'type="hidden"' in attrs or "aria-label=" in attrs:
            continue
        field_id = re.search(r'\bid="([^"]+)"', attrs)
        if not field_id or field_id.group(1) not in labels:
            missing.append(attrs.strip())
    return missing


@pytest.mark.parametrize(("path", "section"), PAGES.items())
def test_every_page_renders_accessibly(full_client: FlaskClient, path: str, section: str) -> None:
    res = full_client.get(path)
    html = res.get_data(as_text=True)
    assert res.status_code == 200, text_of(html)[:500]
    assert html.count("<h1") == 1
    assert unlabelled_fields(html) == []
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "duplicate ids"
    # The strict CSP: no inline scripts, styles or event handlers; nothing from other sites.
    assert "style=" not in html and not re.search(r"\son[a-z]+=", html)
    assert all('src="/static/' in tag for tag in re.findall(r"<script[^>]*>", html))
    assert not re.search(r"<script[^>]*>[^<]+</script>", html)
    assert not re.search(r'(src|href)="(https?:)?//', html)
    # Forms that change data carry the CSRF token.
    for form in re.findall(r'<form[^>]*method="post".*?</form>', html, re.S):
        assert 'name="csrf_token"' in form
    # The navigation marks this section; the footer says where photos go.
    current = re.findall(r'<a href="[^"]+" aria-current="page">([^<]+)</a>', html.split("</nav>", 1)[0])
    assert current == [section]
    assert "Uploaded photos are stored on this server" in html


def test_footer_follows_the_storage_settings(make_app: MakeApp) -> None:
    html = make_app(retention_days=1).test_client().get("/").get_data(as_text=True)
    assert "Reads older than 1 day are deleted automatically" in text_of(html)
    html = make_app(store_reads=False).test_client().get("/").get_data(as_text=True)
    assert "Photos are read in memory and not stored" in html
    assert "Photos are read in memory and not stored" not in make_app().test_client().get("/").get_data(as_text=True)


def test_upload_form_offers_photos_videos_drop_paste_and_camera(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'<input id="image" name="image" type="file" accept="image/\*,video/\*" multiple', html)
    assert 'capture="environment"' in html
    assert '<progress id="upload-progress"' in html and '<div class="upload-progress" hidden>' in html
    assert 'class="upload-status" role="status" aria-live="polite"' in html
    assert 'class="upload-error error-message" role="alert"' in html
    assert '<script src="/static/upload.js" defer></script>' in html
    js = client.get("/static/upload.js")
    assert js.status_code == 200 and "javascript" in js.content_type
    for feature in (b'"drop"', b'"paste"', b'xhr.upload.addEventListener("progress"'):
        assert feature in js.data, feature
