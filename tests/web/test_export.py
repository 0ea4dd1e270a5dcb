"""Downloading the history: ``/history/export`` for the pages, ``/api/v1/reads/export`` for API clients."""

from __future__ import annotations

import csv
import dataclasses
import html as html_lib
import http.client
import io
import json
import re
import threading
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from sqlalchemy import event
from werkzeug.test import TestResponse

from numberplate.imaging import encode_jpeg
from numberplate.store.clock import utcnow
from numberplate.store.export import COLUMNS, LINK_COLUMNS, export_rows
from numberplate.store.reads import ReadQuery
from numberplate.types import BoundingBox, Detection, ImageResult, PlateRead, PlateText
from numberplate.web import get_state
from numberplate.web.server import make_server, server_url, stop_server
from tests.store.test_export import bulk_history
from tests.web.openapi_check import DOC, check
from tests.web.test_login import PASSWORD, log_in

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
JPEG = encode_jpeg(np.zeros((20, 60, 3), np.uint8), 90)


def save_read(app: Flask, *texts: str, days: float = 0, camera: str | None = None, source: str = "web",
              filename: str | None = None, image: bytes | None = None) -> int:
    """Store a read of the plates ``texts`` made ``days`` after T0; the first plate gets a crop."""
    plates = tuple(PlateRead(Detection(BoundingBox(10 + 150 * i, 10, 110 + 150 * i, 40), 0.9), PlateText(t, 0.95))
                   for i, t in enumerate(texts))
    stored = get_state(app).reads.save(
        ImageResult(400, 100, plates, 3.0), image_jpeg=image, crops_jpeg=[JPEG] if texts else [], source=source,
        camera_id=camera, created_at=T0 + timedelta(days=days), filename=filename or f"{'-'.join(texts)}.jpg",
    )
    return stored.id


@pytest.fixture
def history(app: Flask) -> dict[str, int]:
    """Reads chosen so each filter picks a different set; one has two plates, one none."""
    return {
        "AB12CDE": save_read(app, "AB12CDE", days=0, camera="gate", source="web", image=JPEG),
        "AB12CDF": save_read(app, "AB12CDF", "京A12345", days=1, camera="gate", source="api"),
        "AB13XYZ": save_read(app, "AB13XYZ", days=2, camera="yard", source="plate-recognizer"),
        "none": save_read(app, days=2.5, source="cli", filename="=cmd|' /C calc'!A0"),
        "AB12C": save_read(app, "AB12C", days=4, camera="yard", source="web"),
    }


@pytest.fixture
def auth(app: Flask) -> dict[str, str]:
    return {"Authorization": f"Token {get_state(app).tokens.create('tests')[0]}"}


def csv_records(res: TestResponse) -> list[dict[str, str]]:
    data = res.get_data()
    assert data.startswith(b"\xef\xbb\xbf"), data[:20]
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def read_links(page: str) -> list[int]:
    results = page.split('id="results-heading"', 1)[1]
    return [int(i) for i in re.findall(r'class="read-link" href="/reads/(\d+)"', results)]


def export_links(page: str) -> dict[str, str]:
    """The page's download links by their text."""
    return {text: html_lib.unescape(href)
            for href, text in re.findall(r'<a href="(/history/export\?[^"]*)" download>([^<]+)</a>', page)}


def test_the_history_page_offers_its_search_for_download(client: FlaskClient, history: dict[str, int]) -> None:
    page = client.get("/history?plate=AB12&mode=prefix&until=2026-03-11&per_page=1&page=2").get_data(as_text=True)
    links = export_links(page)
    assert set(links) == {"Download CSV", "Download JSON Lines"}
    csv_link = links["Download CSV"]
    assert "plate=AB12" in csv_link and "mode=prefix" in csv_link and "until=2026-03-11" in csv_link
    assert "format=csv" in csv_link and "page=" not in csv_link  # every page of the search, not the one shown
    assert "one row per plate, all 2 pages" in page
    # The download has the reads of every page, and "until" a date includes that day, as on the page.
    rows = csv_records(client.get(csv_link))
    assert [int(r["read_id"]) for r in rows] == [history["AB12CDF"], history["AB12CDF"], history["AB12CDE"]]
    assert [r["plate"] for r in rows] == ["AB12CDF", "京A12345", "AB12CDE"]
    lines = client.get(links["Download JSON Lines"]).get_data(as_text=True).splitlines()
    assert [json.loads(line)["plate"] for line in lines] == ["AB12CDF", "京A12345", "AB12CDE"]


