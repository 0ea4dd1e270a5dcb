"""The served OpenAPI document against the API it describes, operation by operation: routes and methods, every
documented status produced (and none undocumented), responses valid against their schemas, and every parameter's
bad values refused with a documented 4xx ``{"error": {"code", "message"}}`` that leaves nothing stored changed."""

from __future__ import annotations

import base64
import io
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from werkzeug.test import TestResponse

from numberplate.config import Config
from numberplate.errors import StoreError
from numberplate.imaging import load_image
from numberplate.pipeline import Reader
from numberplate.web import create_app, get_state
from numberplate.web.openapi import document
from tests.video.clips import passing_car, write_clip
from tests.web.conftest import FakeDetector, FakeRecognizer

DOC = json.loads(json.dumps(document()))  # as served: for the test ids; the first test checks it is the served one
METHODS = ("get", "post", "put", "patch", "delete")
OPERATIONS = [(path, method) for path, item in DOC["paths"].items() for method in METHODS if method in item]
SECURED = [(p, m) for p, m in OPERATIONS if DOC["paths"][p][m].get("security", DOC["security"])]
OPEN = [(p, m) for p, m in OPERATIONS if (p, m) not in SECURED]
NO_SUCH_ID = "987654321"
# The operations of the Plate Recognizer drop-in and /metrics take (and ignore) parameters they do not know, as
# the clients written for them expect; numberplate's own API refuses them (a misspelt option would do nothing).
LENIENT = {"/v1/plate-reader/", "/v1/statistics/", "/metrics", "/api/v1/health"}


def op_id(op: tuple[str, str]) -> str:
    return f"{op[1].upper()} {op[0]}"


# The app: built once for the module (requests are cheap; each test compares what is stored before and after).


@dataclass
class World:
    app: Flask
    client: FlaskClient
    auth: dict[str, str]
    jpeg: bytes
    clip: bytes
    read_id: int
    image: str
    watch_id: int

    @property
    def doc(self) -> dict[str, Any]:
        return self.client.get("/api/openapi.json").get_json()  # type: ignore[no-any-return]

    def stored(self) -> tuple[Any, ...]:
        """What a refused request must leave alone: reads and plates, the watchlist, the image files."""
        state = get_state(self.app)
        files = sorted(p.name for p in (Path(self.app.instance_path) / "images").rglob("*") if p.is_file())
        return state.reads.counts(), [w.to_dict() for w in state.watchlist.list()], files

    def token(self, max_calls: int | None = None) -> dict[str, str]:
        secret, _ = get_state(self.app).tokens.create("conformance", max_calls=max_calls)
        return {"Authorization": f"Token {secret}"}


def make_app(instance: Path, **changes: Any) -> Flask:
    config = Config().replace(instance_path=str(instance), secret_key="test-secret", rate_limit_per_minute=0,
                              **changes)
    app = create_app(config, reader=Reader(detector=FakeDetector(), recognizer=FakeRecognizer(), config=config))
    app.config["TESTING"] = True
    return app


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> World:
    photo = data_dir / "detect" / "images" / "openlpr" / "10.jpg"
    clip = write_clip(tmp_path_factory.mktemp("video") / "clip.avi", passing_car(load_image(photo), 4)).read_bytes()
    app = make_app(tmp_path_factory.mktemp("conformance") / "instance")
    client = app.test_client()
    secret, _ = get_state(app).tokens.create("conformance")
    auth = {"Authorization": f"Token {secret}"}
    jpeg = photo.read_bytes()
    read = client.post("/api/v1/read", data={"image": (io.BytesIO(jpeg), "car.jpg")}, headers=auth).get_json()
    watch = client.post("/api/v1/watchlist", json={"plate": "ZZ99ZZZ", "label": "kept"}, headers=auth).get_json()
    image = client.get(f"/api/v1/reads/{read['id']}", headers=auth).get_json()["image"]
    return World(app, client, auth, jpeg, clip, read["id"], image, watch["id"])


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[FlaskClient, dict[str, str]]:
    """An app whose uploads (photos and videos) may be 10 kB at most: for the 413s."""
    app = make_app(tmp_path_factory.mktemp("small") / "instance", max_upload_mb=0.01, max_video_mb=0.01)
    secret, _ = get_state(app).tokens.create("small")
    return app.test_client(), {"Authorization": f"Token {secret}"}


