"""The REST API under ``/api/v1``: read images, browse and delete the history, manage the watchlist."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from numberplate.recognition import available_backends
from numberplate.store.clock import utcnow
from numberplate.store.export import EXPORT_FORMATS, MEDIA_TYPES, ExportFormat, ExportRow, Links, export_text
from numberplate.store.reads import MAX_PER_PAGE, SEARCH_MODES, SOURCES, ReadQuery, ReadStore
from numberplate.types import PlateRead
from numberplate.web.auth import require_token
from numberplate.web.errors import WebError
from numberplate.web.params import (
    as_bool,
    as_camera,
    as_choice,
    as_country_hint,
    as_datetime,
    as_float,
    as_int,
    as_string,
    as_zones,
    check_names,
    clean_filename,
    decode_base64,
    invalid,
    json_object,
)
from numberplate.web.service import (
    ReadOptions,
    ReadOutcome,
    VideoOutcome,
    media_kind,
    peek,
    read_upload,
    read_video_upload,
    stored_image,
)
from numberplate.web.state import get_state

URL_PREFIX = "/api/v1"
bp = Blueprint("api", __name__, url_prefix=URL_PREFIX)

IMAGE_FIELD = "image"
VIDEO_FIELD = "video"
READ_OPTIONS = ("country", "ocr", "lookup", "store", "camera_id", "zone")
REPEATABLE = ("zone",)  # options that may be given more than once
SEARCH_PARAMETERS = ("plate", "mode", "distance", "since", "until", "camera_id", "source", "watchlist")
PAGE_PARAMETERS = ("page", "per_page")
QUERY_PARAMETERS: dict[str, tuple[str, ...]] = {
    "api.list_reads": (*SEARCH_PARAMETERS, *PAGE_PARAMETERS),
    "api.export_reads": ("format", *SEARCH_PARAMETERS, *PAGE_PARAMETERS),  # pages: checked, then ignored
}
"""The query parameters of each endpoint; the others take none (their options go in the body)."""


@bp.before_request
def _authenticate() -> None:
    if request.endpoint != "api.health":  # a liveness probe answers whatever it is sent
        require_token()
        check_names(request.args, QUERY_PARAMETERS.get(request.endpoint or "", ()), "query parameter")


def _image_from_request() -> tuple[bytes, str, dict[str, Any]]:
    """The image bytes, a name for messages, and the options, from a multipart form or a JSON body."""
    mimetype = request.mimetype
    if mimetype == "multipart/form-data":
        files = [f for f in request.files.getlist(IMAGE_FIELD) if f.filename]
        if not files:
            raise WebError(400, "missing_image", f"send the photo as the multipart file field {IMAGE_FIELD!r}")
        check_names(request.form, READ_OPTIONS, "field", REPEATABLE)
        check_names(request.files, (IMAGE_FIELD,), "file field")
        upload = files[0]
        return upload.read(), clean_filename(upload.filename), request.form  # a MultiDict: zone repeats
    if mimetype == "application/json":
        body = json_object()
        encoded = body.get(IMAGE_FIELD)
        if not isinstance(encoded, str) or not encoded.strip():
            raise WebError(400, "missing_image", f"send the photo base64-encoded in the JSON field {IMAGE_FIELD!r}")
        try:
            data = decode_base64(encoded)
        except ValueError as e:
            raise WebError(400, "bad_base64", f"the JSON field {IMAGE_FIELD!r} is not valid base64") from e
        check_names(body, (IMAGE_FIELD, "filename", *READ_OPTIONS), "field")
        return data, clean_filename(as_string("filename", body.get("filename"))), body
    raise WebError(
        415, "unsupported_media_type",
        f"send multipart/form-data (file field {IMAGE_FIELD!r}) or application/json (base64 {IMAGE_FIELD!r}), "
        f"not {mimetype or 'no content type'}",
    )


def plate_json(read: PlateRead, stored: dict[str, Any] | None) -> dict[str, Any]:
    """One plate of a read response: the reader's fields plus its stored id, crop and watchlist hit."""
    out = read.to_dict()
    out["id"] = stored["id"] if stored else None
    out["crop"] = stored["crop"] if stored else None
    out["watchlist"] = stored["watchlist"] if stored else None
    return out


