"""The upload page's Zone field: plates outside it are not read, it overrides the camera's zones, a bad one is a
clear error on the page (with and without the page's script) that stores nothing, and the form keeps its CSRF."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from numberplate.config import Config
from numberplate.detection.zones import MAX_ZONES
from numberplate.imaging import load_image
from numberplate.pipeline import Reader
from numberplate.store.reads import ReadQuery
from numberplate.web import create_app, get_state
from tests.video.clips import CarFinder, crossing_car, write_clip
from tests.web.conftest import CENTRE_BOX, FakeRecognizer
from tests.web.forms import form_token, read_id, text_of, upload

MakeApp = Callable[..., Flask]
JSON = {"Accept": "application/json"}
SCRIPT = {"Accept": "application/json, text/html;q=0.5"}  # what upload.js sends
LEFT_BOX = (0.05, 0.1, 0.25, 0.2)  # a second fake plate, top left
BOTTOM_RIGHT = "0.5,0.5 1,0.5 1,1 0.5,1"  # holds the centre of CENTRE_BOX (0.5, 0.625), not LEFT_BOX's
TOP_LEFT = "0,0 0.3,0 0.3,0.3 0,0.3"  # holds LEFT_BOX's centre (0.15, 0.15) only
RIGHT_HALF = "0.5,0 1,0 1,1 0.5,1"
LEFT_STRIP = "0,0 0.1,0 0.1,1 0,1"


@pytest.fixture
def two_plates(make_app: MakeApp) -> Flask:
    """Two fake plates, at the centre and top left; camera "yard" has the top left as its zone."""
    return make_app(boxes=(CENTRE_BOX, LEFT_BOX), zones={"yard": [TOP_LEFT]})


def stored_xmins(app: Flask, response_or_id: TestResponse | int) -> list[int]:
    """The left edges of the plates of the read an upload stored."""
    rid = response_or_id if isinstance(response_or_id, int) else read_id(response_or_id)
    return sorted(p.box["xmin"] for p in get_state(app).reads.get(rid).plates)


def count(app: Flask) -> int:
    return get_state(app).reads.search(ReadQuery()).total


def test_the_form_offers_an_optional_zone_field_with_its_syntax(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert '<textarea id="zone" name="zone"' in html and 'aria-describedby="zone-hint"' in html
    hint = text_of(html.split('id="zone-hint"')[1].split("</p>")[0])
    assert "0.1,0.5 0.9,0.5 0.9,1 0.1,1" in hint and f"up to {MAX_ZONES} lines" in hint
    assert "overrides the zones configured for the camera" in hint


def test_only_the_plates_in_the_zone_are_read_and_stored(two_plates: Flask, car_jpeg: bytes) -> None:
    client = two_plates.test_client()
    width = load_image(car_jpeg).shape[1]
    centre, left = round(0.35 * width), round(0.05 * width)
    assert stored_xmins(two_plates, upload(client, car_jpeg)) == [left, centre]
    assert stored_xmins(two_plates, upload(client, car_jpeg, zone=BOTTOM_RIGHT)) == [centre]
    # One polygon a line (a browser sends CRLF), blank lines ignored: a plate in any counts.
    res = upload(client, car_jpeg, zone=f"{BOTTOM_RIGHT}\r\n\r\n  {TOP_LEFT}  \r\n")
    assert stored_xmins(two_plates, res) == [left, centre]
    # The page's script gets the read's location as JSON, and the zone applied all the same.
    res = upload(client, car_jpeg, zone=TOP_LEFT, headers=SCRIPT)
    assert res.status_code == 200 and res.is_json
    assert stored_xmins(two_plates, int(res.get_json()["location"].rsplit("/", 1)[1])) == [left]
    rid = read_id(upload(client, car_jpeg, zone=LEFT_STRIP))  # no plate there: a read with none
    assert stored_xmins(two_plates, rid) == []
    assert "No plate found" in client.get(f"/reads/{rid}").get_data(as_text=True)


def test_a_zone_overrides_the_cameras_and_without_one_the_cameras_apply(two_plates: Flask, car_jpeg: bytes) -> None:
    client = two_plates.test_client()
    width = load_image(car_jpeg).shape[1]
    centre, left = round(0.35 * width), round(0.05 * width)
    assert stored_xmins(two_plates, upload(client, car_jpeg, camera_id="yard")) == [left]
    assert stored_xmins(two_plates, upload(client, car_jpeg, camera_id="yard", zone="")) == [left]
    assert stored_xmins(two_plates, upload(client, car_jpeg, camera_id="yard", zone=BOTTOM_RIGHT)) == [centre]


def test_the_result_shown_at_once_has_only_the_zones_plates_and_keeps_the_zone(make_app: MakeApp,
                                                                              car_jpeg: bytes) -> None:
    app = make_app(boxes=(CENTRE_BOX, LEFT_BOX), store_reads=False)
    client = app.test_client()
    html = upload(client, car_jpeg, zone=BOTTOM_RIGHT).get_data(as_text=True)
    assert "Plate 1" in html and "Plate 2" not in html
    assert f">{BOTTOM_RIGHT}</textarea>" in html  # the form below offers the same zone again


@pytest.mark.parametrize(
    ("zone", "said"),
    [
        ("0,0 1,0", "Zone: zone '0,0 1,0' has 2 point(s); it needs points 'x,y x,y x,y ...' (3 to 64)"),
        ("0,0 2,0 1,1", "Zone: zone '0,0 2,0 1,1': '2' is not a number from 0 to 1"),
        (f"{BOTTOM_RIGHT}\n0,0 1,1 1,0 0,1", "Zone (line 2): zone '0,0 1,1 1,0 0,1' crosses itself"),
        ("\n".join([BOTTOM_RIGHT] * (MAX_ZONES + 1)),
         f"Zone: {MAX_ZONES + 1} zones were given; give at most {MAX_ZONES}, one polygon a line."),
    ],
    ids=["two-points", "out-of-range", "second-line-crosses", "too-many"],
)
def test_a_bad_zone_is_a_clear_error_on_the_page_and_stores_nothing(two_plates: Flask, car_jpeg: bytes, zone: str,
                                                                    said: str) -> None:
    client = two_plates.test_client()
    # Without the script: the form's own POST gets the error page, with the form and the zone offered again.
    res = upload(client, car_jpeg, zone=zone)
    html = res.get_data(as_text=True)
    assert res.status_code == 422 and res.mimetype == "text/html"
    message = text_of(html.split('class="error-message" role="alert">')[1].split("</p>")[0])
    assert message.startswith(said.replace("'", "&#39;")), message
    assert 'name="image"' in html and f">{zone}</textarea>" in html
    # With the script (it asks for JSON and shows error.message in the form): the same message.
    for headers in (SCRIPT, JSON):
        res = upload(client, car_jpeg, zone=zone, headers=headers)
        assert res.status_code == 422 and res.is_json
        assert res.get_json()["error"]["code"] == "invalid_parameter"
        assert res.get_json()["error"]["message"].startswith(said)
    assert count(two_plates) == 0


def test_a_bad_zone_stops_a_several_photo_upload_before_any_is_read(two_plates: Flask, car_jpeg: bytes) -> None:
    client = two_plates.test_client()
    form = {"csrf_token": form_token(client), "zone": "0,0 1,0",
            "image": [(io.BytesIO(car_jpeg), "a.jpg"), (io.BytesIO(car_jpeg), "b.jpg")]}
    res = client.post("/read", data=form, content_type="multipart/form-data")
    assert res.status_code == 422 and "has 2 point(s)" in res.get_data(as_text=True)
    assert count(two_plates) == 0
    assert get_state(two_plates).get_reader().recognizer.calls == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("token", ["", "forged-token"])
def test_the_zone_field_does_not_bypass_the_csrf_check(two_plates: Flask, car_jpeg: bytes, token: str) -> None:
    client = two_plates.test_client()
    form_token(client)
    for zone in (BOTTOM_RIGHT, "0,0 1,0"):  # a good zone reads nothing either; a bad one is the CSRF error first
        res = upload(client, car_jpeg, token=token, zone=zone, headers=JSON)
        assert res.status_code == 400 and res.get_json()["error"]["code"] == "csrf_failed"
    assert count(two_plates) == 0


@pytest.fixture(scope="module")
def crossing(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> bytes:
    """12 frames at 2 fps (the rate the page reads videos at): a car crossing left to right, its plate past the
    middle from frame 6 on."""
    photo = load_image(data_dir / "detect" / "images" / "openlpr" / "10.jpg")
    path = tmp_path_factory.mktemp("page-zones") / "crossing.avi"
    return write_clip(path, crossing_car(photo, 12), fps=2.0).read_bytes()


def test_a_video_upload_reads_only_the_plates_in_its_zone(make_config: Callable[..., Config],
                                                          crossing: bytes) -> None:
    config = make_config()
    app = create_app(config, reader=Reader(detector=CarFinder(), recognizer=FakeRecognizer(), config=config))
    app.config["TESTING"] = True
    client = app.test_client()
    res = upload(client, crossing, "crossing.avi", zone=LEFT_STRIP)  # the plate never passes there
    assert res.status_code == 303 and res.headers["Location"] == "/"
    assert "No plate was found in crossing.avi" in client.get("/").get_data(as_text=True)
    assert count(app) == 0
    rid = read_id(upload(client, crossing, "crossing.avi", zone=RIGHT_HALF))
    (plate,) = get_state(app).reads.get(rid).plates
    assert plate.box["xmin"] + plate.box["xmax"] >= get_state(app).reads.get(rid).width  # its centre is right of middle
