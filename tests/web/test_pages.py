"""The upload form, reading uploads (stored or shown at once), upload errors, CSRF, headers, the app factory."""

from __future__ import annotations

import base64
import io
import re
import stat
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from numberplate.store.reads import ReadQuery
from numberplate.web import get_state
from numberplate.web.security import CONTENT_SECURITY_POLICY
from tests.web.forms import form_token, read_id, upload

PLATE_TEXT, RUNNER_UP = "AB12CDE", "A812CDE"  # what conftest's FakeRecognizer reads
JSON = {"Accept": "application/json"}
MakeApp = Callable[..., Flask]
DATA_URI_RE = re.compile(r'src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)"')


def images_in(html: str) -> list[Image.Image]:
    return [Image.open(io.BytesIO(base64.b64decode(m))) for m in DATA_URI_RE.findall(html)]


def test_index_shows_an_accessible_upload_form(client: FlaskClient) -> None:
    res = client.get("/")
    html = res.get_data(as_text=True)
    assert res.status_code == 200
    assert 'enctype="multipart/form-data"' in html
    assert 'action="/read"' in html
    assert 'accept="image/*,video/*"' in html and 'accept="image/*"' in html  # gallery and camera
    assert 'capture="environment"' in html
    for input_id in ("image", "camera", "country"):
        assert f'<label for="{input_id}"' in html and f'id="{input_id}"' in html
    assert 'name="csrf_token"' in html
    assert "16 MB each" in html and "200 MB" in html
    assert "/static/style.css" in html and "//" not in html.split("/static/style.css")[0].rsplit('"', 1)[-1]


def test_static_stylesheet_is_served(client: FlaskClient) -> None:
    res = client.get("/static/style.css")
    assert res.status_code == 200
    assert "text/css" in res.content_type
    assert b".camera-only" in res.data


def test_upload_stores_the_read_and_shows_its_page(client: FlaskClient, app: Flask, car_jpeg: bytes) -> None:
    res = upload(client, car_jpeg, country="GB")
    assert res.status_code == 303
    assert res.headers["Location"] == "/reads/1"
    page = client.get("/reads/1")
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert "1 plate found" in html
    assert PLATE_TEXT in html and RUNNER_UP in html
    assert "93.4%" in html  # reading confidence
    assert "87.0%" in html  # detection confidence
    assert "<dd>GB</dd>" in html
    assert "600 × 450 pixels" in html
    assert "car.jpg" in html
    assert page.headers["Cache-Control"] == "no-store"

    # The stored photo as uploaded, with the plate outlined by an SVG rectangle over it.
    photo_url, crop_url = re.findall(r'(?:href|src)="(/images/[0-9a-f]{64}\.jpg)"', html)
    photo = Image.open(io.BytesIO(client.get(photo_url).data))
    assert photo.format == "JPEG" and photo.size == (600, 450)
    assert re.search(r'<rect class="plate-box" x="210" y="248"\s+width="180" height="67"/>', html)
    # The crop is the fake box (0.35-0.65 x 0.55-0.7 of 600x450) with the crop's small padding.
    crop = Image.open(io.BytesIO(client.get(crop_url).data))
    assert crop.format == "JPEG"
    assert 180 <= crop.width <= 200 and 67 <= crop.height <= 80
    assert f'alt="Close-up of plate 1, read as {PLATE_TEXT}"' in html

    recognizer = get_state(app).get_reader().recognizer
    assert recognizer.calls[-1][1] == "gb"  # type: ignore[attr-defined]
    assert get_state(app).reads.get(1).plates[0].text == PLATE_TEXT


