"""The REST API: reads, history search, deletion, watchlist, auth, rate limits, every bad request; checked
against the OpenAPI document."""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from numberplate.web import get_state
from tests.web.conftest import PLATE_TEXT
from tests.web.openapi_check import check


@pytest.fixture
def token(app: Flask) -> str:
    secret, _ = get_state(app).tokens.create("tests")
    return secret


@pytest.fixture
def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}"}


def post_image(client: FlaskClient, data: bytes, auth: dict[str, str], **fields: str) -> object:
    form = {"image": (io.BytesIO(data), "car.jpg"), **fields}
    return client.post("/api/v1/read", data=form, headers=auth, content_type="multipart/form-data")


def test_read_multipart_stores_and_returns_the_plates(client: FlaskClient, auth: dict[str, str],
                                                      car_jpeg: bytes) -> None:
    r = post_image(client, car_jpeg, auth, country="gb", camera_id="gate 1")
    body = check(r, "/api/v1/read", "post")
    assert r.status_code == 201
    assert body["id"] is not None and body["width"] == 600 and body["height"] == 450
    plate = body["plates"][0]
    assert plate["text"] == PLATE_TEXT and plate["crop"] and plate["id"]
    assert [c["text"] for c in plate["candidates"]][:1] == [PLATE_TEXT]
    stored = check(client.get(f"/api/v1/reads/{body['id']}", headers=auth), "/api/v1/reads/{id}", "get")
    assert stored["camera_id"] == "gate 1" and stored["source"] == "api" and stored["plates"][0]["text"] == PLATE_TEXT
    image = client.get(f"/api/v1/images/{stored['image']}", headers=auth)
    assert image.status_code == 200 and image.mimetype == "image/jpeg" and image.data[:2] == b"\xff\xd8"
    crop = client.get(f"/api/v1/images/{plate['crop']}", headers=auth)
    assert crop.status_code == 200 and crop.data[:2] == b"\xff\xd8"


def test_control_and_bidi_characters_are_dropped_from_the_filename(client: FlaskClient, auth: dict[str, str],
                                                                    car_jpeg: bytes) -> None:
    form = {"image": (io.BytesIO(car_jpeg), "rlo\u202egpj.exe")}
    r = client.post("/api/v1/read", data=form, headers=auth, content_type="multipart/form-data")
    stored = client.get(f"/api/v1/reads/{r.get_json()['id']}", headers=auth).get_json()
    assert stored["filename"] == "rlogpj.exe"
    payload = {"image": base64.b64encode(car_jpeg).decode(), "filename": "json\u202e\n\x00\x1b[31m  x.jpg"}
    r = client.post("/api/v1/read", json=payload, headers=auth)
    stored = client.get(f"/api/v1/reads/{r.get_json()['id']}", headers=auth).get_json()
    assert stored["filename"] == "json [31m x.jpg"


def test_an_iphone_heic_photo_is_read_and_stored_as_jpeg(client: FlaskClient, auth: dict[str, str],
                                                         car_jpeg: bytes) -> None:
    from PIL import Image

    heic = io.BytesIO()
    Image.open(io.BytesIO(car_jpeg)).save(heic, format="HEIF", quality=95)
    r = post_image(client, heic.getvalue(), auth, country="gb")
    body = check(r, "/api/v1/read", "post")
    assert r.status_code == 201 and body["width"] == 600 and body["plates"][0]["text"] == PLATE_TEXT
    stored = client.get(f"/api/v1/reads/{body['id']}", headers=auth).get_json()
    image = client.get(f"/api/v1/images/{stored['image']}", headers=auth)
    assert image.status_code == 200 and image.data[:2] == b"\xff\xd8"


