"""The watchlist page: list, add, delete, bad input, and recent alerts."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from numberplate.web import get_state
from tests.web.conftest import PLATE_TEXT
from tests.web.forms import form_token, post_form, read_id, text_of, upload


def test_empty_watchlist(client: FlaskClient) -> None:
    res = client.get("/watchlist")
    html = res.get_data(as_text=True)
    assert res.status_code == 200
    assert "The watchlist is empty." in html
    assert "No read has matched the watchlist yet." in html
    for field in ("watch-plate", "watch-label", "watch-distance"):
        assert f'<label for="{field}">' in html


def test_add_list_and_delete(client: FlaskClient, app: Flask) -> None:
    res = post_form(client, "/watchlist", {"plate": "ab-12 cdf", "label": "stolen van", "max_distance": "2"})
    assert res.status_code == 303 and res.headers["Location"] == "/watchlist"
    html = client.get("/watchlist").get_data(as_text=True)
    assert "AB12CDF is on the watchlist: new reads within 2 characters of it raise an alert." in html
    assert '<span class="plate-chip">AB12CDF</span>' in html and "stolen van" in html
    (entry,) = get_state(app).watchlist.list()
    assert (entry.plate, entry.label, entry.max_distance) == ("AB12CDF", "stolen van", 2)

    res = post_form(client, f"/watchlist/{entry.id}/delete")
    assert res.status_code == 303
    assert "AB12CDF was removed from the watchlist." in client.get("/watchlist").get_data(as_text=True)
    assert get_state(app).watchlist.list() == []
    assert post_form(client, f"/watchlist/{entry.id}/delete").status_code == 404


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"plate": "", "label": "x"}, "parameter 'plate': is required"),
        ({"plate": "--"}, "plate '--' must have 1 to 16 letters or digits"),
        ({"plate": "A" * 17}, "must have 1 to 16 letters or digits"),
        ({"plate": "AB12CDE", "max_distance": "3"}, "parameter 'max_distance': must be a whole number from 0 to 2"),
        ({"plate": "AB12CDE", "max_distance": "one"}, "parameter 'max_distance': must be a whole number"),
        ({"plate": "AB12CDE", "label": "x" * 201}, "label must be at most 200 characters"),
        ({"plate": "zz 99 zzz"}, "ZZ99ZZZ is already on the watchlist"),
    ],
)
def test_bad_input_shows_the_form_again_with_422(
    client: FlaskClient, app: Flask, form: dict[str, str], message: str
) -> None:
    get_state(app).watchlist.add("ZZ99ZZZ", "kept", 0)
    res = post_form(client, "/watchlist", form)
    html = res.get_data(as_text=True)
    assert res.status_code == 422
    assert message in text_of(html).replace("&#39;", "'")
    assert 'class="error-message" role="alert"' in html
    assert f'name="plate" type="text" value="{form["plate"]}"' in html  # what was typed is kept
    assert [(w.plate, w.label) for w in get_state(app).watchlist.list()] == [("ZZ99ZZZ", "kept")]


def test_add_needs_the_csrf_token(client: FlaskClient, app: Flask) -> None:
    form_token(client)
    res = client.post("/watchlist", data={"plate": "AB12CDE", "csrf_token": "forged"})
    assert res.status_code == 400
    assert get_state(app).watchlist.list() == []


def test_recent_alerts(client: FlaskClient, app: Flask, car_jpeg: bytes) -> None:
    read_id(upload(client, car_jpeg))  # before the plate is listed: no alert
    post_form(client, "/watchlist", {"plate": "AB12CDF", "label": "van", "max_distance": "1"})
    hit = read_id(upload(client, car_jpeg))
    html = client.get("/watchlist").get_data(as_text=True)
    alerts = html.split('id="alerts-heading"', 1)[1]
    assert f'href="/reads/{hit}"' in alerts
    assert 'href="/reads/1"' not in alerts
    assert f"{PLATE_TEXT}" in alerts and "matches AB12CDF “<bdi>van</bdi>”" in alerts


def test_deleting_an_id_beyond_64_bits_is_404(client: FlaskClient) -> None:
    res = post_form(client, "/watchlist/99999999999999999999999/delete")
    assert res.status_code == 404