# Requests.


@dataclass
class Call:
    """One request: method, URL (the template filled in), and what the test client is given besides."""

    method: str
    url: str
    kwargs: dict[str, Any]

    def send(self, client: FlaskClient, headers: dict[str, str] | None) -> TestResponse:
        kwargs = dict(self.kwargs)
        if "data" in kwargs and isinstance(kwargs["data"], dict):  # file objects are read once: fresh ones
            kwargs["data"] = {k: (io.BytesIO(v[0]), v[1]) if isinstance(v, tuple) else v
                              for k, v in kwargs["data"].items()}
        return client.open(self.url, method=self.method.upper(), headers=headers or {}, **kwargs)


def url_for(world: World, path: str, ids: dict[str, str] | None = None) -> str:
    values = {"id": str(world.watch_id if path.startswith("/api/v1/watchlist") else world.read_id),
              "sha256": world.image, **(ids or {})}
    return path.format(**values)


def fresh_read(world: World) -> int:
    r = world.client.post("/api/v1/read", data={"image": (io.BytesIO(world.jpeg), "car.jpg")}, headers=world.auth)
    return int(r.get_json()["id"])


SERIAL = itertools.count(1)  # new watchlist plates: each must differ


def fresh_watch(world: World) -> int:
    r = world.client.post("/api/v1/watchlist", json={"plate": f"FR{next(SERIAL)}ESH"}, headers=world.auth)
    return int(r.get_json()["id"])


def multipart(**fields: Any) -> dict[str, Any]:
    return {"data": fields, "content_type": "multipart/form-data"}


def valid_call(world: World, path: str, method: str, variant: str = "") -> Call:
    """A request the document says is valid (``variant`` picks another documented success)."""
    key = (path, method)
    jpeg, b64 = (world.jpeg, "car.jpg"), base64.b64encode(world.jpeg).decode()
    if key == ("/api/v1/read", "post"):
        if variant == "json":
            return Call(method, path, {"json": {"image": b64, "country": "gb", "store": False, "filename": "c.jpg"}})
        store = "false" if variant == "200" else "true"
        return Call(method, path, multipart(image=jpeg, country="gb", ocr="", lookup="false", store=store,
                                            camera_id="gate 1", zone=["0,0 1,0 1,1 0,1", "0,0 0.1,0 0,0.1"]))
    if key == ("/api/v1/read-video", "post"):
        store = "false" if variant == "200" else "true"
        return Call(method, path, multipart(video=(world.clip, "clip.avi"), fps="5", store=store,
                                            zone="0.2,0.2 0.8,0.2 0.8,0.9 0.2,0.9"))
    if key == ("/api/v1/reads", "get"):
        return Call(method, path, {"query_string": {"plate": "AB12", "mode": "prefix", "since": "2000-01-01",
                                                    "watchlist": "false", "page": "1", "per_page": "5"}})
    if key == ("/api/v1/reads/export", "get"):
        return Call(method, path, {"query_string": {"format": variant or "jsonl", "plate": "AB12CDE"}})
    if key == ("/api/v1/reads/{id}", "delete"):
        return Call(method, url_for(world, path, {"id": str(fresh_read(world))}), {})
    if key == ("/api/v1/watchlist/{id}", "delete"):
        return Call(method, url_for(world, path, {"id": str(fresh_watch(world))}), {})
    if key == ("/api/v1/watchlist", "post"):
        return Call(method, path, {"json": {"plate": f"VA{next(SERIAL)}LID", "label": "x", "max_distance": 0}})
    if key == ("/api/v1/watchlist/{id}", "patch"):
        return Call(method, url_for(world, path), {"json": {"label": "kept", "max_distance": 1}})
    if key == ("/v1/plate-reader/", "post"):
        return Call(method, path, multipart(upload=jpeg, regions="gb", camera_id="gate 2"))
    return Call(method, url_for(world, path), {})


def schema_of(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "components": doc["components"]}