def test_read_json_base64_without_storing(client: FlaskClient, auth: dict[str, str], car_jpeg: bytes) -> None:
    payload = {"image": "data:image/jpeg;base64," + base64.b64encode(car_jpeg).decode(), "store": False}
    r = client.post("/api/v1/read", json=payload, headers=auth)
    body = check(r, "/api/v1/read", "post")
    assert r.status_code == 200 and body["id"] is None and body["plates"][0]["text"] == PLATE_TEXT
    assert check(client.get("/api/v1/reads", headers=auth), "/api/v1/reads", "get")["total"] == 0


def test_history_search_and_delete(client: FlaskClient, auth: dict[str, str], car_jpeg: bytes) -> None:
    ids = [post_image(client, car_jpeg, auth).get_json()["id"] for _ in range(3)]  # type: ignore[attr-defined]
    page = check(client.get("/api/v1/reads?plate=ab12cde&per_page=2", headers=auth), "/api/v1/reads", "get")
    assert page["total"] == 3 and page["pages"] == 2 and [r["id"] for r in page["items"]] == ids[::-1][:2]
    fuzzy = client.get("/api/v1/reads?plate=AB12CDX&mode=fuzzy&distance=1", headers=auth).get_json()
    assert fuzzy["total"] == 3
    assert client.get("/api/v1/reads?plate=AB1&mode=prefix", headers=auth).get_json()["total"] == 3
    assert client.get("/api/v1/reads?plate=ZZ&mode=prefix", headers=auth).get_json()["total"] == 0
    r = client.delete(f"/api/v1/reads/{ids[0]}", headers=auth)
    check(r, "/api/v1/reads/{id}", "delete")
    assert r.status_code == 204
    gone = client.get(f"/api/v1/reads/{ids[0]}", headers=auth)
    assert check(gone, "/api/v1/reads/{id}", "get")["error"]["code"] == "not_found"
    assert client.delete(f"/api/v1/reads/{ids[0]}", headers=auth).status_code == 404
    assert client.get("/api/v1/reads", headers=auth).get_json()["total"] == 2


def test_watchlist_crud_and_alert_on_read(client: FlaskClient, auth: dict[str, str], car_jpeg: bytes) -> None:
    r = client.post("/api/v1/watchlist", json={"plate": "AB12CDF", "label": "stolen", "max_distance": 1},
                    headers=auth)
    entry = check(r, "/api/v1/watchlist", "post")
    assert r.status_code == 201 and entry["plate"] == "AB12CDF"
    body = post_image(client, car_jpeg, auth).get_json()  # type: ignore[attr-defined]
    assert body["watchlist_hits"] == [{"id": entry["id"], "plate": "AB12CDF", "label": "stolen", "distance": 1}]
    assert client.get("/api/v1/reads?watchlist=true", headers=auth).get_json()["total"] == 1
    listed = check(client.get("/api/v1/watchlist", headers=auth), "/api/v1/watchlist", "get")
    assert [w["id"] for w in listed["items"]] == [entry["id"]]
    patched = client.patch(f"/api/v1/watchlist/{entry['id']}", json={"max_distance": 0}, headers=auth)
    assert check(patched, "/api/v1/watchlist/{id}", "patch")["max_distance"] == 0
    assert post_image(client, car_jpeg, auth).get_json()["watchlist_hits"] == []  # type: ignore[attr-defined]
    duplicate = client.post("/api/v1/watchlist", json={"plate": "ab12cdf"}, headers=auth)
    assert check(duplicate, "/api/v1/watchlist", "post")["error"]["code"] == "invalid_watchlist_entry"
    assert duplicate.status_code == 422
    r = client.delete(f"/api/v1/watchlist/{entry['id']}", headers=auth)
    assert r.status_code == 204
    assert client.get(f"/api/v1/watchlist/{entry['id']}", headers=auth).status_code == 404


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "needs a token"),
        ({"Authorization": "Token np_wrong"}, "not valid"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "must be 'Token"),
        ({"Authorization": "Token "}, "must be 'Token"),
    ],
)
def test_requests_without_a_valid_token_get_401(client: FlaskClient, headers: dict[str, str], message: str) -> None:
    r = client.get("/api/v1/reads", headers=headers)
    body = check(r, "/api/v1/reads", "get")
    assert r.status_code == 401 and message in body["error"]["message"]
    assert r.headers["WWW-Authenticate"].startswith("Token")