def test_upload_without_storing_shows_the_result_at_once(make_app: MakeApp, car_jpeg: bytes) -> None:
    app = make_app(store_reads=False)
    client = app.test_client()
    res = upload(client, car_jpeg, country="GB")
    html = res.get_data(as_text=True)
    assert res.status_code == 200, html
    assert "1 plate found" in html
    assert PLATE_TEXT in html and RUNNER_UP in html
    assert "93.4%" in html  # reading confidence
    assert "87.0%" in html  # detection confidence
    assert "<dd>GB</dd>" in html
    assert "600 × 450 pixels" in html
    assert res.headers["Cache-Control"] == "no-store"
    assert "Photos are read in memory and not stored" in html

    photo, crop = images_in(html)
    assert photo.format == "JPEG" and photo.size == (600, 450)
    # The crop is the fake box (0.35-0.65 x 0.55-0.7 of 600x450) with the crop's small padding.
    assert crop.format == "JPEG"
    assert 180 <= crop.width <= 200 and 67 <= crop.height <= 80
    assert f'alt="Close-up of plate 1, read as {PLATE_TEXT}"' in html

    # The photo shown is annotated: it differs from the upload inside the plate box's outline.
    original = np.asarray(Image.open(io.BytesIO(car_jpeg)).convert("RGB"), np.int16)
    shown = np.asarray(photo.convert("RGB"), np.int16)
    assert np.abs(shown - original)[int(0.55 * 450) - 2: int(0.55 * 450) + 2, 230:370].mean() > 40

    recognizer = get_state(app).get_reader().recognizer
    assert recognizer.calls[-1][1] == "gb"  # type: ignore[attr-defined]
    assert get_state(app).reads.counts() == {"reads": 0, "plates": 0}
    assert not list((Path(get_state(app).config.instance_path) / "images").glob("**/*.jpg"))


def test_post_to_root_reads_too(client: FlaskClient, car_jpeg: bytes) -> None:
    res = upload(client, car_jpeg, url="/")
    assert read_id(res) == 1
    assert PLATE_TEXT in client.get("/reads/1").get_data(as_text=True)


def test_big_photo_is_shrunk_for_display(make_app: MakeApp) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (3200, 1800), (90, 120, 150)).save(buf, "JPEG")
    res = upload(make_app(store_reads=False).test_client(), buf.getvalue())
    assert res.status_code == 200
    photo, _ = images_in(res.get_data(as_text=True))
    assert photo.size == (1600, 900)
    assert "3200 × 1800 pixels" in res.get_data(as_text=True)


def test_no_plate_found_message(make_app: MakeApp, car_jpeg: bytes) -> None:
    app = make_app(boxes=(), store_reads=False)
    res = upload(app.test_client(), car_jpeg)
    html = res.get_data(as_text=True)
    assert res.status_code == 200
    assert "No plate found" in html
    assert "No number plate was found in this photo" in html
    assert len(images_in(html)) == 1  # the photo, no crops

    client = make_app(boxes=()).test_client()  # stored: the read page says the same
    html = client.get(f"/reads/{read_id(upload(client, car_jpeg))}").get_data(as_text=True)
    assert "No plate found" in html
    assert "No number plate was found in this photo" in html
    assert 'class="crop"' not in html and "<rect" not in html


@pytest.mark.parametrize(
    ("filename", "data", "status", "code", "message"),
    [
        ("empty.jpg", b"", 400, "empty_file", "The file empty.jpg is empty"),
        ("notes.txt", b"this is not a photo\n", 400, "image_not_decodable", "notes.txt is not an image"),
        ("truncated.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF", 400, "image_not_decodable", "truncated.jpg is"),
        ("photo.ppm", b"P6\n2 2\n255\n" + bytes(12), 415, "unsupported_image", "photo.ppm is a PPM image"),
    ],
)
def test_bad_uploads_get_a_clear_error(
    client: FlaskClient, app: Flask, filename: str, data: bytes, status: int, code: str, message: str
) -> None:
    res = upload(client, data, filename)
    html = res.get_data(as_text=True)
    assert res.status_code == status
    assert message in html
    assert f"({code})" in html
    assert 'name="image"' in html  # the form is offered again
    assert get_state(app).reads.counts()["reads"] == 0

    res = upload(client, data, filename, headers=JSON)
    assert res.status_code == status
    assert res.get_json()["error"]["code"] == code
    assert message in res.get_json()["error"]["message"]