def test_no_download_links_without_reads_or_with_a_bad_search(client: FlaskClient, history: dict[str, int]) -> None:
    assert export_links(client.get("/history?plate=NOPE").get_data(as_text=True)) == {}
    assert export_links(client.get("/history?distance=9").get_data(as_text=True)) == {}
    assert set(export_links(client.get("/history").get_data(as_text=True))) == {"Download CSV", "Download JSON Lines"}


@pytest.mark.parametrize("query", ["", "plate=AB12&mode=prefix", "plate=AB12CDX&mode=fuzzy", "camera_id=yard",
                                   "since=2026-03-11&until=2026-03-12", "source=web", "plate=%"])
def test_the_page_export_has_the_reads_the_page_lists(client: FlaskClient, history: dict[str, int],
                                                      query: str) -> None:
    listed = read_links(client.get(f"/history?{query}&per_page=100").get_data(as_text=True))
    rows = csv_records(client.get(f"/history/export?{query}"))
    assert list(dict.fromkeys(int(r["read_id"]) for r in rows)) == listed


def test_page_export_headers_and_cells(client: FlaskClient, history: dict[str, int]) -> None:
    res = client.get("/history/export")
    assert res.status_code == 200
    assert res.headers["Content-Type"] == "text/csv; charset=utf-8"
    today = utcnow().date().isoformat()
    assert res.headers["Content-Disposition"] == f'attachment; filename="numberplate-reads-{today}.csv"'
    assert res.headers["Cache-Control"] == "no-store"
    rows = csv_records(res)
    assert list(rows[0]) == [*COLUMNS, *LINK_COLUMNS]
    assert len(rows) == 6  # five reads, one of them with two plates
    by_plate = {r["plate"]: r for r in rows}
    none = next(r for r in rows if r["read_id"] == str(history["none"]))
    assert none["plate"] == "" and none["plate_id"] == "" and none["box_xmin"] == ""
    assert none["filename"] == "'=cmd|' /C calc'!A0"  # a formula, defused
    first = by_plate["AB12CDE"]
    read = get_state(client.application).reads.get(history["AB12CDE"])
    assert first["read_url"] == f"/reads/{read.id}"
    assert first["image_url"] == f"/images/{read.image_sha256}.jpg"
    assert first["crop_url"] == f"/images/{read.plates[0].crop_sha256}.jpg"
    assert client.get(first["crop_url"]).data == JPEG and client.get(first["read_url"]).status_code == 200
    assert by_plate["AB12CDF"]["image_url"] == "" and by_plate["京A12345"]["crop_url"] == ""
    assert first["created_at"] == "2026-03-10T12:00:00Z" and first["confidence"] == "0.95"
    res = client.get("/history/export?format=jsonl&camera_id=yard")
    assert res.headers["Content-Type"] == "application/x-ndjson"
    assert res.headers["Content-Disposition"] == f'attachment; filename="numberplate-reads-{today}.jsonl"'
    assert [json.loads(line)["plate"] for line in res.get_data(as_text=True).splitlines()] == ["AB12C", "AB13XYZ"]


@pytest.mark.parametrize("query", ["mode=soundex", "distance=3", "since=yesterday", "watchlist=perhaps",
                                   "source=fax", "since=2026-11-24&until=2026-11-01", "plate=" + "A" * 33,
                                   "camera_id=a;b"])
def test_bad_page_export_parameters_are_422_with_the_search_message(client: FlaskClient, query: str) -> None:
    page = client.get(f"/history?{query}")
    message = re.search(r'<p class="error-message" role="alert">([^<]+)</p>', page.get_data(as_text=True))
    assert page.status_code == 422 and message
    res = client.get(f"/history/export?{query}")
    assert res.status_code == 422 and message.group(1) in res.get_data(as_text=True)
    res = client.get(f"/history/export?{query}", headers={"Accept": "application/json"})
    assert res.status_code == 422 and res.get_json()["error"]["message"] == html_lib.unescape(message.group(1))


@pytest.mark.parametrize("path", ["/history/export", "/api/v1/reads/export"])
def test_an_unknown_format_is_422_naming_the_choices(client: FlaskClient, auth: dict[str, str], path: str) -> None:
    res = client.get(f"{path}?format=xlsx", headers={**auth, "Accept": "application/json"})
    assert res.status_code == 422
    assert res.get_json()["error"] == {"code": "invalid_parameter",
                                       "message": "parameter 'format': must be one of csv, jsonl, got 'xlsx'"}