def test_revoked_token_gets_401(app: Flask, client: FlaskClient, token: str, auth: dict[str, str]) -> None:
    state = get_state(app)
    state.tokens.revoke(state.tokens.list()[0].id)
    r = client.get("/api/v1/reads", headers=auth)
    assert r.status_code == 401 and "revoked" in r.get_json()["error"]["message"]


def test_bearer_scheme_is_accepted(client: FlaskClient, token: str) -> None:
    assert client.get("/api/v1/reads", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_rate_limit_per_token_gives_429_with_retry_after(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The limit counts calls per clock minute: hold the clock mid-minute so the calls share one.
    from numberplate.store import tokens

    monkeypatch.setattr(tokens, "utcnow", lambda: datetime(2026, 12, 4, 10, 30, 20, tzinfo=UTC))
    app = make_app(rate_limit_per_minute=2)
    secret, _ = get_state(app).tokens.create("t")
    client = app.test_client()
    headers = {"Authorization": f"Token {secret}"}
    assert [client.get("/api/v1/reads", headers=headers).status_code for _ in range(2)] == [200, 200]
    r = client.get("/api/v1/reads", headers=headers)
    body = check(r, "/api/v1/reads", "get")
    assert r.status_code == 429 and body["error"]["code"] == "rate_limited"
    assert int(r.headers["Retry-After"]) == 40


def test_api_auth_off_allows_calls_without_a_token(make_app: Callable[..., Flask], car_jpeg: bytes) -> None:
    client = make_app(api_auth=False).test_client()
    r = post_image(client, car_jpeg, {})
    assert r.status_code == 201  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"data": {"country": "gb"}, "content_type": "multipart/form-data"}, 400, "missing_image"),
        ({"json": {"image": ""}}, 400, "missing_image"),
        ({"json": {"image": "not base64!!"}}, 400, "bad_base64"),
        ({"data": "[1, 2]", "content_type": "application/json"}, 400, "bad_json"),
        ({"data": "{oops", "content_type": "application/json"}, 400, "bad_json"),
        ({"data": b"raw bytes", "content_type": "image/jpeg"}, 415, "unsupported_media_type"),
        ({"data": "x", "content_type": "text/plain"}, 415, "unsupported_media_type"),
        ({"json": {"image": base64.b64encode(b"GIF89a not really").decode()}}, 400, "image_not_decodable"),
        ({"json": {"image": base64.b64encode(b"%PDF-1.4 text").decode()}}, 400, "image_not_decodable"),
    ],
)
def test_bad_read_requests(client: FlaskClient, auth: dict[str, str], kwargs: dict[str, object], status: int,
                           code: str) -> None:
    r = client.post("/api/v1/read", headers=auth, **kwargs)  # type: ignore[arg-type]
    body = check(r, "/api/v1/read", "post")
    assert (r.status_code, body["error"]["code"]) == (status, code)
    assert client.get("/api/v1/reads", headers=auth).get_json()["total"] == 0  # nothing half-stored


def test_empty_image_file(client: FlaskClient, auth: dict[str, str]) -> None:
    r = post_image(client, b"", auth)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "empty_image"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("fields", "name"),
    [({"country": "Great Britain"}, "country"), ({"ocr": "gpt"}, "ocr"), ({"lookup": "maybe"}, "lookup"),
     ({"store": "2"}, "store"), ({"camera_id": "<script>"}, "camera_id")],
)
def test_invalid_read_options_get_422(client: FlaskClient, auth: dict[str, str], car_jpeg: bytes,
                                      fields: dict[str, str], name: str) -> None:
    r = post_image(client, car_jpeg, auth, **fields)
    body = check(r, "/api/v1/read", "post")  # type: ignore[arg-type]
    assert r.status_code == 422 and f"parameter {name!r}" in body["error"]["message"]  # type: ignore[attr-defined]