def test_missing_file_is_400(client: FlaskClient) -> None:
    res = upload(client, None)
    assert res.status_code == 400
    assert "No photo was uploaded" in res.get_data(as_text=True)
    # A form submitted with no file chosen sends an empty part with an empty file name.
    res = upload(client, b"", filename="")
    assert res.status_code == 400
    assert "No photo was uploaded" in res.get_data(as_text=True)


@pytest.mark.parametrize("country", ["Britain", "zz", "us-zz", "gb-1"])
@pytest.mark.parametrize("boxes", [None, ()], ids=["plate", "no plate"])
def test_unknown_country_is_422_listing_the_known_codes(make_app: MakeApp, car_jpeg: bytes, country: str,
                                                        boxes: tuple[()] | None) -> None:
    app = make_app() if boxes is None else make_app(boxes=boxes)
    client = app.test_client()
    res = upload(client, car_jpeg, country=country, headers=JSON)
    assert res.status_code == 422 and res.get_json()["error"]["code"] == "invalid_parameter"
    message = res.get_json()["error"]["message"]
    assert message.startswith("parameter 'country': ") and "known codes: " in message
    html = upload(client, car_jpeg, country=country).get_data(as_text=True)
    assert "known codes: " in html and 'name="image"' in html  # the form is offered again
    assert get_state(app).reads.counts()["reads"] == 0


def test_the_page_takes_the_country_codes_the_api_takes(client: FlaskClient, app: Flask, car_jpeg: bytes) -> None:
    for country in ("US-CA", "uk", "auto", ""):
        assert upload(client, car_jpeg, country=country).status_code == 303
    calls = get_state(app).get_reader().recognizer.calls  # type: ignore[attr-defined]
    assert [country for _, country in calls] == ["us-ca", "uk", "auto", "auto"]
    assert 'pattern="[A-Za-z]{2}(-[A-Za-z0-9]{1,3})?"' in client.get("/").get_data(as_text=True)


def test_camera_id_on_the_page_is_checked_like_on_the_api(client: FlaskClient, app: Flask, car_jpeg: bytes) -> None:
    assert read_id(upload(client, car_jpeg, camera_id=" gate 1 ")) == 1
    assert get_state(app).reads.get(1).camera_id == "gate 1"
    res = upload(client, car_jpeg, camera_id="<script>", headers=JSON)
    assert res.status_code == 422 and res.get_json()["error"]["message"].startswith("parameter 'camera_id': ")
    assert get_state(app).reads.counts()["reads"] == 1


def test_upload_over_the_size_limit_is_413(make_app: MakeApp, car_jpeg: bytes) -> None:
    app = make_app(max_upload_mb=0.02)  # 20 KiB; the photo is 35 KB
    assert app.config["MAX_CONTENT_LENGTH"] == int(0.02 * 1024 * 1024)
    client = app.test_client()
    res = upload(client, car_jpeg)
    assert res.status_code == 413
    assert "larger than the 0.02 MB limit" in res.get_data(as_text=True)
    assert get_state(app).reads.search(ReadQuery()).total == 0
    res = upload(client, car_jpeg, headers=JSON)
    assert res.status_code == 413
    assert res.get_json()["error"]["code"] == "upload_too_large"


@pytest.mark.parametrize(
    ("fields", "said", "not_said"),
    [
        ({f"f{i}": "x" for i in range(1100)}, "more than 1000 parts", "text field"),
        ({"note": "x" * 600_000}, "a text field longer than 500 KB", "MB limit"),
    ],
    ids=["too-many-fields", "one-long-field"],
)
def test_a_form_over_its_limits_is_413_saying_which(client: FlaskClient, car_jpeg: bytes, fields: dict[str, str],
                                                    said: str, not_said: str) -> None:
    res = upload(client, car_jpeg, headers=JSON, **fields)
    assert res.status_code == 413
    error = res.get_json()["error"]
    assert error["code"] == "form_too_large" and said in error["message"]
    assert not_said not in error["message"] and "200 MB" not in error["message"]