def read_json(outcome: ReadOutcome) -> dict[str, Any]:
    """The body of ``POST /api/v1/read``."""
    stored = outcome.stored.to_dict() if outcome.stored else None
    plates = [
        plate_json(p, stored["plates"][i] if stored else None) for i, p in enumerate(outcome.result.plates)
    ]
    return {
        "id": stored["id"] if stored else None,
        "created_at": stored["created_at"] if stored else None,
        "width": outcome.result.width,
        "height": outcome.result.height,
        "processing_time_ms": round(outcome.result.processing_time_ms, 1),
        "plates": plates,
        "watchlist_hits": [p["watchlist"] for p in plates if p["watchlist"]],
    }


@bp.post("/read")
def read() -> tuple[Response, int]:
    """Read every plate in one image; options: country, ocr, lookup, store, camera_id, zone (repeatable)."""
    state = get_state()
    data, name, form = _image_from_request()
    if not data:
        raise WebError(400, "empty_image", f"the image {name[:80]} is empty (0 bytes)")
    options = _read_options(form, "api", name)
    if media_kind(data) == "video":
        raise WebError(415, "video_not_image", f"{name[:80]} is a video, not a photo: POST it to "
                       f"{URL_PREFIX}/read-video as the multipart file field {VIDEO_FIELD!r}")
    outcome = read_upload(state, data, options)
    return jsonify(read_json(outcome)), 201 if outcome.stored else 200


DEFAULT_VIDEO_FPS = 2.0


@bp.post("/read-video")
def read_video() -> tuple[Response, int]:
    """Read the plates passing in one uploaded video; options: fps, country, ocr, lookup, store, camera_id, zone
    (repeatable)."""
    state = get_state()
    if request.mimetype != "multipart/form-data":
        raise WebError(415, "unsupported_media_type",
                       f"send the video as the multipart/form-data file field {VIDEO_FIELD!r}, "
                       f"not {request.mimetype or 'no content type'}")
    files = [f for f in request.files.getlist(VIDEO_FIELD) if f.filename]
    if not files:
        raise WebError(400, "missing_video", f"send the video as the multipart file field {VIDEO_FIELD!r}")
    form = request.form
    check_names(form, ("fps", *READ_OPTIONS), "field", REPEATABLE)
    check_names(request.files, (VIDEO_FIELD,), "file field")
    fps = as_float("fps", form.get("fps"), DEFAULT_VIDEO_FPS, 0.1, 10.0)
    name = clean_filename(files[0].filename, "video")
    options = _read_options(form, "video", name)
    if media_kind(peek(files[0].stream)) == "image":
        raise WebError(415, "image_not_video",
                       f"{name[:80]} is a still image, not a video: POST it to "
                       f"{URL_PREFIX}/read as the multipart file field {IMAGE_FIELD!r}")
    outcome = read_video_upload(state, files[0].stream, fps, options)
    return jsonify(video_json(outcome, fps)), 201 if any(r.stored for r in outcome.reads) else 200


def video_json(outcome: VideoOutcome, fps: float) -> dict[str, Any]:
    """The body of ``POST /api/v1/read-video``: the video, then one entry per plate, in order of appearance."""
    plates = []
    for event, read in zip(outcome.events, outcome.reads, strict=True):
        record = read.stored.to_dict() if read.stored else None
        plate = event.to_dict()
        plate["read_id"] = record["id"] if record else None
        plate["crop"] = record["plates"][0]["crop"] if record else None
        plate["watchlist"] = record["plates"][0]["watchlist"] if record else None
        plates.append(plate)
    return {
        "width": outcome.width,
        "height": outcome.height,
        "duration_s": round(outcome.duration_s, 3) if outcome.duration_s is not None else None,
        "fps_read": fps,
        "frames_read": outcome.frames_read,
        "processing_time_ms": round(outcome.processing_time_ms, 1),
        "plates": plates,
        "watchlist_hits": [p["watchlist"] for p in plates if p["watchlist"]],
        "warnings": list(outcome.warnings),
    }