def conforms(doc: dict[str, Any], r: TestResponse, path: str, method: str) -> Any:
    """Assert the status is documented for the operation, the media type is one it documents, and a JSON body
    fits its schema; return the JSON body (or None)."""
    responses = doc["paths"][path][method]["responses"]
    status = str(r.status_code)
    text = r.get_data().decode("utf-8", "replace")
    assert status in responses, f"{method.upper()} {path} answered {status}, not documented: {text[:300]}"
    assert "Traceback" not in text
    assert r.status_code < 500 or status == "503", text[:300]
    content = responses[status].get("content")
    if not content:
        assert r.status_code == 204 or not r.data, f"{method.upper()} {path} {status}: a body, none documented"
        return None
    assert r.mimetype in content, f"{method.upper()} {path} {status}: {r.mimetype}, documented {list(content)}"
    schema = content[r.mimetype].get("schema")
    if r.mimetype == "application/json":
        body = r.get_json()
    elif r.mimetype == "application/x-ndjson":
        body = [json.loads(line) for line in text.splitlines()]
        schema = {"type": "array", "items": schema}
    else:
        return None
    errors = sorted(Draft202012Validator(schema_of(doc, schema)).iter_errors(body), key=str)
    assert not errors, f"{method.upper()} {path} {status}: {errors[0].message} at {list(errors[0].absolute_path)}"
    return body


def refused(doc: dict[str, Any], r: TestResponse, path: str, method: str, status: int | None = None,
            name: str | None = None) -> dict[str, Any]:
    """Assert a documented 4xx (``status`` where given) with the documented error body naming ``name``."""
    body = conforms(doc, r, path, method)
    assert 400 <= r.status_code < 500, (r.status_code, r.get_data(as_text=True)[:300])
    if status is not None:
        assert r.status_code == status, (r.status_code, body)
    error = body["error"]
    assert set(error) == {"code", "message"} and error["code"] and error["message"], body
    if name is not None:
        assert repr(name)[:20] in error["message"] or name in error["message"], (name, error["message"])
    return body  # type: ignore[no-any-return]


# The document itself.


def test_the_served_document_is_the_document_and_a_valid_openapi_31(world: World) -> None:
    from openapi_spec_validator import validate

    served = world.doc
    assert served == DOC
    validate(served)
    assert {op_id(op) for op in OPERATIONS} >= {"POST /api/v1/read", "GET /api/v1/reads", "GET /metrics"}


# Routes and methods.


@pytest.mark.parametrize("path", list(DOC["paths"]))
def test_each_path_answers_its_documented_methods_and_405_to_the_others(world: World, path: str) -> None:
    documented = {m for m in METHODS if m in DOC["paths"][path]}
    for method in documented:
        r = valid_call(world, path, method).send(world.client, world.auth)
        assert r.status_code not in (404, 405), (method, path, r.get_data(as_text=True)[:200])
    for method in set(METHODS) - documented:
        r = world.client.open(url_for(world, path), method=method.upper(), headers=world.auth)
        assert r.status_code == 405 and r.get_json()["error"]["code"] == "method_not_allowed", (method, path)
        allowed = {m.strip().lower() for m in r.headers["Allow"].split(",")}
        assert allowed - {"head", "options"} == documented


# Valid requests: documented statuses, bodies that fit their schemas.

SUCCESS_VARIANTS = {
    ("/api/v1/read", "post"): ["", "200", "json"],
    ("/api/v1/read-video", "post"): ["", "200"],
    ("/api/v1/reads/export", "get"): ["csv", "jsonl"],
}


@pytest.mark.parametrize("op", OPERATIONS, ids=op_id)
def test_valid_requests_get_documented_answers_that_fit_their_schemas(world: World, op: tuple[str, str]) -> None:
    path, method = op
    doc = world.doc
    successes = {s for s in doc["paths"][path][method]["responses"] if s.startswith("2")}
    seen = set()
    for variant in SUCCESS_VARIANTS.get(op, [""]):
        r = valid_call(world, path, method, variant).send(world.client, world.auth if op in SECURED else None)
        conforms(doc, r, path, method)
        assert r.status_code < 300, r.get_data(as_text=True)[:300]
        seen.add(str(r.status_code))
    assert seen == successes, f"documented {successes}, produced {seen}"


