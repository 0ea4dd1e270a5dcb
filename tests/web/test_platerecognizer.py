"""The Plate Recognizer Snapshot drop-in, with the request shapes Home Assistant, Frigate, Node-RED and
ZoneMinder integrations send."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient

from numberplate.config import Config
from numberplate.pipeline import Reader
from numberplate.store.reads import ReadQuery
from numberplate.types import Candidate, PlateText
from numberplate.web import create_app, get_state
from tests.web.conftest import FakeDetector
from tests.web.openapi_check import check


@pytest.fixture
def token(app: Flask) -> str:
    return get_state(app).tokens.create("home assistant")[0]


@pytest.fixture
def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}"}


def test_the_filename_loses_control_and_bidi_characters(client: FlaskClient, auth: dict[str, str],
                                                        car_jpeg: bytes) -> None:
    data = {"upload": (io.BytesIO(car_jpeg), "rlo\u202egpj.exe\x1b")}
    r = client.post("/v1/plate-reader/", data=data, headers=auth, content_type="multipart/form-data")
    assert r.status_code == 201 and r.get_json()["filename"] == "rlogpj.exe"


def test_home_assistant_style_multipart_upload(client: FlaskClient, auth: dict[str, str], car_jpeg: bytes) -> None:
    # requests.post(url, data={"regions": ["gb"], "camera_id": ..., "config": json.dumps(...)},
    #               files={"upload": image}, headers={"Authorization": "Token ..."})
    data = {
        "upload": (io.BytesIO(car_jpeg), "image.jpg"),
        "regions": ["gb"],
        "camera_id": "driveway",
        "config": json.dumps({"threshold_d": 0.2, "threshold_o": 0.3}),
        "mmc": "true",
    }
    r = client.post("/v1/plate-reader/", data=data, headers=auth, content_type="multipart/form-data")
    body = check(r, "/v1/plate-reader/", "post")
    assert r.status_code == 201
    assert body["camera_id"] == "driveway" and body["filename"] == "image.jpg" and body["version"] == 1
    result = body["results"][0]
    assert result["plate"] == "ab12cde"  # lower case, as their clients expect
    assert result["candidates"][0] == {"score": 0.934, "plate": "ab12cde"}
    assert result["region"]["code"] == "gb" and result["dscore"] == 0.87
    assert set(result["box"]) == {"xmin", "ymin", "xmax", "ymax"}
    assert body["usage"] == {"calls": 1, "max_calls": 1_000_000_000}
    assert body["processing_time"] >= 0
    history = get_state().reads.search(ReadQuery())
    assert history.total == 1 and history.items[0].source == "plate-recognizer"
    assert history.items[0].camera_id == "driveway"


def test_node_red_style_base64_upload_with_timestamp(client: FlaskClient, auth: dict[str, str],
                                                     car_jpeg: bytes) -> None:
    data = {"upload": base64.b64encode(car_jpeg).decode(), "timestamp": "2026-11-24T10:00:00Z"}
    r = client.post("/v1/plate-reader/", data=data, headers=auth)
    body = check(r, "/v1/plate-reader/", "post")
    assert r.status_code == 201 and body["timestamp"] == "2026-11-24T10:00:00Z"
    assert body["results"][0]["plate"] == "ab12cde"


def test_json_body_with_base64_upload(client: FlaskClient, auth: dict[str, str], car_jpeg: bytes) -> None:
    r = client.post("/v1/plate-reader/", json={"upload": base64.b64encode(car_jpeg).decode(), "regions": ["us-ca"]},
                    headers=auth)
    assert r.status_code == 201 and r.get_json()["results"][0]["plate"] == "ab12cde"


def test_thresholds_filter_results(client: FlaskClient, auth: dict[str, str], car_jpeg: bytes) -> None:
    data = {"upload": (io.BytesIO(car_jpeg), "a.jpg"), "config": '{"threshold_d": 0.9}'}
    r = client.post("/v1/plate-reader/", data=data, headers=auth, content_type="multipart/form-data")
    assert r.status_code == 201 and r.get_json()["results"] == []  # detection score 0.87 < 0.9


def test_statistics_counts_this_months_calls(client: FlaskClient, auth: dict[str, str], car_jpeg: bytes) -> None:
    for _ in range(2):
        client.post("/v1/plate-reader/", data={"upload": (io.BytesIO(car_jpeg), "a.jpg")}, headers=auth,
                    content_type="multipart/form-data")
    for _ in range(2):
        r = client.get("/v1/statistics/", headers=auth)
        body = check(r, "/v1/statistics/", "get")
        assert body["usage"]["calls"] == 2  # the two reads: asking for the usage is not a call
    assert body["usage"]["resets_on"].endswith("T00:00:00Z") and body["total_calls"] == 1_000_000_000


def test_monthly_max_calls_show_in_usage(make_app: Callable[..., Flask], car_jpeg: bytes) -> None:
    app = make_app()
    secret, _ = get_state(app).tokens.create("frigate", max_calls=1)
    client = app.test_client()
    headers = {"Authorization": f"Token {secret}"}
    ok = client.post("/v1/plate-reader/", data={"upload": (io.BytesIO(car_jpeg), "a.jpg")}, headers=headers,
                     content_type="multipart/form-data")
    assert ok.get_json()["usage"] == {"calls": 1, "max_calls": 1}
    refused = client.post("/v1/plate-reader/", data={"upload": (io.BytesIO(car_jpeg), "a.jpg")}, headers=headers,
                          content_type="multipart/form-data")
    assert refused.status_code == 429 and "used up" in refused.get_json()["detail"]
    for _ in range(2):  # the client can still see why, and when the limit resets
        r = client.get("/v1/statistics/", headers=headers)
        body = check(r, "/v1/statistics/", "get")
        assert r.status_code == 200 and body["usage"]["calls"] == 1 and body["total_calls"] == 1
    assert client.get("/v1/statistics/", headers={"Authorization": "Token np_wrong"}).status_code == 403


def test_statistics_is_not_rate_limited(make_app: Callable[..., Flask], car_jpeg: bytes) -> None:
    app = make_app(rate_limit_per_minute=1)
    secret, _ = get_state(app).tokens.create("frigate")
    client = app.test_client()
    headers = {"Authorization": f"Token {secret}"}
    statuses = [client.get("/v1/statistics/", headers=headers).status_code for _ in range(3)]
    ok = client.post("/v1/plate-reader/", data={"upload": (io.BytesIO(car_jpeg), "a.jpg")}, headers=headers,
                     content_type="multipart/form-data")
    assert statuses == [200, 200, 200] and ok.status_code == 201  # the minute's one call is still there


@pytest.mark.parametrize(
    ("kwargs", "status", "field"),
    [
        ({"data": {"regions": "gb"}}, 400, "missing_upload"),
        ({"data": {"upload": "###"}}, 400, "bad_base64"),
        ({"data": {"upload_url": "http://example.com/car.jpg"}}, 400, "upload_url_not_supported"),
        ({"data": {"upload": base64.b64encode(b"not an image").decode()}}, 400, "image_not_decodable"),
        ({"data": b"\x00", "content_type": "application/octet-stream"}, 415, "unsupported_media_type"),
        # A bad parameter is 400, as Django REST framework's validation errors are there (not our API's 422).
        ({"data": {"upload": "aGk=", "regions": "Great Britain"}}, 400, "invalid_parameter"),
        ({"data": {"upload": "aGk=", "config": "{not json"}}, 400, "invalid_parameter"),
        ({"data": {"upload": "aGk=", "config": '{"threshold_d": 2}'}}, 400, "invalid_parameter"),
        ({"data": {"upload": "aGk=", "timestamp": "noon"}}, 400, "invalid_parameter"),
        ({"data": {"upload": "aGk=", "mmc": "maybe"}}, 400, "invalid_parameter"),
        ({"data": {"upload": "aGk=", "config": '{"detection_mode": "vehicle"}'}}, 400, "unsupported_config"),
    ],
)
def test_bad_requests_answer_with_detail_and_error(client: FlaskClient, auth: dict[str, str],
                                                   kwargs: dict[str, object], status: int, field: str) -> None:
    r = client.post("/v1/plate-reader/", headers=auth, **kwargs)  # type: ignore[arg-type]
    body = check(r, "/v1/plate-reader/", "post")
    assert r.status_code == status and body["error"]["code"] == field and body["detail"]
    assert get_state().reads.counts()["reads"] == 0


def test_missing_and_wrong_tokens_get_403_as_theirs_do(client: FlaskClient, car_jpeg: bytes) -> None:
    # Plate Recognizer answers a bad token with 403 {"detail": "Invalid token.", "status_code": 403}.
    for headers in ({}, {"Authorization": "Token nope"}):
        r = client.post("/v1/plate-reader/", data={"upload": (io.BytesIO(car_jpeg), "a.jpg")}, headers=headers,
                        content_type="multipart/form-data")
        body = check(r, "/v1/plate-reader/", "post")
        assert r.status_code == 403 and body["status_code"] == 403 and body["detail"]
        assert "WWW-Authenticate" not in r.headers
        stats = client.get("/v1/statistics/", headers=headers)
        assert stats.status_code == 403 and check(stats, "/v1/statistics/", "get")["detail"]
    assert get_state().reads.counts()["reads"] == 0


def test_too_large_upload_gets_413(make_app: Callable[..., Flask]) -> None:
    app = make_app(max_upload_mb=0.01)
    secret, _ = get_state(app).tokens.create("t")
    r = app.test_client().post("/v1/plate-reader/", data={"upload": (io.BytesIO(b"\0" * 20_000), "a.jpg")},
                               headers={"Authorization": f"Token {secret}"}, content_type="multipart/form-data")
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "upload_too_large"


def test_too_many_form_fields_get_a_413_saying_so(client: FlaskClient, auth: dict[str, str], car_jpeg: bytes) -> None:
    data = {"upload": (io.BytesIO(car_jpeg), "a.jpg"), **{f"f{i}": "x" for i in range(1100)}}
    r = client.post("/v1/plate-reader/", data=data, headers=auth, content_type="multipart/form-data")
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "form_too_large"
    assert "more than 1000 parts" in r.get_json()["detail"]


@pytest.mark.parametrize(("regions", "hint"), [
    (["mx", "us-ca"], "us-ca"),  # the example of their API reference: mx has no layouts here
    ("mx,us-ca", "us-ca"),  # the comma form
    (["nz", "gb,fr"], "gb"),
    ("br-sp", "br"),  # a subdivision unknown here stands for its country
    ("us-zz", "us"),
    ("gb-1", "gb"),
    (["th-37"], None),  # nothing known: read as without regions
    ("zz", None),
    ("None", None),
])
def test_regions_without_layouts_here_are_skipped_as_theirs_are(make_app: Callable[..., Flask], car_jpeg: bytes,
                                                                 regions: str | list[str], hint: str | None) -> None:
    # Plate Recognizer skips the regions it does not know and reads anyway; refusing them would stop every call
    # of a client set up with a region that has no layouts here.
    app = make_app()
    headers = {"Authorization": f"Token {get_state(app).tokens.create('t')[0]}"}
    client = app.test_client()
    calls = get_state(app).get_reader().recognizer.calls  # type: ignore[attr-defined]
    form = {"upload": (io.BytesIO(car_jpeg), "a.jpg"), "regions": regions}
    for r in (client.post("/v1/plate-reader/", data=form, headers=headers, content_type="multipart/form-data"),
              client.post("/v1/plate-reader/", json={"upload": base64.b64encode(car_jpeg).decode(),
                                                     "regions": regions}, headers=headers)):
        body = check(r, "/v1/plate-reader/", "post")
        assert r.status_code == 201 and body["results"][0]["plate"] == "ab12cde"
        assert calls[-1][1] == (hint or "auto")
    assert get_state(app).reads.counts()["reads"] == 2


def test_the_unknown_regions_warned_about_are_remembered_up_to_a_bound() -> None:
    # Any of millions of well-formed codes may come in: remembering each one for good would grow without end.
    from numberplate.web.platerecognizer import SKIPPED_REGIONS_REMEMBERED, _region, _skipped

    _skipped.cache_clear()
    for n in range(SKIPPED_REGIONS_REMEMBERED * 3):
        assert _region(f"th-{n % 1000:03d}" if n < 1000 else f"zz-{n % 1000:03d}") is None
    assert _skipped.cache_info().currsize <= SKIPPED_REGIONS_REMEMBERED


def test_regions_must_be_a_code_or_a_list_of_codes(client: FlaskClient, auth: dict[str, str],
                                                   car_jpeg: bytes) -> None:
    for regions in (5, ["gb", 5], "Great Britain", ["gb", "Great Britain"]):
        r = client.post("/v1/plate-reader/", json={"upload": base64.b64encode(car_jpeg).decode(), "regions": regions},
                        headers=auth)
        body = check(r, "/v1/plate-reader/", "post")
        assert r.status_code == 400 and body["detail"].startswith("parameter 'regions'")
    assert get_state().reads.counts()["reads"] == 0


@pytest.mark.parametrize(("kwargs", "status", "code", "detail"), [
    ({"data": {"upload": "aGk=", "timestamp": "9999-12-31T23:59:59-05:00"}}, 400, "invalid_parameter",
     "parameter 'timestamp': '9999-12-31T23:59:59-05:00' is out of range"),
    ({"data": {"upload": "aGk=", "camera_id": "<script>"}}, 400, "invalid_parameter", "parameter 'camera_id': "),
    ({"data": "[" * 100_000 + "]" * 100_000, "content_type": "application/json"}, 400, "bad_json",
     "the request body nests too deeply"),
])
def test_more_bad_requests_answer_in_the_detail_format(client: FlaskClient, auth: dict[str, str],
                                                       kwargs: dict[str, object], status: int, code: str,
                                                       detail: str) -> None:
    r = client.post("/v1/plate-reader/", headers=auth, **kwargs)  # type: ignore[arg-type]
    body = check(r, "/v1/plate-reader/", "post")
    assert (r.status_code, body["error"]["code"]) == (status, code) and body["detail"].startswith(detail)
    assert get_state().reads.counts()["reads"] == 0


def test_a_timestamp_more_than_a_day_ahead_is_400_naming_it(client: FlaskClient, auth: dict[str, str],
                                                            car_jpeg: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    from numberplate.web import platerecognizer

    now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    monkeypatch.setattr(platerecognizer, "utcnow", lambda: now)
    encoded = base64.b64encode(car_jpeg).decode()
    for timestamp in ("9000-01-01T00:00:00Z", "2026-11-25T10:00:01Z", "2026-11-25T12:00:00+01:00"):
        r = client.post("/v1/plate-reader/", data={"upload": encoded, "timestamp": timestamp}, headers=auth)
        body = check(r, "/v1/plate-reader/", "post")
        assert r.status_code == 400 and body["error"]["code"] == "timestamp_in_future"
        assert body["detail"].startswith(f"timestamp: {timestamp!r} is more than 1 day ahead")
    assert get_state().reads.counts()["reads"] == 0
    # A camera clock a little fast is fine, and the time is kept as sent.
    r = client.post("/v1/plate-reader/", data={"upload": encoded, "timestamp": "2026-11-25T09:59:59Z"}, headers=auth)
    assert r.status_code == 201 and r.get_json()["timestamp"] == "2026-11-25T09:59:59Z"
    assert get_state().reads.search(ReadQuery()).items[0].created_at == datetime(2026, 11, 25, 9, 59, 59, tzinfo=UTC)


def test_line_wrapped_base64_upload_is_read(client: FlaskClient, auth: dict[str, str], car_jpeg: bytes) -> None:
    encoded = base64.encodebytes(car_jpeg).decode()  # 76 characters a line, as `base64 car.jpg` writes it
    for kwargs in ({"data": {"upload": encoded}}, {"json": {"upload": encoded}},
                   {"data": {"upload": encoded.replace("\n", "\r\n")}, "content_type": "multipart/form-data"}):
        r = client.post("/v1/plate-reader/", headers=auth, **kwargs)  # type: ignore[arg-type]
        assert r.status_code == 201 and check(r, "/v1/plate-reader/", "post")["results"][0]["plate"] == "ab12cde"
    r = client.post("/v1/plate-reader/", data={"upload": encoded.replace("\n", "%\n", 1)}, headers=auth)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "bad_base64"


def test_a_server_fault_answers_in_the_detail_format(client: FlaskClient, auth: dict[str, str], car_jpeg: bytes,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from numberplate.web import platerecognizer

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire at /var/secret/path")

    monkeypatch.setattr(platerecognizer, "read_upload", broken)
    r = client.post("/v1/plate-reader/", data={"upload": (io.BytesIO(car_jpeg), "a.jpg")}, headers=auth,
                    content_type="multipart/form-data")
    body = r.get_json()
    assert r.status_code == 500 and body["status_code"] == 500 and body["error"]["code"] == "internal_error"
    assert body["detail"] and "/var/secret" not in r.get_data(as_text=True)


def test_their_clients_urls_without_the_trailing_slash_answer(client: FlaskClient, auth: dict[str, str],
                                                             car_jpeg: bytes) -> None:
    # frigate_plate_recognizer's default is https://api.platerecognizer.com/v1/plate-reader, without the slash;
    # a redirect would make some clients drop the upload or the token.
    r = client.post("/v1/plate-reader", data={"upload": (io.BytesIO(car_jpeg), "a.jpg")}, headers=auth,
                    content_type="multipart/form-data")
    assert r.status_code == 201 and check(r, "/v1/plate-reader/", "post")["results"][0]["plate"] == "ab12cde"
    stats = client.get("/v1/statistics", headers=auth)
    assert stats.status_code == 200 and check(stats, "/v1/statistics/", "get")["usage"]["calls"] == 1


def test_the_answer_has_the_image_size_and_usage_even_without_a_token(make_app: Callable[..., Flask],
                                                                      car_jpeg: bytes) -> None:
    # Home Assistant's integration reads usage.max_calls - usage.calls from the answer of any server but theirs.
    client = make_app(api_auth=False).test_client()
    r = client.post("/v1/plate-reader/", data={"upload": (io.BytesIO(car_jpeg), "a.jpg")},
                    content_type="multipart/form-data")
    body = check(r, "/v1/plate-reader/", "post")
    assert r.status_code == 201 and (body["image_width"], body["image_height"]) == (600, 450)
    assert body["usage"] == {"calls": 0, "max_calls": 1_000_000_000}
    box = body["results"][0]["box"]
    assert all(isinstance(v, int) for v in box.values()) and 0 <= box["xmin"] < box["xmax"] <= 600


@pytest.mark.parametrize("mmc", ["true", "True", "1"])
def test_mmc_gives_the_keys_their_clients_read_empty(client: FlaskClient, auth: dict[str, str], car_jpeg: bytes,
                                                     mmc: str) -> None:
    # requests sends mmc=True as "True"; Home Assistant then reads each result's "orientation".
    data = {"upload": (io.BytesIO(car_jpeg), "a.jpg"), "mmc": mmc}
    result = client.post("/v1/plate-reader/", data=data, headers=auth,
                         content_type="multipart/form-data").get_json()["results"][0]
    assert (result["model_make"], result["color"], result["orientation"]) == ([], [], [])
    plain = client.post("/v1/plate-reader/", data={"upload": (io.BytesIO(car_jpeg), "a.jpg"), "mmc": "False"},
                        headers=auth, content_type="multipart/form-data").get_json()["results"][0]
    assert not {"model_make", "color", "orientation"} & set(plain)


def test_the_first_candidate_is_the_plate(make_config: Callable[..., Config], car_jpeg: bytes) -> None:
    class Disagreeing:
        name = "disagreeing"

        def read(self, crop: np.ndarray, country: str | None = None) -> PlateText | None:
            return PlateText("AB12CDE", 0.9, candidates=(Candidate("A812CDE", 0.06), Candidate("AB12CDE", 0.9)),
                             country="gb")

    config = make_config()
    app = create_app(config, reader=Reader(detector=FakeDetector(), recognizer=Disagreeing(), config=config))
    secret = get_state(app).tokens.create("t")[0]
    r = app.test_client().post("/v1/plate-reader/", data={"upload": (io.BytesIO(car_jpeg), "a.jpg")},
                               headers={"Authorization": f"Token {secret}"}, content_type="multipart/form-data")
    result = check(r, "/v1/plate-reader/", "post")["results"][0]
    assert result["candidates"] == [{"score": 0.9, "plate": "ab12cde"}, {"score": 0.06, "plate": "a812cde"}]
    assert result["score"] == 0.9 and result["plate"] == "ab12cde"