def _read_options(form: Any, source: str, name: str) -> ReadOptions:
    """The read options of a request (each bad one is a 422): country, ocr, lookup, store, camera_id, zone."""
    getlist = getattr(form, "getlist", None)  # a form's repeated field; a JSON body's list
    zones = getlist("zone") if getlist else form.get("zone")
    return ReadOptions(
        country=as_country_hint("country", form.get("country")),
        ocr=as_choice("ocr", form.get("ocr"), available_backends(), None),
        lookup=as_bool("lookup", form.get("lookup"), get_state().config.lookup_on_read),
        store=as_bool("store", form.get("store"), True),
        source=source,
        camera_id=as_camera("camera_id", form.get("camera_id")),
        filename=name[:255],
        token_id=_token_id(),
        zones=as_zones("zone", zones),
    )


def _token_id() -> int | None:
    from flask import g

    token = getattr(g, "token", None)
    return token.id if token else None


MAX_PAGE = 1_000_000
MAX_PLATE_QUERY = 32


def read_query(args: Any) -> ReadQuery:
    """A history query from request parameters (each bad one is a 422)."""
    mode = as_choice("mode", args.get("mode"), SEARCH_MODES, "exact") or "exact"
    since, until = as_datetime("since", args.get("since")), as_datetime("until", args.get("until"))
    if since and until and since >= until:
        raise invalid("until", "must be later than 'since'")
    plate = args.get("plate")
    if plate is not None and len(plate) > MAX_PLATE_QUERY:
        raise invalid("plate", f"must be at most {MAX_PLATE_QUERY} characters")
    return ReadQuery(
        plate=plate or None,
        mode=mode,  # type: ignore[arg-type]
        distance=as_int("distance", args.get("distance"), 1, 1, 2),
        since=since,
        until=until,
        camera_id=as_camera("camera_id", args.get("camera_id")),
        source=as_choice("source", args.get("source"), SOURCES, None),
        watchlist_only=as_bool("watchlist", args.get("watchlist"), False),
        page=as_int("page", args.get("page"), 1, 1, MAX_PAGE),
        per_page=as_int("per_page", args.get("per_page"), 20, 1, MAX_PER_PAGE),
    )


@bp.get("/reads")
def list_reads() -> Response:
    """The history, newest first: plate (exact, prefix or fuzzy), dates, camera, source, pages."""
    return jsonify(get_state().reads.search(read_query(request.args)).to_dict())


def export_format(args: Any) -> ExportFormat:
    """The ``format`` parameter of an export: csv (the default) or jsonl; any other is a 422 naming them."""
    return as_choice("format", args.get("format"), EXPORT_FORMATS, "csv")  # type: ignore[return-value]


