"""Uploading one or several photos, the read page (photo, plates, vehicle, watchlist alert), images, deleting."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from numberplate.web import get_state
from tests.web.conftest import PLATE_TEXT
from tests.web.forms import form_token, post_form, read_id, text_of, upload, upload_many

MakeApp = Callable[..., Flask]
IMAGE_RE = re.compile(r'(?:href|src)="/images/([0-9a-f]{64})\.jpg"')


def stored_files(app: Flask) -> list[Path]:
    return sorted((Path(get_state(app).config.instance_path) / "images").glob("**/*.jpg"))


def test_an_uploaded_filename_loses_control_and_bidi_characters(client: FlaskClient, app: Flask,
                                                                car_jpeg: bytes) -> None:
    res = upload(client, car_jpeg, "rlo\u202egpj.exe\x00")
    assert res.status_code == 303
    assert get_state(app).reads.get(read_id(res)).filename == "rlogpj.exe"
    assert "\u202e" not in client.get(res.headers["Location"]).get_data(as_text=True)


def test_right_to_left_names_are_isolated_from_the_text_around_them(
    make_app: MakeApp, car_jpeg: bytes
) -> None:
    # Without isolation an Arabic file name takes the digits after it into its run: "200 × 100 pixels" showed
    # as "100 × 200", and a camera id and a file name side by side swapped places.
    app = make_app()
    get_state(app).watchlist.add(PLATE_TEXT, "سيارة مسروقة", 1)
    client = app.test_client()
    res = upload(client, car_jpeg, "سيارة الأمن.jpg", camera_id="بوابة 3")
    for page in (res.headers["Location"], "/history"):
        html = client.get(page).get_data(as_text=True)
        assert "<bdi>سيارة الأمن.jpg</bdi>" in html and "<bdi>بوابة 3</bdi>" in html, page
    for page in (res.headers["Location"], "/watchlist"):  # the label of the entry the read matched
        assert "<bdi>سيارة مسروقة</bdi>" in client.get(page).get_data(as_text=True), page
    html = upload(make_app(store_reads=False).test_client(), car_jpeg, "سيارة.jpg").get_data(as_text=True)
    assert html.count("<bdi>سيارة.jpg</bdi>") == 1


def test_several_photos_give_a_summary_linking_each_read(client: FlaskClient, app: Flask, car_jpeg: bytes) -> None:
    res = upload_many(client, [(car_jpeg, "front.jpg"), (car_jpeg, "back.jpg")])
    assert res.status_code == 303
    assert res.headers["Location"] == "/reads/batch?ids=1,2"
    page = client.get(res.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "2 photos read" in html
    assert 'href="/reads/1"' in html and 'href="/reads/2"' in html
    assert "front.jpg" in html and "back.jpg" in html
    assert html.count(PLATE_TEXT) == 2
    assert [get_state(app).reads.get(i).filename for i in (1, 2)] == ["front.jpg", "back.jpg"]
    assert get_state(app).reads.counts() == {"reads": 2, "plates": 2}


def test_a_bad_photo_among_several_is_reported_and_the_others_kept(
    client: FlaskClient, app: Flask, car_jpeg: bytes
) -> None:
    res = upload_many(client, [(car_jpeg, "car.jpg"), (b"not a photo", "notes.txt"), (b"", "empty.jpg")])
    assert res.status_code == 303
    assert res.headers["Location"] == "/reads/batch?ids=1"
    html = client.get(res.headers["Location"]).get_data(as_text=True)
    assert "notes.txt: " in html and "is not an image" in html
    assert "empty.jpg: The file empty.jpg is empty" in html
    assert 'role="alert"' in html
    assert get_state(app).reads.counts()["reads"] == 1


def test_the_upload_script_is_told_where_to_go_and_the_reasons_wait_for_that_page(
    client: FlaskClient, car_jpeg: bytes
) -> None:
    # upload.js posts by XMLHttpRequest, which follows a redirect itself: the page it fetched would take the
    # flashed reasons out of the session before the browser opened it. It asks for JSON and gets the location.
    form = {"csrf_token": form_token(client), "image": [(io.BytesIO(car_jpeg), "car.jpg"),
                                                        (io.BytesIO(b"not a photo"), "notes.jpg")]}
    res = client.post("/read", data=form, content_type="multipart/form-data",
                      headers={"Accept": "application/json, text/html;q=0.5"})
    assert res.status_code == 200
    assert res.get_json() == {"location": "/reads/batch?ids=1"}
    html = client.get("/reads/batch?ids=1").get_data(as_text=True)
    assert "notes.jpg: notes.jpg is not an image" in html
    assert "1 photo read" in html


def test_many_bad_photos_are_summed_up(client: FlaskClient, car_jpeg: bytes) -> None:
    files = [(car_jpeg, "car.jpg")] + [(b"junk", f"junk{i}.txt") for i in range(8)]
    html = client.get(upload_many(client, files).headers["Location"]).get_data(as_text=True)
    assert html.count("is not an image") == 5
    assert "3 more photos could not be read either." in html


def test_several_photos_none_readable_is_the_first_error(client: FlaskClient, app: Flask) -> None:
    res = upload_many(client, [(b"not a photo", "a.txt"), (b"P6\n2 2\n255\n" + bytes(12), "b.ppm")])
    assert res.status_code == 400
    assert "a.txt is not an image" in res.get_data(as_text=True)
    assert get_state(app).reads.counts()["reads"] == 0


def test_several_photos_without_storing_are_shown_together(make_app: MakeApp, car_jpeg: bytes) -> None:
    client = make_app(store_reads=False).test_client()
    res = upload_many(client, [(car_jpeg, "one.jpg"), (car_jpeg, "two.jpg")])
    html = res.get_data(as_text=True)
    assert res.status_code == 200
    assert "2 photos read" in html
    assert "<bdi>one.jpg</bdi>: 1 plate found" in html and "<bdi>two.jpg</bdi>: 1 plate found" in html


@pytest.mark.parametrize("ids", ["", "a,b", "1,,x", ",".join(["1"] * 51), "%C2%B2", "1,99999999999999999999999",
                                 "0", "-1"])
def test_batch_page_rejects_bad_ids(client: FlaskClient, ids: str) -> None:
    res = client.get(f"/reads/batch?ids={ids}")
    assert res.status_code == 422
    assert "parameter &#39;ids&#39;" in res.get_data(as_text=True)


def test_batch_page_notes_a_deleted_read(client: FlaskClient, car_jpeg: bytes) -> None:
    read_id(upload(client, car_jpeg))
    html = client.get("/reads/batch?ids=1,7").get_data(as_text=True)
    assert 'href="/reads/1"' in html
    assert "Read 7" in html and "This read has been deleted." in html


def test_read_page_of_an_unknown_read_is_404(client: FlaskClient) -> None:
    res = client.get("/reads/42")
    html = res.get_data(as_text=True)
    assert res.status_code == 404
    assert "there is no read with id 42" in html
    assert "Back to the start page" in html and 'name="image"' not in html  # no upload form on a 404


def test_images_are_served_privately_and_unknown_ones_are_404(
    client: FlaskClient, app: Flask, car_jpeg: bytes
) -> None:
    html = client.get(f"/reads/{read_id(upload(client, car_jpeg))}").get_data(as_text=True)
    shas = IMAGE_RE.findall(html)
    assert len(shas) == 2  # the photo and the crop
    for sha in shas:
        res = client.get(f"/images/{sha}.jpg")
        assert res.status_code == 200
        assert res.mimetype == "image/jpeg"
        assert res.data == get_state(app).files.get(sha)
        assert res.headers["Cache-Control"].startswith("private")
    for bad in ("0" * 64, "ABC", shas[0].upper(), shas[0][:-1], "..%2F..%2Fsecret_key"):
        res = client.get(f"/images/{bad}.jpg")
        assert res.status_code == 404, bad
    assert client.get(f"/images/{shas[0]}").status_code == 404  # the .jpg is part of the name


def test_watchlist_alert_on_the_read_page(client: FlaskClient, app: Flask, car_jpeg: bytes) -> None:
    html = client.get(f"/reads/{read_id(upload(client, car_jpeg))}").get_data(as_text=True)
    assert "Watchlist alert" not in html and 'role="alert"' not in html

    get_state(app).watchlist.add("AB12CDF", "stolen van", 1)
    html = client.get(f"/reads/{read_id(upload(client, car_jpeg))}").get_data(as_text=True)
    banner = re.search(r'<section class="alert-banner" role="alert".*?</section>', html, re.S)
    assert banner, html
    text = text_of(banner.group(0))
    assert "Watchlist alert" in text
    assert f"{PLATE_TEXT} matches watchlist entry AB12CDF “ stolen van ” (1 character different)" in text
    assert '<rect class="plate-box alert"' in html


def test_read_page_shows_vehicle_details_from_the_lookup(
    client: FlaskClient, app: Flask, car_jpeg: bytes
) -> None:
    get_state(app).vehicles.upsert({
        "plate": PLATE_TEXT, "make": "FORD", "model": "Focus", "colour": "Blue", "fuel": "Petrol", "year": "2019",
        "engine_size": "1598 cc", "registration_date": "2019-03-01", "tax_status": "Taxed",
        "inspection_status": "Valid", "vin": "WF0XXXGCDX1234567",
    })
    html = client.get(f"/reads/{read_id(upload(client, car_jpeg, lookup='1'))}").get_data(as_text=True)
    text = text_of(html)
    for fact in ("Make FORD", "Model Focus", "Colour Blue", "Fuel Petrol", "Year 2019", "Engine size 1598 cc",
                 "Registration date 2019-03-01", "Tax status Taxed", "Inspection (MOT) status Valid",
                 "VIN WF0XXXGCDX1234567", "Source local"):
        assert fact in text, fact
    assert "Body" not in text  # fields the registry lacks are left out


def test_read_page_shows_why_a_lookup_failed(client: FlaskClient, car_jpeg: bytes) -> None:
    html = client.get(f"/reads/{read_id(upload(client, car_jpeg, lookup='1'))}").get_data(as_text=True)
    assert "Vehicle lookup failed:" in html
    assert "not in the local vehicle registry" in html


@pytest.mark.parametrize(
    ("lookup_on_read", "fields", "looked_up"),
    [(False, {}, False), (True, {}, True), (True, {"lookup": "0"}, False), (False, {"lookup": ["0", "1"]}, True)],
)
def test_lookup_follows_the_checkbox_and_the_configured_default(
    make_app: MakeApp, car_jpeg: bytes, lookup_on_read: bool, fields: dict[str, object], looked_up: bool
) -> None:
    app = make_app(lookup_on_read=lookup_on_read)
    client = app.test_client()
    assert ('id="lookup" name="lookup" type="checkbox" value="1" checked' in client.get("/").get_data(as_text=True)) \
        == lookup_on_read
    form = {"csrf_token": form_token(client), "image": (io.BytesIO(car_jpeg), "car.jpg"), **fields}
    res = client.post("/read", data=form, content_type="multipart/form-data")
    plate = get_state(app).reads.get(read_id(res)).plates[0]
    assert (plate.lookup_error is not None) == looked_up


def test_bad_lookup_value_is_422(client: FlaskClient, app: Flask, car_jpeg: bytes) -> None:
    res = upload(client, car_jpeg, lookup="maybe")
    assert res.status_code == 422
    assert "parameter &#39;lookup&#39;: must be true or false" in res.get_data(as_text=True)
    assert get_state(app).reads.counts()["reads"] == 0


def test_delete_a_read_removes_it_and_its_files(client: FlaskClient, app: Flask, car_jpeg: bytes) -> None:
    first = read_id(upload(client, car_jpeg))
    assert len(stored_files(app)) == 2
    res = post_form(client, f"/reads/{first}/delete")
    assert res.status_code == 303 and res.headers["Location"] == "/history"
    assert f"Read {first} was deleted" in client.get("/history").get_data(as_text=True)
    assert client.get(f"/reads/{first}").status_code == 404
    assert stored_files(app) == []
    assert post_form(client, f"/reads/{first}/delete").status_code == 404


def test_delete_without_csrf_token_keeps_the_read(client: FlaskClient, app: Flask, car_jpeg: bytes) -> None:
    first = read_id(upload(client, car_jpeg))
    form_token(client)
    res = client.post(f"/reads/{first}/delete", data={"csrf_token": "forged"})
    assert res.status_code == 400
    assert get_state(app).reads.get(first).id == first
    assert len(stored_files(app)) == 2
    assert client.get(f"/reads/{first}/delete").status_code == 405  # deleting needs a POST


def test_add_to_watchlist_button_on_the_read_page(client: FlaskClient, app: Flask, car_jpeg: bytes) -> None:
    html = client.get(f"/reads/{read_id(upload(client, car_jpeg))}").get_data(as_text=True)
    form = re.search(r'<form class="inline-form" method="post" action="/watchlist">(.*?)</form>', html, re.S)
    assert form and f'name="plate" value="{PLATE_TEXT}"' in form.group(1)
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(1)))
    res = client.post("/watchlist", data=fields)
    assert res.status_code == 303
    assert [w.plate for w in get_state(app).watchlist.list()] == [PLATE_TEXT]


TOO_BIG_ID = "99999999999999999999999"


def test_read_ids_beyond_64_bits_are_404(client: FlaskClient, app: Flask, car_jpeg: bytes) -> None:
    read_id(upload(client, car_jpeg))
    for res in (client.get(f"/reads/{TOO_BIG_ID}"), post_form(client, f"/reads/{TOO_BIG_ID}/delete"),
                client.get(f"/reads/{2**63}"), client.get(f"/reads/{2**63 - 1}")):
        assert res.status_code == 404
        assert "Back to the start page" in res.get_data(as_text=True)
    assert post_form(client, f"/reads/{TOO_BIG_ID}/delete", headers={"Accept": "application/json"}).get_json()[
        "error"]["code"] == "not_found"
    assert get_state(app).reads.counts()["reads"] == 1
