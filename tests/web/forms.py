"""Helpers for page tests: the CSRF token of a page, posting forms and uploads like a browser does."""

from __future__ import annotations

import io
import re
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_token(client: FlaskClient, path: str = "/") -> str:
    """Load a page and return the CSRF token from its form."""
    html = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token in the form of {path}"
    return match.group(1)


def upload(
    client: FlaskClient, data: bytes | None, filename: str = "car.jpg", *, token: str | None = None,
    url: str = "/read", headers: dict[str, str] | None = None, **fields: str,
) -> TestResponse:
    """POST a multipart upload like the form does, with a valid CSRF token unless ``token`` is given."""
    form: dict[str, Any] = {"csrf_token": form_token(client) if token is None else token, **fields}
    if data is not None:
        form["image"] = (io.BytesIO(data), filename)
    return client.post(url, data=form, content_type="multipart/form-data", headers=headers or {})


def upload_many(client: FlaskClient, files: list[tuple[bytes, str]], **fields: str) -> TestResponse:
    """POST several photos in the one ``image`` field, as the ``multiple`` file input sends them."""
    form: dict[str, Any] = {"csrf_token": form_token(client), **fields}
    form["image"] = [(io.BytesIO(data), name) for data, name in files]
    return client.post("/read", data=form, content_type="multipart/form-data")


def post_form(client: FlaskClient, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> TestResponse:
    """POST a form with this session's CSRF token."""
    return client.post(url, data={"csrf_token": form_token(client), **(data or {})}, **kwargs)


def read_id(response: TestResponse) -> int:
    """The read id a successful upload redirected to."""
    assert response.status_code == 303, response.get_data(as_text=True)
    match = re.fullmatch(r"/reads/(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def text_of(html: str) -> str:
    """The page's text with tags removed and whitespace collapsed, for asserting on sentences."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())