def test_image_over_the_pixel_limit_is_413(make_app: MakeApp, car_jpeg: bytes) -> None:
    client = make_app(max_image_pixels=100_000).test_client()  # the photo has 270,000 pixels
    res = upload(client, car_jpeg, headers=JSON)
    assert res.status_code == 413
    assert res.get_json()["error"]["code"] == "image_too_large"
    assert "car.jpg is 600x450" in res.get_json()["error"]["message"]


@pytest.mark.parametrize("token", ["", "forged-token"])
def test_bad_csrf_token_is_400(client: FlaskClient, car_jpeg: bytes, token: str) -> None:
    form_token(client)  # the session has a token; the request sends another (or none)
    res = upload(client, car_jpeg, token=token)
    assert res.status_code == 400
    assert "The form has expired" in res.get_data(as_text=True)
    res = upload(client, car_jpeg, token=token, headers=JSON)
    assert res.get_json()["error"]["code"] == "csrf_failed"


def test_csrf_token_of_another_session_is_rejected(app: Flask, car_jpeg: bytes) -> None:
    other_token = form_token(app.test_client())
    client = app.test_client()
    form_token(client)
    assert upload(client, car_jpeg, token=other_token).status_code == 400


def test_csrf_token_is_accepted_from_header(client: FlaskClient, car_jpeg: bytes) -> None:
    token = form_token(client)
    res = client.post(
        "/read", data={"image": (io.BytesIO(car_jpeg), "car.jpg")}, headers={"X-CSRF-Token": token},
        content_type="multipart/form-data",
    )
    assert res.status_code == 303


@pytest.mark.parametrize("path", ["/", "/health", "/no-such-page", "/static/style.css"])
def test_security_headers_on_every_response(client: FlaskClient, path: str) -> None:
    res = client.get(path)
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert res.headers["X-Frame-Options"] == "DENY"
    assert res.headers["Referrer-Policy"] == "same-origin"
    assert res.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "default-src 'self'" in CONTENT_SECURITY_POLICY and "img-src 'self' data:" in CONTENT_SECURITY_POLICY


def test_pages_use_no_external_resources(make_app: MakeApp, car_jpeg: bytes) -> None:
    client = make_app(store_reads=False).test_client()
    for html in (client.get("/").get_data(as_text=True), upload(client, car_jpeg).get_data(as_text=True)):
        assert not re.search(r'(src|href)="(https?:)?//', html)
        assert "style=" not in html  # the CSP forbids inline styles and scripts
        assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/upload.js" defer>']
        assert "<script src=\"/static/upload.js\" defer></script>" in html


def test_health(client: FlaskClient) -> None:
    res = client.get("/health")
    assert res.status_code == 200
    assert res.get_json() == {"status": "ok"}


def test_not_found_is_html_or_json(client: FlaskClient) -> None:
    res = client.get("/nope")
    assert res.status_code == 404 and "text/html" in res.content_type
    assert "Back to the start page" in res.get_data(as_text=True)
    res = client.get("/nope", headers=JSON)
    assert res.status_code == 404
    assert res.get_json()["error"]["code"] == "not_found"


def test_method_not_allowed_keeps_allow_header(client: FlaskClient) -> None:
    res = client.put("/health", headers=JSON)
    assert res.status_code == 405
    assert "GET" in res.headers["Allow"]


def test_reader_loads_lazily_and_missing_model_is_503(make_app: MakeApp, tmp_path: Path, car_jpeg: bytes) -> None:
    app = make_app(fake=False, detector_model=str(tmp_path / "missing.onnx"))
    client = app.test_client()
    assert client.get("/").status_code == 200
    assert client.get("/health").status_code == 200
    assert not get_state(app).reader_loaded
    res = upload(client, car_jpeg, headers=JSON)
    assert res.status_code == 503
    assert res.get_json()["error"]["code"] == "model_unavailable"
    assert "missing.onnx" not in res.get_data(as_text=True)  # server paths stay in the log