def export_response(store: ReadStore, query: ReadQuery, fmt: ExportFormat, links: Links) -> Response:
    """The reads matching ``query`` as a CSV or JSON Lines download, streamed as it is read from the database.

    The body is produced after the view has returned, outside the request context: it needs none (``links``
    comes from :func:`export_links`). The first piece is read before the response starts, so that a database
    that cannot be read is an error response rather than a download cut short.
    """
    pieces: Iterator[str] = export_text(store.db, query, fmt, links)
    first = next(pieces, "")
    body = (piece.encode("utf-8") for piece in chain((first,), pieces))
    name = f"numberplate-reads-{utcnow().date().isoformat()}.{fmt}"
    return Response(
        body,
        content_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


def export_links(read_endpoint: str, image_endpoint: str) -> Links:
    """The URL paths of each exported read (``read_endpoint``), its photo and its crop (``image_endpoint``), built
    with this request's URL adapter so that they can be built after the request context has gone."""
    adapter = current_app.create_url_adapter(request)
    assert adapter is not None  # there is one for every request

    def links(row: ExportRow) -> dict[str, str | None]:
        return {
            "read_url": adapter.build(read_endpoint, {"read_id": row.read_id}),
            "image_url": adapter.build(image_endpoint, {"sha256": row.image_sha256}) if row.image_sha256 else None,
            "crop_url": adapter.build(image_endpoint, {"sha256": row.crop_sha256}) if row.crop_sha256 else None,
        }

    return links


@bp.get("/reads/export")
def export_reads() -> Response:
    """Every read matching the search parameters (pages aside) as CSV or JSON Lines, one row per plate."""
    query = read_query(request.args)
    links = export_links("api.get_read", "api.image")
    return export_response(get_state().reads, query, export_format(request.args), links)


@bp.get("/reads/<id:read_id>")
def get_read(read_id: int) -> Response:
    """One stored read."""
    return jsonify(get_state().reads.get(read_id).to_dict())


@bp.delete("/reads/<id:read_id>")
def delete_read(read_id: int) -> tuple[str, int]:
    """Delete a read with its image and crops."""
    get_state().reads.delete(read_id)
    return "", 204


@bp.get("/images/<sha256>")
def image(sha256: str) -> Response:
    """A stored photo or plate crop (JPEG) by the id a read gives."""
    return stored_image(get_state(), sha256)


@bp.get("/watchlist")
def list_watchlist() -> Response:
    """Every watchlist entry."""
    return jsonify(items=[w.to_dict() for w in get_state().watchlist.list()])


WATCH_FIELDS = ("plate", "label", "max_distance")
WATCH_EDITABLE = ("label", "max_distance")


def _watch_fields(body: dict[str, Any], partial: bool) -> dict[str, Any]:
    """The label and max_distance of a watchlist request; any field it does not take is a 422 naming it."""
    allowed = WATCH_EDITABLE if partial else WATCH_FIELDS
    if partial and "plate" in body:
        raise invalid("plate", "cannot be changed: delete this entry and add the new plate")
    check_names(body, allowed, "field")
    fields: dict[str, Any] = {}
    if "label" in body or not partial:
        label = body.get("label", "")
        if not isinstance(label, str):
            raise invalid("label", "must be a string")
        fields["label"] = label
    if "max_distance" in body:
        distance = body["max_distance"]
        if isinstance(distance, bool) or not isinstance(distance, int):  # null would quietly mean the default
            raise invalid("max_distance", f"must be a whole number from 0 to 2, got {str(distance)[:20]!r}")
        fields["max_distance"] = as_int("max_distance", distance, 1, 0, 2)
    elif not partial:
        fields["max_distance"] = 1
    return fields


def _json_body() -> dict[str, Any]:
    """The JSON object a watchlist request sends; another content type is a 415."""
    if request.mimetype != "application/json":
        raise WebError(415, "unsupported_media_type",
                       f"send a JSON object (application/json), not {request.mimetype or 'no content type'}")
    return json_object()


@bp.post("/watchlist")
def add_watch() -> tuple[Response, int]:
    """Put a plate on the watchlist: ``{"plate": ..., "label": ..., "max_distance": 0-2}``."""
    body = _json_body()
    plate = body.get("plate")
    if plate is None or plate == "":
        raise invalid("plate", "is required: the plate to watch for")
    if not isinstance(plate, str):
        raise invalid("plate", "must be a string such as \"AB12CDE\"")
    if not plate.strip():
        raise invalid("plate", "is required: the plate to watch for")
    entry = get_state().watchlist.add(plate, **_watch_fields(body, partial=False))
    return jsonify(entry.to_dict()), 201


@bp.get("/watchlist/<id:watch_id>")
def get_watch(watch_id: int) -> Response:
    """One watchlist entry."""
    return jsonify(get_state().watchlist.get(watch_id).to_dict())


@bp.patch("/watchlist/<id:watch_id>")
def update_watch(watch_id: int) -> Response:
    """Change an entry's label or max_distance (the plate cannot change: delete the entry and add the new one)."""
    return jsonify(get_state().watchlist.update(watch_id, **_watch_fields(_json_body(), partial=True)).to_dict())


@bp.delete("/watchlist/<id:watch_id>")
def delete_watch(watch_id: int) -> tuple[str, int]:
    """Remove a watchlist entry."""
    get_state().watchlist.delete(watch_id)
    return "", 204


@bp.get("/health")
def health() -> Response:
    """Liveness and readiness: the database answers; whether the models are loaded yet."""
    state = get_state()
    counts = state.reads.counts()
    return jsonify(status="ok", models_loaded=state.reader_loaded, reads=counts["reads"])
