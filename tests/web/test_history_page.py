"""The history page: plate search (exact, prefix, fuzzy), date, camera, source and alert filters, pages, errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient

from numberplate.imaging import encode_jpeg
from numberplate.types import BoundingBox, Detection, ImageResult, PlateRead, PlateText
from numberplate.web import get_state
from tests.web.forms import text_of

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def save_read(app: Flask, text: str, *, days: float = 0, camera: str | None = None, source: str = "web",
              crop: bytes | None = None) -> int:
    """Store a read of one plate ``text`` made ``days`` after T0."""
    plate = PlateRead(Detection(BoundingBox(10, 10, 110, 40), 0.9), PlateText(text, 0.95))
    stored = get_state(app).reads.save(
        ImageResult(200, 100, (plate,), 3.0), crops_jpeg=[crop], source=source, camera_id=camera,
        created_at=T0 + timedelta(days=days), filename=f"{text}.jpg",
    )
    return stored.id


def read_links(html: str) -> list[int]:
    """The read ids the results list links to, in order."""
    results = html.split('id="results-heading"', 1)[1]
    return [int(i) for i in re.findall(r'class="read-link" href="/reads/(\d+)"', results)]


@pytest.fixture
def history(app: Flask) -> dict[str, int]:
    """Five reads: plates, days, cameras and sources chosen so each filter picks a different set."""
    return {
        "AB12CDE": save_read(app, "AB12CDE", days=0, camera="gate", source="web"),
        "AB12CDF": save_read(app, "AB12CDF", days=1, camera="gate", source="api"),
        "AB13XYZ": save_read(app, "AB13XYZ", days=2, camera="yard", source="plate-recognizer"),
        "ZZ99ZZZ": save_read(app, "ZZ99ZZZ", days=3, source="cli"),
        "AB12C": save_read(app, "AB12C", days=4, camera="yard", source="web"),
    }


def test_empty_history(client: FlaskClient) -> None:
    html = client.get("/history").get_data(as_text=True)
    assert "0 reads" in html
    assert "Nothing has been read yet." in html


def test_history_lists_newest_first_with_thumbnails(app: Flask, client: FlaskClient) -> None:
    crop = encode_jpeg(np.zeros((20, 60, 3), np.uint8), 90)
    old = save_read(app, "OLD1", days=0)
    new = save_read(app, "NEW1", days=1, crop=crop)
    res = client.get("/history")
    html = res.get_data(as_text=True)
    assert res.status_code == 200
    assert res.headers["Cache-Control"] == "no-store"
    assert read_links(html) == [new, old]
    assert "2 reads" in html
    sha = get_state(app).reads.get(new).plates[0].crop_sha256
    assert f'<img class="thumb" src="/images/{sha}.jpg"' in html
    assert client.get(f"/images/{sha}.jpg").data == crop
    assert '<span class="thumb none"' in html  # the old read has no crop
    assert "2026-03-11 12:00:00 UTC" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("plate=AB12CDE", ["AB12CDE"]),
        ("plate=ab-12 cde&mode=exact", ["AB12CDE"]),
        ("plate=AB12&mode=prefix", ["AB12C", "AB12CDF", "AB12CDE"]),
        ("plate=AB12CD&mode=fuzzy", ["AB12C", "AB12CDF", "AB12CDE"]),  # one character missing or extra
        ("plate=AB12CDX&mode=fuzzy", ["AB12CDF", "AB12CDE"]),  # one changed; AB12C is two off
        ("plate=AB12CDX&mode=fuzzy&distance=2", ["AB12C", "AB12CDF", "AB12CDE"]),
        ("since=2026-03-11&until=2026-03-12", ["AB13XYZ", "AB12CDF"]),  # "until" a date includes that day
        ("since=2026-03-12T12:00:00Z", ["AB12C", "ZZ99ZZZ", "AB13XYZ"]),
        ("camera_id=yard", ["AB12C", "AB13XYZ"]),
        ("source=api", ["AB12CDF"]),
        ("source=web&plate=AB12&mode=prefix", ["AB12C", "AB12CDE"]),
        ("plate=NOPE", []),
    ],
)
def test_search_and_filters(client: FlaskClient, history: dict[str, int], query: str, expected: list[str]) -> None:
    res = client.get(f"/history?{query}")
    html = res.get_data(as_text=True)
    assert res.status_code == 200, text_of(html)
    assert read_links(html) == [history[p] for p in expected]
    assert f"{len(expected)} matching read" in html
    if not expected:
        assert "No read matches this search." in html


def test_search_form_keeps_its_values(client: FlaskClient, history: dict[str, int]) -> None:
    html = client.get("/history?plate=AB12CD&mode=fuzzy&distance=2&camera_id=gate&source=api&watchlist=1"
                      "&since=2026-03-01&until=2026-03-31").get_data(as_text=True)
    assert 'name="plate" type="search" value="AB12CD"' in html
    assert '<option value="fuzzy" selected>' in html
    assert '<option value="2" selected>2</option>' in html
    assert 'name="camera_id" type="text" value="gate"' in html
    assert '<option value="api" selected>api</option>' in html
    assert 'name="watchlist" type="checkbox" value="1" checked' in html
    assert 'value="2026-03-01"' in html and 'value="2026-03-31"' in html  # the date shown, not the day after


def test_alerts_only(app: Flask, client: FlaskClient) -> None:
    save_read(app, "AB12CDE")
    get_state(app).watchlist.add("AB12CDF", "van", 1)
    hit = save_read(app, "AB12CDE", days=1)
    html = client.get("/history?watchlist=1").get_data(as_text=True)
    assert read_links(html) == [hit]
    assert "watchlist alert" in html
    html = client.get("/history").get_data(as_text=True)
    assert '<li class="alert">' in html and html.count('<li class="alert">') == 1


def test_pagination(app: Flask, client: FlaskClient) -> None:
    ids = [save_read(app, f"PG{i:02d}", days=i / 24) for i in range(45)]  # newest is the last one saved
    html = client.get("/history").get_data(as_text=True)
    assert "45 reads" in html and "page 1 of 3" in html
    assert read_links(html) == ids[::-1][:20]
    assert 'href="/history?page=2" rel="next"' in html
    assert 'rel="prev"' not in html
    assert '<a href="/history?page=1" aria-current="page">1</a>' in html
    assert 'aria-label="Page 3">3</a>' in html

    html = client.get("/history?page=2").get_data(as_text=True)
    assert read_links(html) == ids[::-1][20:40]
    assert 'href="/history?page=1" rel="prev"' in html and 'href="/history?page=3" rel="next"' in html

    html = client.get("/history?page=3&per_page=20").get_data(as_text=True)
    assert read_links(html) == ids[::-1][40:]
    assert 'rel="next"' not in html

    # Pages keep the search.
    html = client.get("/history?plate=PG&mode=prefix&per_page=10").get_data(as_text=True)
    assert "page 1 of 5" in html
    assert 'href="/history?plate=PG&amp;mode=prefix&amp;per_page=10&amp;page=2" rel="next"' in html
    assert '<span class="gap" aria-hidden="true">…</span>' in html  # 1 2 3 … 5

    html = client.get("/history?page=9").get_data(as_text=True)
    assert read_links(html) == []  # past the end: an empty page, not an error
    # ... that says so, rather than that nothing was ever read, and links the last page, keeping the search.
    assert "Nothing has been read yet" not in html
    assert "There is no page 9: these reads fill 3 pages." in text_of(html)
    assert '<a href="/history?page=3">Go to the last page</a>' in html
    html = client.get("/history?plate=PG&mode=prefix&per_page=10&page=6").get_data(as_text=True)
    assert "No read matches this search" not in html
    assert '<a href="/history?plate=PG&amp;mode=prefix&amp;per_page=10&amp;page=5">Go to the last page</a>' in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=yesterday", "parameter 'since': must be an ISO 8601 date"),
        ("until=2026-13-45", "parameter 'until': must be an ISO 8601 date"),
        ("since=2026-03-12&until=2026-03-10", "parameter 'until': must be later than 'since'"),
        ("mode=regex", "parameter 'mode': must be one of exact, prefix, fuzzy"),
        ("distance=3", "parameter 'distance': must be a whole number from 1 to 2"),
        ("page=0", "parameter 'page': must be a whole number from 1"),
        ("per_page=500", "parameter 'per_page': must be a whole number from 1 to 100"),
        ("source=fax", "parameter 'source': must be one of web, api, plate-recognizer, cli"),
        ("camera_id=%3Cscript%3E", "parameter 'camera_id': must be 1-128 letters"),
        ("watchlist=perhaps", "parameter 'watchlist': must be true or false"),
        ("plate=" + "A" * 33, "parameter 'plate': must be at most 32 characters"),
        ("until=9999-12-31T23:59:59-05:00", "parameter 'until': '9999-12-31T23:59:59-05:00' is out of range"),
        ("since=0001-01-01T00:00:00%2B05:00", "parameter 'since': '0001-01-01T00:00:00+05:00' is out of range"),
    ],
)
def test_bad_parameters_show_the_message_with_422(
    client: FlaskClient, history: dict[str, int], query: str, message: str
) -> None:
    res = client.get(f"/history?{query}")
    html = res.get_data(as_text=True)
    assert res.status_code == 422
    assert message in text_of(html).replace("&#39;", "'")
    assert 'class="error-message" role="alert"' in html
    assert 'role="search"' in html  # the form is there to fix the search
    assert "<script>" not in html
    assert get_state(client.application).reads.counts()["reads"] == len(history)


def test_the_last_day_there_is_can_end_a_search(client: FlaskClient, history: dict[str, int]) -> None:
    res = client.get("/history?since=2026-03-11&until=9999-12-31")
    assert res.status_code == 200
    assert read_links(res.get_data(as_text=True)) == [history[p] for p in ("AB12C", "ZZ99ZZZ", "AB13XYZ", "AB12CDF")]