def test_country_auto_reads_like_no_country(client: FlaskClient, auth: dict[str, str], car_jpeg: bytes) -> None:
    auto = post_image(client, car_jpeg, auth, country="Auto", store="false")
    plain = post_image(client, car_jpeg, auth, store="false")
    assert auto.status_code == plain.status_code == 200  # type: ignore[attr-defined]
    texts = [[p["text"] for p in r.get_json()["plates"]] for r in (auto, plain)]  # type: ignore[attr-defined]
    assert texts[0] == texts[1] == [PLATE_TEXT]


@pytest.mark.parametrize(
    "query",
    ["mode=soundex", "distance=3", "distance=x", "since=yesterday", "page=0", "per_page=101", "watchlist=perhaps",
     "source=fax", "since=2026-11-24&until=2026-11-01", "plate=" + "A" * 33],
)
def test_invalid_search_parameters_get_422(client: FlaskClient, auth: dict[str, str], query: str) -> None:
    r = client.get(f"/api/v1/reads?{query}", headers=auth)
    body = check(r, "/api/v1/reads", "get")
    assert r.status_code == 422 and body["error"]["code"] == "invalid_parameter"


def test_too_large_upload_gets_413(make_app: Callable[..., Flask]) -> None:
    app = make_app(max_upload_mb=0.01)
    secret, _ = get_state(app).tokens.create("t")
    r = post_image(app.test_client(), b"\xff" * 20_000, {"Authorization": f"Token {secret}"})
    body = check(r, "/api/v1/read", "post")  # type: ignore[arg-type]
    assert r.status_code == 413 and body["error"]["code"] == "upload_too_large"  # type: ignore[attr-defined]


def test_image_with_too_many_pixels_gets_413(make_app: Callable[..., Flask], car_jpeg: bytes) -> None:
    app = make_app(max_image_pixels=1000)
    secret, _ = get_state(app).tokens.create("t")
    r = post_image(app.test_client(), car_jpeg, {"Authorization": f"Token {secret}"})
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "image_too_large"  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", ["/api/v1/images/../../secret_key", "/api/v1/images/" + "0" * 64,
                                  "/api/v1/images/%2e%2e%2fsecret_key"])
def test_images_cannot_escape_the_store(client: FlaskClient, auth: dict[str, str], path: str) -> None:
    assert client.get(path, headers=auth).status_code == 404


def test_unknown_api_path_and_method_answer_json(client: FlaskClient, auth: dict[str, str]) -> None:
    r = client.get("/api/v1/nothing", headers=auth)
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    r = client.put("/api/v1/read", headers=auth)
    assert r.status_code == 405 and "POST" in r.headers["Allow"]


def test_health_needs_no_token_and_metrics_count_requests(client: FlaskClient, auth: dict[str, str],
                                                          car_jpeg: bytes) -> None:
    health = check(client.get("/api/v1/health"), "/api/v1/health", "get")
    assert health["status"] == "ok"
    post_image(client, car_jpeg, auth)
    text = client.get("/metrics").get_data(as_text=True)
    worker = f'worker="{os.getpid()}"'  # per-process series: one per worker, to be summed across them
    assert f'numberplate_http_requests_total{{endpoint="api.read",method="POST",status="201",{worker}}} 1' in text
    assert f'numberplate_http_request_seconds_bucket{{endpoint="api.read",le="+Inf",{worker}}} 1' in text
    assert f"numberplate_plates_read_total{{{worker}}} 1" in text
    assert f"numberplate_models_loaded{{{worker}}} " in text and f"numberplate_uptime_seconds{{{worker}}} " in text
    assert "\nnumberplate_stored_reads 1\n" in text  # from the database: the same in every worker, no label
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert all(worker in line for line in samples if not line.startswith("numberplate_stored_"))