def test_the_page_export_needs_the_login_when_there_is_one(make_app: Callable[..., Flask]) -> None:
    app = make_app(admin_password=PASSWORD)
    save_read(app, "AB12CDE")
    client = app.test_client()
    res = client.get("/history/export?format=csv&plate=AB12CDE")
    assert res.status_code == 303 and res.headers["Location"].startswith("/login?next=")
    assert b"read_id" not in res.get_data()
    assert log_in(client)[0] == 303
    res = client.get("/history/export?format=csv&plate=AB12CDE")
    assert res.status_code == 200 and [r["plate"] for r in csv_records(res)] == ["AB12CDE"]
    # An API token is not a login for the pages.
    secret = get_state(app).tokens.create("t")[0]
    res = app.test_client().get("/history/export", headers={"Authorization": f"Token {secret}"})
    assert res.status_code == 303


# The API route.


def test_api_export(client: FlaskClient, auth: dict[str, str], history: dict[str, int]) -> None:
    res = client.get("/api/v1/reads/export?format=jsonl&plate=AB12&mode=prefix", headers=auth)
    assert check(res, "/api/v1/reads/export", "get") is None and res.status_code == 200
    assert res.headers["Content-Type"] == "application/x-ndjson" and res.headers["Cache-Control"] == "no-store"
    assert res.headers["Content-Disposition"].startswith('attachment; filename="numberplate-reads-')
    records = [json.loads(line) for line in res.get_data(as_text=True).splitlines()]
    assert [r["plate"] for r in records] == ["AB12C", "AB12CDF", "京A12345", "AB12CDE"]
    row_schema = Draft202012Validator({**DOC, **DOC["components"]["schemas"]["ExportRow"]})
    for record in records:
        row_schema.validate(record)  # each line is the documented ExportRow
    assert list(records[0]) == [*COLUMNS, *LINK_COLUMNS]
    oldest = records[-1]
    read = client.get(oldest["read_url"], headers=auth)  # links into the API, where the token works
    assert oldest["read_url"] == f"/api/v1/reads/{history['AB12CDE']}" and read.get_json()["id"] == history["AB12CDE"]
    assert client.get(oldest["image_url"], headers=auth).data == JPEG
    assert client.get(oldest["crop_url"], headers=auth).data == JPEG
    # The same reads as the search, all pages; CSV is the default format.
    search = client.get("/api/v1/reads?camera_id=gate&per_page=1", headers=auth).get_json()
    rows = csv_records(client.get("/api/v1/reads/export?camera_id=gate&per_page=1&page=2", headers=auth))
    assert search["total"] == 2 and list(dict.fromkeys(int(r["read_id"]) for r in rows)) == [
        history["AB12CDF"], history["AB12CDE"]]


@pytest.mark.parametrize(
    ("headers", "message"),
    [({}, "needs a token"), ({"Authorization": "Token np_wrong"}, "not valid"),
     ({"Authorization": "Basic dXNlcjpwYXNz"}, "must be 'Token")],
)
def test_the_api_export_needs_a_token(client: FlaskClient, history: dict[str, int], headers: dict[str, str],
                                      message: str) -> None:
    res = client.get("/api/v1/reads/export", headers=headers)
    body = check(res, "/api/v1/reads/export", "get")
    assert res.status_code == 401 and message in body["error"]["message"] and b"AB12CDE" not in res.get_data()
    assert res.headers["WWW-Authenticate"] == 'Token realm="numberplate"'


def test_a_revoked_token_cannot_export(app: Flask, client: FlaskClient, history: dict[str, int]) -> None:
    secret, info = get_state(app).tokens.create("gone")
    get_state(app).tokens.revoke(info.id)
    assert client.get("/api/v1/reads/export", headers={"Authorization": f"Token {secret}"}).status_code == 401


def test_the_api_export_is_open_when_api_auth_is_off(make_app: Callable[..., Flask]) -> None:
    app = make_app(api_auth=False, admin_password=PASSWORD)  # the pages' login does not guard the API
    save_read(app, "AB12CDE")
    res = app.test_client().get("/api/v1/reads/export")
    assert res.status_code == 200 and [r["plate"] for r in csv_records(res)] == ["AB12CDE"]