def test_secret_key_is_generated_once_and_kept(make_app: MakeApp, tmp_path: Path) -> None:
    first = make_app(secret_key=None).config["SECRET_KEY"]
    key_file = tmp_path / "instance" / "secret_key"
    assert key_file.read_text().strip() == first and len(first) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert make_app(secret_key=None).config["SECRET_KEY"] == first
    assert make_app(secret_key="given").config["SECRET_KEY"] == "given"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> bytes:
    """3.5 s at 10 fps: a car for 1 s, empty road, the car again (see tests/video/clips.py)."""
    from numberplate.imaging import load_image
    from tests.video.clips import empty, passing_car, write_clip

    photo = load_image(data_dir / "detect" / "images" / "openlpr" / "10.jpg")
    path = tmp_path_factory.mktemp("video") / "clip.avi"
    return write_clip(path, passing_car(photo, 10) + empty(15) + passing_car(photo, 10, shift=30)).read_bytes()


def test_a_video_upload_stores_each_plate_and_shows_the_read(client: FlaskClient, app: Flask, clip: bytes) -> None:
    res = upload(client, clip, "gate.mp4")  # the suffix says video, whatever the container
    assert res.status_code == 303 and res.headers["Location"] == "/reads/1"
    stored = get_state(app).reads.get(1)
    assert (stored.source, stored.filename, stored.width) == ("video", "gate.mp4", 640)
    assert stored.plates[0].text == PLATE_TEXT
    assert PLATE_TEXT in client.get("/reads/1").get_data(as_text=True)


def test_a_video_without_storing_shows_each_plate_at_once(make_app: MakeApp, clip: bytes) -> None:
    app = make_app(store_reads=False, boxes=())  # the fake detector finds nothing
    client = app.test_client()
    res = upload(client, clip, "gate.avi")
    assert res.status_code == 303 and res.headers["Location"] == "/"
    assert "No plate was found in gate.avi." in client.get("/").get_data(as_text=True)
    app = make_app(store_reads=False)
    client = app.test_client()
    html = upload(client, clip, "gate.avi").get_data(as_text=True)
    assert "gate.avi at 0:00.0" in html and PLATE_TEXT in html


def test_a_video_over_the_photo_limit_is_fine_but_a_photo_is_not(make_app: MakeApp, car_jpeg: bytes,
                                                                 clip: bytes) -> None:
    app = make_app(max_upload_mb=0.02)
    client = app.test_client()
    assert len(clip) > 0.02 * 1024 * 1024 and upload(client, clip, "gate.avi").status_code == 303
    res = upload(client, car_jpeg)
    assert res.status_code == 413 and "The photo car.jpg is larger than the 0.02 MB limit" in res.get_data(as_text=True)


def test_a_broken_video_is_a_clear_400_and_stores_nothing(client: FlaskClient, app: Flask) -> None:
    res = upload(client, b"\x00\x01 not a video" * 100, "broken.mp4", headers=JSON)
    assert res.status_code == 400 and res.get_json()["error"]["code"] == "video_not_decodable"
    message = res.get_json()["error"]["message"]
    assert "broken.mp4" in message and "tmp" not in message  # the user's name, not the spooled file's
    assert get_state(app).reads.search(ReadQuery()).total == 0


def test_a_photo_declared_as_a_video_is_read_as_a_photo(client: FlaskClient, app: Flask, car_jpeg: bytes) -> None:
    form = {"csrf_token": form_token(client), "image": (io.BytesIO(car_jpeg), "car.mp4", "video/mp4")}
    res = client.post("/read", data=form, content_type="multipart/form-data")
    assert read_id(res) == 1
    stored = get_state(app).reads.get(1)
    assert (stored.source, stored.width, stored.plates[0].text) == ("web", 600, PLATE_TEXT)


def test_a_video_declared_as_a_photo_is_read_as_a_video(client: FlaskClient, app: Flask, clip: bytes) -> None:
    form = {"csrf_token": form_token(client), "image": (io.BytesIO(clip), "gate.jpg", "image/jpeg")}
    res = client.post("/read", data=form, content_type="multipart/form-data")
    assert read_id(res) == 1
    assert get_state(app).reads.get(1).source == "video"