def test_metrics_labels_do_not_grow_with_made_up_methods_or_paths(client: FlaskClient) -> None:
    for i in range(3):
        client.open("/api/v1/health", method=f"ZZZ{i}")
        client.open(f"/no/such/page/{i}", method="GET")
    text = client.get("/metrics").get_data(as_text=True)
    assert "ZZZ" not in text and "/no/such" not in text
    worker = f'worker="{os.getpid()}"'
    assert f'numberplate_http_requests_total{{endpoint="unmatched",method="other",status="405",{worker}}} 3' in text
    assert f'numberplate_http_requests_total{{endpoint="unmatched",method="GET",status="404",{worker}}} 3' in text


def test_openapi_document_is_served_and_valid(client: FlaskClient) -> None:
    from openapi_spec_validator import validate

    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0" and "/api/v1/read" in doc["paths"]
    validate(doc)


def test_read_with_lookup_shows_the_local_registry_vehicle(app: Flask, client: FlaskClient, auth: dict[str, str],
                                                           car_jpeg: bytes) -> None:
    get_state(app).vehicles.upsert({"plate": "AB12CDE", "country": "gb", "make": "Ford", "model": "Focus",
                                    "year": "2019", "colour": "Blue"})
    body = check(post_image(client, car_jpeg, auth, country="gb", lookup="true"), "/api/v1/read", "post")
    vehicle = body["plates"][0]["vehicle"]
    assert (vehicle["make"], vehicle["model"], vehicle["year"], vehicle["source"]) == ("Ford", "Focus", 2019, "local")
    stored = client.get(f"/api/v1/reads/{body['id']}", headers=auth).get_json()
    assert stored["plates"][0]["vehicle"]["colour"] == "Blue"
    without = post_image(client, car_jpeg, auth, country="gb").get_json()  # type: ignore[attr-defined]
    assert without["plates"][0]["vehicle"] is None  # lookup_on_read is off by default


def test_failed_lookup_returns_the_read_with_the_error(client: FlaskClient, auth: dict[str, str],
                                                      car_jpeg: bytes) -> None:
    body = check(post_image(client, car_jpeg, auth, country="gb", lookup="true"), "/api/v1/read", "post")
    assert body["plates"][0]["text"] == PLATE_TEXT and body["plates"][0]["vehicle"] is None
    assert body["plates"][0]["lookup_error"].startswith("LookupNotFound")


def test_misconfigured_lookup_keeps_the_read_and_says_why(make_app: Callable[..., Flask], car_jpeg: bytes) -> None:
    app = make_app(lookup="gb=dvla")  # no dvla_api_key set
    secret, _ = get_state(app).tokens.create("t")
    r = post_image(app.test_client(), car_jpeg, {"Authorization": f"Token {secret}"}, lookup="true")
    plate = r.get_json()["plates"][0]  # type: ignore[attr-defined]
    assert r.status_code == 201 and plate["text"] == PLATE_TEXT  # type: ignore[attr-defined]
    assert plate["lookup_error"].startswith("LookupUnavailable") and "dvla_api_key" in plate["lookup_error"]


@pytest.mark.parametrize("country", ["zz", "us-zz", "gb-1", "Great Britain"])
@pytest.mark.parametrize("boxes", [None, ()], ids=["plate", "no plate"])
def test_unknown_country_is_422_listing_the_known_codes_whether_or_not_a_plate_is_found(
    make_app: Callable[..., Flask], car_jpeg: bytes, country: str, boxes: tuple[()] | None
) -> None:
    app = make_app() if boxes is None else make_app(boxes=boxes)
    auth = {"Authorization": f"Token {get_state(app).tokens.create('t')[0]}"}
    client = app.test_client()
    for r in (post_image(client, car_jpeg, auth, country=country),
              client.post("/api/v1/read", json={"image": base64.b64encode(car_jpeg).decode(), "country": country},
                          headers=auth)):
        body = check(r, "/api/v1/read", "post")  # type: ignore[arg-type]
        assert r.status_code == 422 and body["error"]["code"] == "invalid_parameter"  # type: ignore[attr-defined]
        message = body["error"]["message"]
        assert message.startswith("parameter 'country': ") and "known codes: " in message
    assert get_state(app).reads.counts()["reads"] == 0