def test_the_exports_page_parameters_are_checked_but_do_not_limit_it(world: World) -> None:
    for _ in range(2):
        fresh_read(world)
    r = world.client.get("/api/v1/reads/export?format=jsonl&page=2&per_page=1", headers=world.auth)
    rows = conforms(world.doc, r, "/api/v1/reads/export", "get")
    assert len(rows) >= 3
    r = world.client.get("/api/v1/reads/export?page=0", headers=world.auth)
    refused(world.doc, r, "/api/v1/reads/export", "get", 422, "page")


# Every documented error status is produced, and the ways to any other one answer a documented status.


def error_call(world: World, path: str, method: str, status: str) -> tuple[Call, dict[str, str] | None]:
    """A request that should get ``status`` from the operation."""
    call = valid_call(world, path, method)
    if status in ("401", "403"):
        return call, None
    if status == "404":
        return Call(method, url_for(world, path, {"id": NO_SUCH_ID, "sha256": "0" * 64}), call.kwargs), world.auth
    if status == "415":
        return Call(method, call.url, {"data": "plate=AB12", "content_type": "text/plain"}), world.auth
    if status == "422":
        return Call(method, call.url, {**call.kwargs, "query_string": {"bogus": "1"}}), world.auth
    if status == "400":
        bad = {
            ("/api/v1/read", "post"): {"json": {"image": "not base64!!"}},
            ("/api/v1/read-video", "post"): multipart(fps="2"),
            ("/v1/plate-reader/", "post"): multipart(camera_id="gate"),
        }.get((path, method), {"data": "{oops", "content_type": "application/json"})
        return Call(method, call.url, bad), world.auth
    raise AssertionError(f"no request for {status}")


@pytest.mark.parametrize("op", OPERATIONS, ids=op_id)
def test_every_documented_error_status_is_produced(world: World, small: tuple[FlaskClient, dict[str, str]],
                                                   monkeypatch: pytest.MonkeyPatch, op: tuple[str, str]) -> None:
    path, method = op
    doc = world.doc
    documented = sorted(s for s in doc["paths"][path][method]["responses"] if not s.startswith("2"))
    for status in documented:
        before = world.stored()
        if status == "429":
            headers = world.token(max_calls=1)
            world.client.get("/api/v1/watchlist", headers=headers)  # its one call
            r = valid_call(world, path, method).send(world.client, headers)
        elif status == "413":
            r = oversized_call(path, method).send(*small)
        elif status == "503":
            call = valid_call(world, path, method)
            with monkeypatch.context() as patch:
                storage_down(world, patch, op)
                r = call.send(world.client, world.auth if op in SECURED else None)
        else:
            call, headers = error_call(world, path, method, status)
            r = call.send(world.client, headers)
        assert str(r.status_code) == status, (status, r.status_code, r.get_data(as_text=True)[:300])
        conforms(doc, r, path, method)
        if status != "503":
            refused(doc, r, path, method)
            if method in ("post", "patch"):
                assert world.stored() == before


def storage_down(world: World, patch: pytest.MonkeyPatch, op: tuple[str, str]) -> None:
    """Make the database fail as it does when it cannot be reached: on the operation's first use of it."""
    state = get_state(world.app)

    def down(*_args: Any, **_kwargs: Any) -> Any:
        raise StoreError("database is locked")

    if op in SECURED:
        patch.setattr(state.tokens, "authenticate", down)
    patch.setattr(state.reads, "counts", down)


@pytest.mark.parametrize("op", OPERATIONS, ids=op_id)
def test_a_storage_outage_is_a_documented_503_without_details(world: World, monkeypatch: pytest.MonkeyPatch,
                                                              op: tuple[str, str]) -> None:
    path, method = op
    call = valid_call(world, path, method)
    storage_down(world, monkeypatch, op)
    r = call.send(world.client, world.auth if op in SECURED else None)
    body = conforms(world.doc, r, path, method)
    assert r.status_code == 503 and body["error"]["code"] == "storage_unavailable"
    assert "locked" not in r.get_data(as_text=True)  # the detail goes to the log


