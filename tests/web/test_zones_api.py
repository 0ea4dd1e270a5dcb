"""Detection zones on POST /api/v1/read-video and /api/v1/read, each plate's direction of travel, bad zones (422)."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from numberplate.detection.zones import MAX_ZONES
from numberplate.imaging import load_image
from numberplate.pipeline import Reader
from numberplate.web import create_app, get_state
from tests.video.clips import CarFinder, crossing_car, write_clip
from tests.web.conftest import CENTRE_BOX, FakeRecognizer, auth_for, stored_count
from tests.web.openapi_check import check

VIDEO = "/api/v1/read-video"
READ = "/api/v1/read"
RIGHT_HALF = "0.5,0 1,0 1,1 0.5,1"
LEFT_STRIP = "0,0 0.1,0 0.1,1 0,1"
BOTTOM_RIGHT = "0.5,0.5 1,0.5 1,1 0.5,1"  # holds the centre of the fake detector's box (0.5, 0.625)


@pytest.fixture(scope="module")
def crossing(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> bytes:
    """12 frames at 10 fps: a car crossing left to right, its plate past the middle from frame 6 on."""
    photo = load_image(data_dir / "detect" / "images" / "openlpr" / "10.jpg")
    return write_clip(tmp_path_factory.mktemp("zones") / "crossing.avi", crossing_car(photo, 12)).read_bytes()


@pytest.fixture
def car_app(make_config: Callable[..., Any]) -> Flask:
    """An app whose detector finds the crossing car's plate wherever the car is; camera "gate" has the right half
    as its zone (config ``zones``)."""
    config = make_config(zones={"gate": [RIGHT_HALF]})
    app = create_app(config, reader=Reader(detector=CarFinder(), recognizer=FakeRecognizer(), config=config))
    app.config["TESTING"] = True
    return app


def post_video(client: FlaskClient, data: bytes, headers: dict[str, str], **fields: Any) -> Any:
    form = {"video": (io.BytesIO(data), "crossing.avi"), "fps": "10", **fields}
    return client.post(VIDEO, data=form, headers=headers, content_type="multipart/form-data")


def test_a_video_reports_only_the_plates_in_its_zones(car_app: Flask, crossing: bytes) -> None:
    client, auth = car_app.test_client(), auth_for(car_app)
    (whole,) = check(post_video(client, crossing, auth, store="false"), VIDEO, "post")["plates"]
    assert (whole["first_frame"], whole["frames"]) == (0, 12)
    assert (whole["motion"], whole["direction"]) == ("crossing", 0.0)
    r = post_video(client, crossing, auth, zone=RIGHT_HALF)
    (right,) = check(r, VIDEO, "post")["plates"]
    assert r.status_code == 201 and (right["first_frame"], right["last_frame"], right["frames"]) == (6, 11, 6)
    assert stored_count(car_app) == 1
    # Two zones (the field repeated): a plate in either counts; in none: nothing reported, nothing stored.
    (both,) = check(post_video(client, crossing, auth, zone=[LEFT_STRIP, RIGHT_HALF]), VIDEO, "post")["plates"]
    assert both["first_frame"] == 6
    r = post_video(client, crossing, auth, zone=LEFT_STRIP)
    assert r.status_code == 200 and check(r, VIDEO, "post")["plates"] == [] and stored_count(car_app) == 2


def test_a_photo_reads_only_the_plates_in_its_zones(make_app: Callable[..., Flask], car_jpeg: bytes) -> None:
    left_box = (0.05, 0.1, 0.25, 0.2)
    app = make_app(boxes=(CENTRE_BOX, left_box))
    client, auth = app.test_client(), auth_for(app)

    def plates(**fields: Any) -> list[float]:
        form = {"image": (io.BytesIO(car_jpeg), "car.jpg"), "store": "false", **fields}
        body = check(client.post(READ, data=form, headers=auth, content_type="multipart/form-data"), READ, "post")
        return sorted(p["box"]["xmin"] for p in body["plates"])

    width = load_image(car_jpeg).shape[1]
    assert plates() == [round(0.05 * width), round(0.35 * width)]
    assert plates(zone=BOTTOM_RIGHT) == [round(0.35 * width)]
    assert plates(zone=[BOTTOM_RIGHT, "0,0 0.3,0 0.3,0.3 0,0.3"]) == [round(0.05 * width), round(0.35 * width)]
    assert plates(zone=LEFT_STRIP) == []
    body = {"image": base64.b64encode(car_jpeg).decode(), "store": False, "zone": [BOTTOM_RIGHT]}
    r = client.post(READ, json=body, headers=auth)
    assert [p["box"]["xmin"] for p in check(r, READ, "post")["plates"]] == [round(0.35 * width)]


def test_a_videos_camera_zones_apply_unless_it_gives_a_zone(car_app: Flask, crossing: bytes) -> None:
    client, auth = car_app.test_client(), auth_for(car_app)

    def plates(**fields: Any) -> list[tuple[int, int]]:
        body = check(post_video(client, crossing, auth, store="false", **fields), VIDEO, "post")
        return [(p["first_frame"], p["frames"]) for p in body["plates"]]

    assert plates(camera_id="gate") == [(6, 6)]  # the camera's zone: the right half
    assert plates(camera_id=" gate ") == [(6, 6)]  # the camera id as it is stored, spaces removed
    assert plates(camera_id="gate", zone=LEFT_STRIP) == []  # the request's own zone overrides the camera's
    assert plates(camera_id="gate", zone="") == [(6, 6)]  # an empty zone is no zone
    assert plates(camera_id="street") == plates() == [(0, 12)]  # a camera without zones: the whole frame
    r = post_video(client, crossing, auth, camera_id="gate")
    (stored_plate,) = check(r, VIDEO, "post")["plates"]
    assert r.status_code == 201 and stored_plate["first_frame"] == 6
    assert get_state(car_app).reads.get(stored_plate["read_id"]).camera_id == "gate"


def test_a_photos_camera_zones_apply_unless_it_gives_a_zone(make_app: Callable[..., Flask], car_jpeg: bytes) -> None:
    left_box = (0.05, 0.1, 0.25, 0.2)
    app = make_app(boxes=(CENTRE_BOX, left_box), zones={"gate": [BOTTOM_RIGHT], "yard": [LEFT_STRIP]})
    client, auth = app.test_client(), auth_for(app)
    width = load_image(car_jpeg).shape[1]
    centre, left = round(0.35 * width), round(0.05 * width)

    def as_form(**fields: Any) -> list[int]:
        form = {"image": (io.BytesIO(car_jpeg), "car.jpg"), "store": "false", **fields}
        body = check(client.post(READ, data=form, headers=auth, content_type="multipart/form-data"), READ, "post")
        return sorted(p["box"]["xmin"] for p in body["plates"])

    def as_json(**fields: Any) -> list[int]:
        body = {"image": base64.b64encode(car_jpeg).decode(), "store": False, **fields}
        r = client.post(READ, json=body, headers=auth)
        return sorted(p["box"]["xmin"] for p in check(r, READ, "post")["plates"])

    for read in (as_form, as_json):
        assert read(camera_id="gate") == [centre], read
        assert read(camera_id="yard") == [], read  # its zone holds neither plate's centre
        assert read(camera_id="gate", zone=["0,0 0.3,0 0.3,0.3 0,0.3"]) == [left], read  # the request's zone wins
        assert read(camera_id="street") == read() == [left, centre], read  # no zones for this camera: every plate
    assert as_json(camera_id="gate", zone=[]) == as_json(camera_id="gate", zone=None) == [centre]


def test_the_plate_recognizer_drop_in_uses_its_cameras_zones(make_app: Callable[..., Flask], car_jpeg: bytes) -> None:
    app = make_app(zones={"yard": [LEFT_STRIP]})
    client, auth = app.test_client(), auth_for(app)

    def results(**fields: Any) -> int:
        data = {"upload": (io.BytesIO(car_jpeg), "a.jpg"), **fields}
        r = client.post("/v1/plate-reader/", data=data, headers=auth, content_type="multipart/form-data")
        return len(check(r, "/v1/plate-reader/", "post")["results"])

    assert results(camera_id="yard") == 0 and results(camera_id="street") == results() == 1


def test_the_settings_page_shows_the_cameras_zones(make_app: Callable[..., Flask]) -> None:
    from numberplate.web.settings_pages import effective_settings

    app = make_app(zones={"gate": [RIGHT_HALF]})
    (shown,) = [s.value for s in effective_settings(get_state(app).config) if s.name == "zones"]
    assert shown == f'{{"gate": ["{RIGHT_HALF}"]}}'


BAD_ZONES: list[tuple[Any, str]] = [
    ("0,0 1,0", "has 2 point(s)"),
    ("0,0 1,0 nan,1", "'nan' is not a number from 0 to 1"),
    ("0,0 1.2,0 1,1", "'1.2' is not a number from 0 to 1"),
    ("0,0 1,1 1,0 0,1", "crosses itself"),
    ("0,0 0.5,0.5 1,1", "has no area"),
    (" ".join(["0.5,0.5"] * 65), "has 65 point(s)"),
    ([RIGHT_HALF] * (MAX_ZONES + 1), f"{MAX_ZONES + 1} zones given"),
    ([RIGHT_HALF, "0,0 1,0"], "has 2 point(s)"),  # one bad zone among good ones
]


@pytest.mark.parametrize(("zone", "message"), BAD_ZONES)
def test_a_bad_zone_is_a_422_naming_it_before_the_video_is_read(car_app: Flask, crossing: bytes, zone: Any,
                                                                 message: str) -> None:
    client, auth = car_app.test_client(), auth_for(car_app)
    r = post_video(client, crossing, auth, zone=zone)
    error = check(r, VIDEO, "post")["error"]
    assert r.status_code == 422 and error["code"] == "invalid_parameter", error
    assert error["message"].startswith("parameter 'zone': ") and message in error["message"], error
    assert stored_count(car_app) == 0


@pytest.mark.parametrize(("zone", "message"), BAD_ZONES)
def test_a_bad_zone_on_a_photo_is_a_422_naming_it(app: Flask, client: FlaskClient, car_jpeg: bytes, zone: Any,
                                                  message: str) -> None:
    auth = auth_for(app)
    zones = zone if isinstance(zone, list) else [zone]
    form = {"image": (io.BytesIO(car_jpeg), "car.jpg"), "zone": zones}
    as_form = client.post(READ, data=form, headers=auth, content_type="multipart/form-data")
    as_json = client.post(READ, json={"image": base64.b64encode(car_jpeg).decode(), "zone": zones}, headers=auth)
    for r in (as_form, as_json):
        error = check(r, READ, "post")["error"]
        assert r.status_code == 422 and error["message"].startswith("parameter 'zone': "), error
        assert message in error["message"], error
    assert stored_count(app) == 0


@pytest.mark.parametrize("zone", [RIGHT_HALF, 5, True, [5], [RIGHT_HALF, None], {"points": RIGHT_HALF}])
def test_zones_in_json_are_a_list_of_strings(app: Flask, client: FlaskClient, car_jpeg: bytes, zone: Any) -> None:
    r = client.post(READ, json={"image": base64.b64encode(car_jpeg).decode(), "zone": zone}, headers=auth_for(app))
    error = check(r, READ, "post")["error"]
    assert r.status_code == 422 and error["message"].startswith("parameter 'zone': must be a list"), error