def test_region_codes_and_aliases_with_pattern_data_are_accepted(client: FlaskClient, auth: dict[str, str],
                                                                 car_jpeg: bytes) -> None:
    for country in ("us-ca", "US-CA", "uk"):
        r = post_image(client, car_jpeg, auth, country=country)
        assert r.status_code == 201, r.get_json()  # type: ignore[attr-defined]
    stored = client.get("/api/v1/reads?per_page=3", headers=auth).get_json()["items"]
    assert [s["plates"][0]["country"] for s in stored] == ["uk", "us-ca", "us-ca"]  # the fake echoes the hint


TOO_BIG_ID = "99999999999999999999999"


@pytest.mark.parametrize(("method", "path", "template"), [
    ("get", f"/api/v1/reads/{TOO_BIG_ID}", "/api/v1/reads/{id}"),
    ("delete", f"/api/v1/reads/{TOO_BIG_ID}", "/api/v1/reads/{id}"),
    ("get", f"/api/v1/reads/{2**63}", "/api/v1/reads/{id}"),
    ("get", f"/api/v1/reads/{2**63 - 1}", "/api/v1/reads/{id}"),
    ("get", f"/api/v1/watchlist/{TOO_BIG_ID}", "/api/v1/watchlist/{id}"),
    ("patch", f"/api/v1/watchlist/{TOO_BIG_ID}", "/api/v1/watchlist/{id}"),
    ("delete", f"/api/v1/watchlist/{TOO_BIG_ID}", "/api/v1/watchlist/{id}"),
])
def test_ids_beyond_64_bits_are_404(client: FlaskClient, auth: dict[str, str], method: str, path: str,
                                    template: str) -> None:
    r = getattr(client, method)(path, headers=auth, json={"label": "x"} if method == "patch" else None)
    body = check(r, template, method)
    assert r.status_code == 404 and body["error"]["code"] == "not_found"


@pytest.mark.parametrize(("query", "name"), [
    ("until=9999-12-31T23:59:59-05:00", "until"),
    ("since=0001-01-01T00:00:00%2B05:00", "since"),
])
def test_dates_that_overflow_in_utc_are_422_naming_the_parameter(client: FlaskClient, auth: dict[str, str],
                                                                 query: str, name: str) -> None:
    r = client.get(f"/api/v1/reads?{query}", headers=auth)
    body = check(r, "/api/v1/reads", "get")
    assert r.status_code == 422 and body["error"]["message"].startswith(f"parameter {name!r}: ")
    assert "out of range" in body["error"]["message"]


def test_the_extreme_dates_that_fit_in_utc_are_fine(client: FlaskClient, auth: dict[str, str]) -> None:
    r = client.get("/api/v1/reads?since=0001-01-01T00:00:00Z&until=9999-12-31T23:59:59Z", headers=auth)
    assert r.status_code == 200 and r.get_json()["total"] == 0


DEEP_JSON = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(("method", "path"), [
    ("post", "/api/v1/read"), ("post", "/api/v1/watchlist"), ("patch", "/api/v1/watchlist/1"),
])
def test_deeply_nested_json_is_400_bad_json(client: FlaskClient, auth: dict[str, str], method: str,
                                            path: str) -> None:
    client.post("/api/v1/watchlist", json={"plate": "AB12CDF"}, headers=auth)
    r = getattr(client, method)(path, data=DEEP_JSON, content_type="application/json", headers=auth)
    body = check(r, path.replace("/1", "/{id}"), method)
    assert r.status_code == 400 and body["error"]["code"] == "bad_json"