@pytest.mark.parametrize("op", SECURED, ids=op_id)
def test_a_token_past_its_monthly_calls_gets_a_documented_answer(world: World, op: tuple[str, str]) -> None:
    path, method = op
    headers = world.token(max_calls=1)
    world.client.get("/api/v1/watchlist", headers=headers)
    call = valid_call(world, path, method)
    before = world.stored()
    r = call.send(world.client, headers)
    conforms(world.doc, r, path, method)  # 429, or the answer of an operation that is not counted
    if r.status_code == 429:
        assert "calls for" in r.get_json()["error"]["message"] and world.stored() == before


def oversized_call(path: str, method: str) -> Call:
    """A body over the small app's 10 kB limit, of a content type the operation takes."""
    big = (b"\xff\xd8\xff" + bytes(50_000), "big.jpg")
    if "multipart/form-data" in DOC["paths"][path][method]["requestBody"]["content"]:
        return Call(method, path, multipart(image=big, video=big, upload=big))
    return Call(method, path.format(id="1"), {"json": {"plate": "AB1", "label": "x" * 50_000}})


@pytest.mark.parametrize("op", [op for op in OPERATIONS if "requestBody" in DOC["paths"][op[0]][op[1]]], ids=op_id)
def test_an_oversized_body_gets_a_documented_413(small: tuple[FlaskClient, dict[str, str]],
                                                 op: tuple[str, str]) -> None:
    path, method = op
    refused(DOC, oversized_call(path, method).send(*small), path, method, 413)


# Tokens.

