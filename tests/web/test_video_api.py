"""POST /api/v1/read-video: plates of an uploaded video, stored as reads of their best frames; every bad upload."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from numberplate.imaging import load_image
from numberplate.web import get_state
from tests.video.clips import empty, passing_car, write_clip
from tests.web.conftest import PLATE_TEXT, RUNNER_UP, auth_for, stored_count
from tests.web.openapi_check import check

URL = "/api/v1/read-video"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> bytes:
    """3.5 s at 10 fps: the car with plate CV58VP for 1 s, empty road, the car again."""
    photo = load_image(data_dir / "detect" / "images" / "openlpr" / "10.jpg")
    path = tmp_path_factory.mktemp("video") / "clip.avi"
    return write_clip(path, passing_car(photo, 10) + empty(15) + passing_car(photo, 10, shift=30)).read_bytes()


def post_video(client: FlaskClient, data: bytes, headers: dict[str, str], name: str = "clip.avi",
               **fields: str) -> object:
    form = {"video": (io.BytesIO(data), name), **fields}
    return client.post(URL, data=form, headers=headers, content_type="multipart/form-data")


def test_a_video_filename_loses_control_and_bidi_characters(app: Flask, client: FlaskClient, clip: bytes) -> None:
    auth = auth_for(app)
    body = post_video(client, clip, auth, name="clip\u202eiva.exe\x1b").get_json()  # type: ignore[attr-defined]
    stored = client.get(f"/api/v1/reads/{body['plates'][0]['read_id']}", headers=auth).get_json()
    assert stored["filename"] == "clipiva.exe"


def test_a_video_gives_each_plate_once_stored_with_its_best_frame(app: Flask, client: FlaskClient,
                                                                  clip: bytes) -> None:
    auth = auth_for(app)
    r = post_video(client, clip, auth, fps="2", camera_id="gate 2", country="gb")
    body = check(r, URL, "post")
    assert r.status_code == 201
    # 10 fps read at 2: every 5th frame, 7 of 35. The fake detector sees a plate in each, so one plate.
    assert (body["width"], body["height"], body["duration_s"], body["frames_read"]) == (640, 360, 3.5, 7)
    (plate,) = body["plates"]
    assert plate["text"] == PLATE_TEXT and plate["frames"] == 7
    assert plate["confidence"] == pytest.approx(0.934, abs=1e-3)
    assert [c["text"] for c in plate["candidates"]] == [PLATE_TEXT, RUNNER_UP]
    assert (plate["first_seen_s"], plate["last_seen_s"]) == (0.0, 3.0)
    stored = check(client.get(f"/api/v1/reads/{plate['read_id']}", headers=auth), "/api/v1/reads/{id}", "get")
    assert stored["source"] == "video" and stored["camera_id"] == "gate 2" and stored["filename"] == "clip.avi"
    assert stored["plates"][0]["text"] == PLATE_TEXT and (stored["width"], stored["height"]) == (640, 360)
    assert client.get(f"/api/v1/images/{plate['crop']}", headers=auth).data[:2] == b"\xff\xd8"
    listed = check(client.get("/api/v1/reads?source=video", headers=auth), "/api/v1/reads", "get")
    assert listed["total"] == 1
    # The spooled upload is gone.
    assert list((Path(get_state(app).config.instance_path) / "tmp").iterdir()) == []


def test_store_off_reads_without_keeping_anything(app: Flask, client: FlaskClient, clip: bytes) -> None:
    r = post_video(client, clip, auth_for(app), store="false")
    body = check(r, URL, "post")
    assert r.status_code == 200 and body["plates"][0]["read_id"] is None and body["plates"][0]["crop"] is None
    assert stored_count(app) == 0


def test_a_watchlisted_plate_in_a_video_raises_the_alert(app: Flask, client: FlaskClient, clip: bytes) -> None:
    auth = auth_for(app)
    client.post("/api/v1/watchlist", json={"plate": PLATE_TEXT, "label": "stolen"}, headers=auth)
    body = check(post_video(client, clip, auth), URL, "post")
    assert [hit["label"] for hit in body["watchlist_hits"]] == ["stolen"]


def test_the_real_models_read_the_plate_in_both_passes(make_app: Callable[..., Flask], clip: bytes) -> None:
    app = make_app(fake=False)
    with app.test_client() as client:
        body = check(post_video(client, clip, auth_for(app), fps="5", ocr="plateocr"), URL, "post")
    assert [(p["text"], p["first_seen_s"]) for p in body["plates"]] == [("CV58VP", 0.0), ("CV58VP", 2.6)]


@pytest.mark.parametrize(
    ("data", "name", "fields", "status", "code"),
    [
        (b"", "empty.avi", {}, 400, "empty_video"),
        (b"not a video at all\n" * 100, "notes.mp4", {}, 400, "video_not_decodable"),
        (None, "clip.avi", {"fps": "0"}, 422, "invalid_parameter"),
        (None, "clip.avi", {"fps": "fast"}, 422, "invalid_parameter"),
        (None, "clip.avi", {"fps": "nan"}, 422, "invalid_parameter"),
        (None, "clip.avi", {"ocr": "nope"}, 422, "invalid_parameter"),
        (None, "clip.avi", {"country": "??"}, 422, "invalid_parameter"),
        (None, "clip.avi", {"country": "zz"}, 422, "invalid_parameter"),
        (None, "clip.avi", {"country": "us-zz"}, 422, "invalid_parameter"),
        (None, "clip.avi", {"camera_id": "<script>"}, 422, "invalid_parameter"),
    ],
)
def test_bad_video_uploads(app: Flask, client: FlaskClient, clip: bytes, data: bytes | None, name: str,
                           fields: dict[str, str], status: int, code: str) -> None:
    r = post_video(client, clip if data is None else data, auth_for(app), name=name, **fields)
    body = check(r, URL, "post")
    assert r.status_code == status and body["error"]["code"] == code
    assert stored_count(app) == 0


def test_missing_field_wrong_content_type_and_no_token(app: Flask, client: FlaskClient, clip: bytes) -> None:
    auth = auth_for(app)
    r = client.post(URL, data={"image": (io.BytesIO(clip), "clip.avi")}, headers=auth,
                    content_type="multipart/form-data")
    assert check(r, URL, "post")["error"]["code"] == "missing_video" and r.status_code == 400
    r = client.post(URL, json={"video": "AAAA"}, headers=auth)
    assert r.status_code == 415 and check(r, URL, "post")["error"]["code"] == "unsupported_media_type"
    r = post_video(client, clip, {})
    assert r.status_code == 401


def test_too_long_and_too_large_videos_get_413(make_app: Callable[..., Flask], clip: bytes) -> None:
    app = make_app(max_video_seconds=2.0)
    with app.test_client() as client:
        r = post_video(client, clip, auth_for(app))
        body = check(r, URL, "post")
    assert r.status_code == 413 and body["error"]["code"] == "video_too_long"
    assert "lasts 3.5 s; the limit is 2 s" in body["error"]["message"]
    assert stored_count(app) == 0
    app = make_app(max_video_mb=0.01, max_upload_mb=16.0)
    with app.test_client() as client:
        r = post_video(client, clip, auth_for(app))
        body = check(r, URL, "post")
    assert r.status_code == 413 and body["error"]["code"] == "upload_too_large"
    assert "smaller video" in body["error"]["message"]
    # A video has its own limit: far over the photo limit is fine.
    app = make_app(max_upload_mb=0.01)
    with app.test_client() as client:
        assert len(clip) > 0.01 * 1024 * 1024
        assert post_video(client, clip, auth_for(app)).status_code == 201


def test_a_slow_frame_rate_video_is_held_to_the_length_limit(make_app: Callable[..., Flask], tmp_path: Path) -> None:
    # One frame every 2 s, 8 s in all: it was taken to run at 25 fps (0.16 s) and passed a 2 s limit.
    slow = write_clip(tmp_path / "dvr.avi", empty(4), fps=0.5).read_bytes()
    app = make_app(max_video_seconds=2.0)
    with app.test_client() as client:
        r = post_video(client, slow, auth_for(app), name="dvr.avi")
        body = check(r, URL, "post")
    assert r.status_code == 413 and "lasts 8.0 s; the limit is 2 s" in body["error"]["message"]


def test_lookup_runs_once_per_plate_not_once_per_frame(app: Flask, client: FlaskClient, clip: bytes) -> None:
    state = get_state(app)
    state.vehicles.upsert({"plate": PLATE_TEXT, "country": "gb", "make": "Ford", "model": "Focus", "colour": "Blue"})
    calls: list[str] = []
    lookup = state.get_lookup()
    original = lookup.lookup

    def counting(plate: str, country: str | None = None) -> object:
        calls.append(plate)
        return original(plate, country)

    lookup.lookup = counting  # type: ignore[method-assign]
    body = check(post_video(client, clip, auth_for(app), lookup="true", country="gb"), URL, "post")
    (plate,) = body["plates"]
    assert (plate["vehicle"]["make"], plate["vehicle"]["colour"]) == ("Ford", "Blue") and plate["lookup_error"] is None
    assert calls == [PLATE_TEXT]  # 7 frames read, one lookup
    stored = client.get(f"/api/v1/reads/{plate['read_id']}", headers=auth_for(app)).get_json()
    assert stored["plates"][0]["vehicle"]["model"] == "Focus"


def test_a_still_image_is_415_pointing_to_the_photo_endpoint(app: Flask, client: FlaskClient, data_dir: Path) -> None:
    photo = (data_dir / "detect" / "images" / "openlpr" / "10.jpg").read_bytes()
    form = {"video": (io.BytesIO(photo), "clip.mp4", "video/mp4")}
    r = client.post(URL, data=form, headers=auth_for(app), content_type="multipart/form-data")
    body = check(r, URL, "post")
    assert r.status_code == 415 and body["error"]["code"] == "image_not_video"
    assert body["error"]["message"] == ("clip.mp4 is a still image, not a video: POST it to /api/v1/read as the "
                                        "multipart file field 'image'")
    assert stored_count(app) == 0


def test_content_sniffing_tells_photos_from_videos(clip: bytes, data_dir: Path) -> None:
    from PIL import Image

    from numberplate.web.service import media_kind

    photo = (data_dir / "detect" / "images" / "openlpr" / "10.jpg").read_bytes()
    images = [photo]
    for fmt in ("PNG", "WEBP", "HEIF", "BMP", "TIFF", "GIF"):
        out = io.BytesIO()
        Image.open(io.BytesIO(photo)).save(out, format=fmt)
        images.append(out.getvalue())
    assert [media_kind(data[:512]) for data in images] == ["image"] * 7
    mp4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"
    mov = b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  "
    ts = (b"\x47" + bytes(187)) * 3
    assert [media_kind(v) for v in (clip[:512], mp4, mov, b"\x1a\x45\xdf\xa3\x01", ts)] == ["video"] * 5
    assert media_kind(b"not a video at all\n" * 30) is None and media_kind(b"") is None


def test_a_truncated_upload_says_where_it_ends(app: Flask, client: FlaskClient, clip: bytes) -> None:
    # The frames before the damage are read and stored; the answer says the file ended early (it was silent).
    r = post_video(client, clip[: len(clip) // 2], auth_for(app), name="cut.avi", fps="10")
    body = check(r, URL, "post")
    assert r.status_code == 201 and 0 < body["frames_read"] < 35
    (warning,) = body["warnings"]
    assert warning.startswith(f"cut.avi: video ended at frame {body['frames_read']} of 35: the file is damaged after")
    assert check(post_video(client, clip, auth_for(app)), URL, "post")["warnings"] == []