def test_line_wrapped_base64_is_read(client: FlaskClient, auth: dict[str, str], car_jpeg: bytes) -> None:
    encoded = base64.encodebytes(car_jpeg).decode()  # 76 characters a line, as `base64 car.jpg` writes it
    assert "\n" in encoded.strip()
    for image in (encoded, encoded.replace("\n", "\r\n"), "data:image/jpeg;base64," + encoded):
        r = client.post("/api/v1/read", json={"image": image, "store": False}, headers=auth)
        assert r.status_code == 200 and check(r, "/api/v1/read", "post")["plates"][0]["text"] == PLATE_TEXT
    junk = encoded.replace("\n", "*\n", 1)
    r = client.post("/api/v1/read", json={"image": junk}, headers=auth)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "bad_base64"


def test_watchlist_plate_cannot_be_patched_and_unknown_fields_are_422(client: FlaskClient,
                                                                      auth: dict[str, str]) -> None:
    entry = client.post("/api/v1/watchlist", json={"plate": "AB12CDF"}, headers=auth).get_json()
    url = f"/api/v1/watchlist/{entry['id']}"
    r = client.patch(url, json={"plate": "NEW"}, headers=auth)
    body = check(r, "/api/v1/watchlist/{id}", "patch")
    assert r.status_code == 422 and body["error"]["message"].startswith("parameter 'plate': cannot be changed")
    r = client.patch(url, json={"label": "x", "colour": "red", "make": "Ford"}, headers=auth)
    body = check(r, "/api/v1/watchlist/{id}", "patch")
    assert r.status_code == 422 and "unknown fields 'colour', 'make'" in body["error"]["message"]
    assert client.get(url, headers=auth).get_json() == entry  # nothing changed
    r = client.post("/api/v1/watchlist", json={"plate": "XY12ZZZ", "lable": "typo"}, headers=auth)
    assert r.status_code == 422 and "unknown field 'lable'" in check(r, "/api/v1/watchlist", "post")["error"][
        "message"]


@pytest.mark.parametrize(("plate", "message"), [
    (12345, "parameter 'plate': must be a string"), (["AB12CDE"], "parameter 'plate': must be a string"),
    (None, "parameter 'plate': is required"), ("  ", "parameter 'plate': is required"),
])
def test_watchlist_plate_must_be_a_string(client: FlaskClient, auth: dict[str, str], plate: object,
                                          message: str) -> None:
    r = client.post("/api/v1/watchlist", json={"plate": plate}, headers=auth)
    body = check(r, "/api/v1/watchlist", "post")
    assert r.status_code == 422 and body["error"]["message"].startswith(message)


def test_a_video_sent_as_a_photo_is_415_pointing_to_read_video(client: FlaskClient, auth: dict[str, str]) -> None:
    mkv = b"\x1a\x45\xdf\xa3" + bytes(200)  # a Matroska/WebM header
    r = post_image(client, mkv, auth)
    body = check(r, "/api/v1/read", "post")  # type: ignore[arg-type]
    assert r.status_code == 415 and body["error"]["code"] == "video_not_image"  # type: ignore[attr-defined]
    assert "/api/v1/read-video" in body["error"]["message"]


@pytest.mark.parametrize(("path", "field"), [("/api/v1/read", "image"), ("/api/v1/read-video", "video"),
                                             ("/v1/plate-reader/", "upload")])
def test_an_oversized_upload_without_a_token_is_401_not_413(make_app: Callable[..., Flask], path: str,
                                                            field: str) -> None:
    client = make_app(max_upload_mb=0.01, max_video_mb=0.01).test_client()
    r = client.post(path, data={field: (io.BytesIO(b"\xff" * 50_000), "big.jpg")}, content_type="multipart/form-data")
    refused = 403 if path.startswith("/v1/") else 401  # the drop-in refuses tokens as Plate Recognizer does
    assert r.status_code == refused and r.get_json()["error"]["code"] == "unauthorized"