@pytest.mark.parametrize(
    "query",
    ["mode=soundex", "distance=3", "distance=x", "since=yesterday", "page=0", "per_page=101", "watchlist=perhaps",
     "source=fax", "since=2026-11-24&until=2026-11-01", "plate=" + "A" * 33, "since=9999-12-31T23:59:59-05:00"],
)
def test_bad_api_export_parameters_are_422_with_the_search_message(client: FlaskClient, auth: dict[str, str],
                                                                   query: str) -> None:
    search = client.get(f"/api/v1/reads?{query}", headers=auth)
    res = client.get(f"/api/v1/reads/export?{query}&format=jsonl", headers=auth)
    body = check(res, "/api/v1/reads/export", "get")
    assert res.status_code == 422 and body == search.get_json()


# Streaming.


def count_batches(app: Flask) -> tuple[list[str], Callable[[], None]]:
    """The export's batch queries as they are sent, and a function that stops counting them."""
    statements: list[str] = []
    engine = get_state(app).reads.db.engine

    def hook(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "LEFT OUTER JOIN plates" in statement:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", hook)
    return statements, lambda: event.remove(engine, "before_cursor_execute", hook)


@pytest.mark.parametrize(("path", "fmt"), [("/api/v1/reads/export", "csv"), ("/history/export", "jsonl")])
def test_a_large_export_is_streamed_as_it_is_read(app: Flask, client: FlaskClient, auth: dict[str, str], path: str,
                                                  fmt: str) -> None:
    bulk_history(get_state(app).reads.db, 5000)
    batches, stop = count_batches(app)
    try:
        res = client.get(f"{path}?format={fmt}", headers=auth, buffered=False)
        assert res.status_code == 200 and res.is_streamed and "Content-Length" not in res.headers
        chunks = iter(res.response)
        first = next(chunks)
        # Answered with the first batch or two of 10: the body is read from the database as it is sent.
        assert 1 <= len(batches) <= 2 and len(first) < 70_000
        tracemalloc.start()
        try:
            size, count = len(first), 1
            for chunk in chunks:
                size += len(chunk)
                count += 1
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        res.close()
    finally:
        stop()
    assert len(batches) == 11 and count >= 8 and size > 400_000
    # Held at most: a batch of rows and a chunk, far less than every row of the export at once.
    tracemalloc.start()
    try:
        every_row = list(export_rows(get_state(app).reads.db, ReadQuery()))
        held = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(every_row) == 5000 and peak < held / 2, (peak, held)


def test_a_database_that_cannot_be_read_is_an_error_response_not_a_cut_download(
    app: Flask, client: FlaskClient, auth: dict[str, str], history: dict[str, int]
) -> None:
    from sqlalchemy import text

    with get_state(app).reads.db.engine.begin() as conn:
        conn.execute(text("DROP TABLE plates"))
    res = client.get("/api/v1/reads/export", headers=auth)
    assert res.status_code == 503 and res.get_json()["error"]["code"] == "storage_unavailable"
    assert "Content-Disposition" not in res.headers


def test_a_real_server_sends_the_export_in_chunks_and_survives_a_client_that_hangs_up(
    app: Flask, auth: dict[str, str]
) -> None:
    bulk_history(get_state(app).reads.db, 5000)
    server = make_server(app, dataclasses.replace(get_state(app).config, port=0, threads=2))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        host, port = urlsplit(server_url(server)).netloc.split(":")
        gone = http.client.HTTPConnection(host, int(port), timeout=10)
        gone.request("GET", "/api/v1/reads/export", headers=auth)
        res = gone.getresponse()
        assert res.status == 200 and res.getheader("Transfer-Encoding") == "chunked"
        assert res.getheader("Content-Length") is None
        assert res.read(1000).startswith(b"\xef\xbb\xbfread_id,")
        gone.close()  # hangs up mid-download
        whole = http.client.HTTPConnection(host, int(port), timeout=10)
        whole.request("GET", "/api/v1/reads/export?format=jsonl&camera_id=gate", headers=auth)
        lines = whole.getresponse().read().decode().splitlines()
        whole.close()
        assert len(lines) == 5000 and json.loads(lines[-1])["plate"] == "AB00000"
    finally:
        stop_server(server)
        thread.join(timeout=10)
    assert not thread.is_alive()