BAD_TOKENS = [{}, {"Authorization": ""}, {"Authorization": "Token"}, {"Authorization": "Token   "},
              {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Token not-a-token"},
              {"Authorization": "Token " + "x" * 10_000}, {"Authorization": "Token tökén"},
              {"Authorization": "Bearer \x7f"}]


@pytest.mark.parametrize("op", SECURED, ids=op_id)
def test_a_missing_or_invalid_token_is_refused_and_nothing_is_stored(world: World, op: tuple[str, str]) -> None:
    path, method = op
    call = valid_call(world, path, method)
    before = world.stored()
    for headers in BAD_TOKENS:
        r = call.send(world.client, headers)
        body = refused(world.doc, r, path, method)
        assert r.status_code in (401, 403) and body["error"]["code"] == "unauthorized", headers
    assert world.stored() == before


@pytest.mark.parametrize("op", OPEN, ids=op_id)
def test_operations_documented_without_security_need_no_token(world: World, op: tuple[str, str]) -> None:
    path, method = op
    r = valid_call(world, path, method).send(world.client, {"Authorization": "Token not-a-token"})
    assert r.status_code == 200
    conforms(world.doc, r, path, method)


# Content types.


@pytest.mark.parametrize("op", [op for op in OPERATIONS if "requestBody" in DOC["paths"][op[0]][op[1]]], ids=op_id)
def test_a_body_of_an_undocumented_content_type_is_415(world: World, op: tuple[str, str]) -> None:
    path, method = op
    documented = set(DOC["paths"][path][method]["requestBody"]["content"])
    url = valid_call(world, path, method).url
    before = world.stored()
    bodies = [("text/plain", "plate=AB12"), ("application/xml", "<plate>AB12</plate>"), ("image/jpeg", world.jpeg),
              ("application/x-www-form-urlencoded", "plate=AB12&image=abc&video=abc"), (None, b"")]
    for content_type, data in bodies:
        if content_type in documented or (content_type == "application/x-www-form-urlencoded"
                                           and path == "/v1/plate-reader/"):  # their API takes forms
            continue
        r = world.client.open(url, method=method.upper(), headers=world.auth, data=data, content_type=content_type)
        refused(world.doc, r, path, method, 415)
    assert world.stored() == before


# Parameters: each bad value is a documented 4xx naming the parameter; nothing stored changes.


@dataclass(frozen=True)
class Param:
    where: str  # query, multipart, json
    name: str
    schema: dict[str, Any]


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return resolve(DOC["components"]["schemas"][schema["$ref"].rpartition("/")[2]])
    return schema


def params_of(path: str, method: str) -> list[Param]:
    operation = DOC["paths"][path][method]
    out = [Param("query", p["name"], p["schema"]) for p in operation.get("parameters", []) if p["in"] == "query"]
    for media, content in operation.get("requestBody", {}).get("content", {}).items():
        where = {"multipart/form-data": "multipart", "application/json": "json"}[media]
        out += [Param(where, name, resolve(s)) for name, s in resolve(content["schema"])["properties"].items()]
    return out


FILES = {"image", "video", "upload"}
PARAMS = [(path, method, p) for path, method in OPERATIONS for p in params_of(path, method) if p.name not in FILES]
# What each parameter refuses, beyond what its schema's type and bounds say.
BAD_BY_NAME: dict[str, list[Any]] = {
    "country": ["zz", "Great Britain", "ｇｂ", "g\x00b", "x" * 5000],
    "ocr": ["gpt", "ＰＬＡＴＥＯＣＲ", "x" * 5000],
    "camera_id": ["\x00", "<script>", "x" * 129, "cam\u202e", " "],
    "config": ["abc", "[]", '{"threshold_d": 2}', '{"threshold_o": "x"}', '{"threshold_d": NaN}'],
    "plate": ["", "   ", "x" * 5000],  # the watchlist's plate is required; the search's longer than 32 (by schema)
    "label": ["x" * 5000],
    # Detection zones: too few or too many points, values outside 0-1 or not numbers, crossing, no area.
    "zone": ["0,0 1,0", "0,0 1,0 nan,1", "0,0 1,0 1,inf", "0,0 1.5,0 1,1", "0,0 1,1 1,0 0,1", "0,0 0.5,0.5 1,1",
             " ".join(["0.5,0.5"] * 65), "x" * 5000, "0,0;1,0;1,1", "\uff10,0 1,0 1,1", ["0,0 1,0 1,1"] * 17],
}
VALID_BY_NAME = {"country": "gb", "ocr": "plateocr", "lookup": "false", "store": "false", "camera_id": "gate",
                 "fps": "2", "plate": "AB12", "mode": "exact", "distance": "1", "since": "2020-01-01",
                 "until": "2030-01-01", "source": "api", "watchlist": "false", "page": "1", "per_page": "5",
                 "format": "csv", "timestamp": "2020-01-01T00:00:00Z", "config": "{}", "mmc": "false",
                 "label": "x", "max_distance": "1", "filename": "x.jpg"}


def bad_values(param: Param) -> list[Any]:
    """Text values the parameter must refuse (the form and query kinds), from its schema and its name."""
    s = param.schema
    kind = s.get("type")
    values: list[Any] = list(BAD_BY_NAME.get(param.name, []))
    if param.name == "plate" and param.where == "query":
        values = ["x" * (s.get("maxLength", 32) + 1), "x" * 5000]
    if "enum" in s:
        values += ["nope", "x" * 5000, "\uff45\uff58\uff41\uff43\uff54", "\x00"]
    elif kind == "integer":
        values += ["abc", "1.5", "1e3", "NaN", "inf", "1_0", "\uff11", "\u0661", "9" * 5000, "0x1", "[1]"]
        values += [str(s["minimum"] - 1)] if "minimum" in s else []
        values += [str(s["maximum"] + 1)] if "maximum" in s else []
    elif kind == "number":
        values += ["abc", "NaN", "nan", "inf", "-inf", "Infinity", "1e400", "\uff12", "2_0", "0x2", "1,5"]
        values += [str(s["minimum"] / 2), str(-s["minimum"])] if "minimum" in s else []
        values += [str(s["maximum"] + 0.5)] if "maximum" in s else []
    elif kind == "boolean":
        values += ["maybe", "2", "-1", "NaN", "\uff54\uff52\uff55\uff45", "x" * 5000]
    elif s.get("format") == "date-time":
        values += ["yesterday", "2026-13-01", "2026-02-30", "2026-01-01T25:00", "9999-12-31T23:59:59-05:00",
                   "0001-01-01T00:00:00+01:00", "NaN", "\uff12\uff10\uff12\uff16-01-01", "x" * 5000]
    elif "maxLength" in s and param.name not in BAD_BY_NAME:
        values += ["x" * (s["maxLength"] + 1)]
    return values


JSON_BAD_TYPES: dict[str, list[Any]] = {
    "string": [5, True, ["x"], {"a": "b"}],
    "integer": ["1", 1.5, True, None, [1], {"n": 1}, 10**30],
    "boolean": [[], {}, "maybe", 1.5, [True]],
    "array": [5, True, {"a": "b"}, [5], [None], "0,0 1,0 1,1"],
}
# Numbers JSON itself has no way to write, as Python's json module reads them.
JSON_BAD_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e400"]


def field_call(world: World, path: str, method: str, param: Param, value: Any) -> Call:
    """The operation's valid request with ``param`` set to ``value`` (``value`` a list: the parameter repeated)."""
    call = valid_call(world, path, method)
    kwargs = dict(call.kwargs)
    if param.where == "query":
        query = dict(kwargs.get("query_string", {}))
        query[param.name] = value
        return Call(method, call.url, {**kwargs, "query_string": query})
    if param.where == "multipart":
        data = {k: v for k, v in kwargs["data"].items() if isinstance(v, tuple)}  # the file; one option at a time
        data[param.name] = value
        # Werkzeug's test client sends a list as the field repeated.
        return Call(method, call.url, {"data": data, "content_type": "multipart/form-data"})
    body = {"image": base64.b64encode(world.jpeg).decode()} if path == "/api/v1/read" else {}
    if path == "/api/v1/watchlist":
        body = {"plate": "JS0N1"}
    if isinstance(value, RawJSON):
        text = json.dumps({**body, param.name: 0}).replace(f'"{param.name}": 0', f'"{param.name}": {value.text}')
        return Call(method, call.url, {"data": text, "content_type": "application/json"})
    return Call(method, call.url, {"json": {**body, param.name: value}})


@dataclass(frozen=True)
class RawJSON:
    text: str


def cases() -> Iterator[Any]:
    for path, method, param in PARAMS:
        values: list[Any] = list(bad_values(param))
        if param.where == "json":
            if param.schema.get("type") == "integer":  # out of range as JSON numbers too
                values += [param.schema["minimum"] - 1, param.schema["maximum"] + 1]
            values += JSON_BAD_TYPES.get(param.schema.get("type", "string") if "enum" not in param.schema
                                         else "string", [])
            if param.schema.get("type") in ("integer", "number"):
                values += [RawJSON(t) for t in JSON_BAD_NUMBERS]
        elif param.name in VALID_BY_NAME and path not in LENIENT:
            values.append([VALID_BY_NAME[param.name]] * 2)  # repeated
        for value in values:
            shown = repr(value)[:24]
            yield pytest.param(path, method, param, value, id=f"{method.upper()} {path} {param.where} "
                                                              f"{param.name}={shown}")


@pytest.mark.parametrize(("path", "method", "param", "value"), list(cases()))
def test_a_bad_parameter_value_is_a_documented_4xx_naming_it(world: World, path: str, method: str, param: Param,
                                                             value: Any) -> None:
    before = world.stored()
    r = field_call(world, path, method, param, value).send(world.client, world.auth)
    own_api = path.startswith("/api/")
    refused(world.doc, r, path, method, 422 if own_api else None, param.name if own_api else None)
    assert world.stored() == before


def edge_values(schema: dict[str, Any]) -> list[str]:
    """Values the schema allows at its edges (or far out, where it sets no bound)."""
    if schema.get("type") == "integer":
        return [str(schema.get("minimum", -(10**9))), str(schema.get("maximum", 10**9))]
    if schema.get("type") == "string" and "format" not in schema:
        return ["A" * schema.get("maxLength", 100)]
    return []


QUERY_EDGES = [pytest.param(path, method, p, value, id=f"{method.upper()} {path} {p.name}={value[:12]}")
               for path, method, p in PARAMS if p.where == "query" for value in edge_values(p.schema)]


@pytest.mark.parametrize(("path", "method", "param", "value"), QUERY_EDGES)
def test_query_values_at_the_documented_bounds_are_accepted(world: World, path: str, method: str, param: Param,
                                                            value: str) -> None:
    r = field_call(world, path, method, param, value).send(world.client, world.auth)
    conforms(world.doc, r, path, method)
    assert r.status_code == 200, r.get_data(as_text=True)[:300]


@pytest.mark.parametrize("op", [op for op in OPERATIONS if op[0] not in LENIENT], ids=op_id)
def test_an_unknown_query_parameter_is_422_naming_it(world: World, op: tuple[str, str]) -> None:
    path, method = op
    call = valid_call(world, path, method)
    before = world.stored()
    for name in ("bogus", "contry", "\u202epage", "x" * 5000):
        query = {**call.kwargs.get("query_string", {}), name: "1"}
        r = Call(method, call.url, {**call.kwargs, "query_string": query}).send(world.client, world.auth)
        refused(world.doc, r, path, method, 422, name[:40])
    if method != "delete":
        assert world.stored() == before


@pytest.mark.parametrize(("path", "media", "field"), [
    ("/api/v1/read", "multipart", "contry"), ("/api/v1/read", "multipart", "image2"),
    ("/api/v1/read", "json", "contry"), ("/api/v1/read-video", "multipart", "fpz"),
    ("/api/v1/watchlist", "json", "lable"),
])
def test_an_unknown_body_field_is_422_naming_it(world: World, path: str, media: str, field: str) -> None:
    param = Param(media, field, {"type": "string"})
    value: Any = (world.jpeg, "second.jpg") if field == "image2" else "gb"
    before = world.stored()
    r = field_call(world, path, "post", param, value).send(world.client, world.auth)
    refused(world.doc, r, path, "post", 422, field)
    assert world.stored() == before


def test_two_photos_in_one_read_are_422(world: World) -> None:
    before = world.stored()
    data = {"image": [(io.BytesIO(world.jpeg), "a.jpg"), (io.BytesIO(world.jpeg), "b.jpg")]}
    r = world.client.post("/api/v1/read", data=data, headers=world.auth, content_type="multipart/form-data")
    refused(world.doc, r, "/api/v1/read", "post", 422, "image")
    assert world.stored() == before


@pytest.mark.parametrize("path", ["/api/v1/reads/{id}", "/api/v1/watchlist/{id}", "/api/v1/images/{sha256}"])
@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", "\uff19", "9" * 30, "%00", "..", "%2e%2e%2fx", "%FF"])
def test_a_bad_path_parameter_is_a_json_404(world: World, path: str, value: str) -> None:
    before = world.stored()
    for method in [m for m in METHODS if m in DOC["paths"][path]]:
        url = path.replace("{id}", value).replace("{sha256}", value)
        r = world.client.open(url, method=method.upper(), headers=world.auth, json={"label": "x"})
        assert r.status_code == 404 and set(r.get_json()["error"]) == {"code", "message"}, (method, url)
    assert world.stored() == before


@pytest.mark.parametrize("body", [{"max_distance": None}, {"max_distance": "2"}, {"label": None}])
def test_a_watchlist_patch_with_a_null_or_text_distance_changes_nothing(world: World, body: dict[str, Any]) -> None:
    url = f"/api/v1/watchlist/{world.watch_id}"
    world.client.patch(url, json={"max_distance": 2}, headers=world.auth)
    before = world.stored()
    r = world.client.patch(url, json=body, headers=world.auth)
    refused(world.doc, r, "/api/v1/watchlist/{id}", "patch", 422, next(iter(body)))
    assert world.stored() == before
    world.client.patch(url, json={"max_distance": 1}, headers=world.auth)


def test_metrics_errors_are_the_documented_json_body(world: World) -> None:
    r = world.client.post("/metrics")
    assert r.status_code == 405 and r.get_json()["error"]["code"] == "method_not_allowed"


def test_a_deeply_nested_plate_reader_config_is_a_4xx(world: World) -> None:
    data = {"upload": (io.BytesIO(world.jpeg), "car.jpg"), "config": "[" * 100_000}
    r = world.client.post("/v1/plate-reader/", data=data, headers=world.auth, content_type="multipart/form-data")
    refused(world.doc, r, "/v1/plate-reader/", "post")


def test_a_bad_read_option_is_refused_before_the_image_is_read(world: World, monkeypatch: pytest.MonkeyPatch,
                                                                ) -> None:
    calls: list[Callable[..., Any]] = []
    state = get_state(world.app)
    monkeypatch.setattr(state, "reader_for", lambda *a: calls.append(a))  # type: ignore[func-returns-value]
    r = world.client.post("/api/v1/read", json={"image": base64.b64encode(world.jpeg).decode(), "camera_id": True},
                          headers=world.auth)
    refused(world.doc, r, "/api/v1/read", "post", 422, "camera_id")
    assert calls == []
