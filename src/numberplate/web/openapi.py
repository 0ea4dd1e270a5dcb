"""The OpenAPI 3.1 document of the REST API, served at ``/api/openapi.json`` (a test checks real responses)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from numberplate import __version__
from numberplate.detection.zones import MAX_ZONE_POINTS, MAX_ZONES
from numberplate.store.export import COLUMNS, EXPORT_FORMATS, LINK_COLUMNS, VEHICLE_FIELDS
from numberplate.store.reads import CAMERA_RULE, MAX_PER_PAGE, SEARCH_MODES, SOURCES
from numberplate.video.motion import GROWTH, MIN_TRAVEL, MOTIONS
from numberplate.web.api import MAX_PAGE, MAX_PLATE_QUERY

EXPORT_COLUMNS = (*COLUMNS, *LINK_COLUMNS)

bp = Blueprint("openapi", __name__)

NULLABLE_STR = {"type": ["string", "null"]}
BOX = {
    "type": "object",
    "required": ["xmin", "ymin", "xmax", "ymax"],
    "properties": {k: {"type": "integer"} for k in ("xmin", "ymin", "xmax", "ymax")},
}
CANDIDATE = {
    "type": "object",
    "required": ["text", "confidence"],
    "properties": {"text": {"type": "string"}, "confidence": {"type": "number", "minimum": 0, "maximum": 1}},
}
WATCH_HIT = {
    "type": ["object", "null"],
    "required": ["id", "plate", "label", "distance"],
    "properties": {"id": {"type": "integer"}, "plate": {"type": "string"}, "label": {"type": "string"},
                   "distance": {"type": "integer", "minimum": 0, "maximum": 2}},
}
VEHICLE = {
    "type": ["object", "null"],
    "required": ["plate", "source"],
    "properties": {
        "plate": {"type": "string"}, "source": {"type": "string"}, "year": {"type": ["integer", "null"]},
        **{k: NULLABLE_STR for k in ("make", "model", "colour", "fuel", "engine_size", "body", "registration_date",
                                     "tax_status", "inspection_status", "vin", "description")},
    },
}


def _obj(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


SCHEMAS: dict[str, Any] = {
    "Error": _obj(["error"], error=_obj(["code", "message"], code={"type": "string"}, message={"type": "string"})),
    "Box": BOX,
    "Candidate": CANDIDATE,
    "WatchHit": WATCH_HIT,
    "Vehicle": VEHICLE,
    "ReadPlate": _obj(
        ["id", "text", "confidence", "box", "detection_confidence", "candidates", "country", "vehicle",
         "lookup_error", "crop", "watchlist"],
        id={"type": ["integer", "null"]}, text=NULLABLE_STR, confidence={"type": "number"}, box=_ref("Box"),
        corners={"type": ["array", "null"]}, detection_confidence={"type": "number"},
        candidates={"type": "array", "items": _ref("Candidate")}, country=NULLABLE_STR, vehicle=_ref("Vehicle"),
        lookup_error=NULLABLE_STR, crop=NULLABLE_STR, watchlist=_ref("WatchHit"),
    ),
    "ReadResult": _obj(
        ["id", "created_at", "width", "height", "processing_time_ms", "plates", "watchlist_hits"],
        id={"type": ["integer", "null"]}, created_at=NULLABLE_STR, width={"type": "integer"},
        height={"type": "integer"}, processing_time_ms={"type": "number"},
        plates={"type": "array", "items": _ref("ReadPlate")},
        watchlist_hits={"type": "array", "items": _ref("WatchHit")},
    ),
    "VideoPlate": _obj(
        ["text", "confidence", "candidates", "first_seen_s", "last_seen_s", "first_frame", "last_frame", "frames",
         "best_frame", "direction", "motion", "best", "read_id", "crop", "watchlist"],
        text=NULLABLE_STR, confidence={"type": "number"}, candidates={"type": "array", "items": _ref("Candidate")},
        first_seen_s={"type": "number"}, last_seen_s={"type": "number"}, first_frame={"type": "integer"},
        last_frame={"type": "integer"}, frames={"type": "integer"}, best_frame={"type": "integer"},
        direction={"type": ["number", "null"], "minimum": 0, "exclusiveMaximum": 360,
                   "description": "degrees the plate's box centre moved towards: 0 right, 90 up, 180 left, 270 down "
                                  f"(counter-clockwise); null when it moved less than {MIN_TRAVEL:g} plate widths"},
        motion={"enum": [*MOTIONS, None],
                "description": f"approaching / leaving: its box grew / shrank by a factor of {GROWTH:g} over the "
                               f"track; else crossing (moved {MIN_TRAVEL:g} plate widths or more) or stationary; "
                               "null: seen in one frame"},
        best={"type": "object", "description": "the best frame's own read of the plate"},
        read_id={"type": ["integer", "null"]}, crop=NULLABLE_STR, watchlist=_ref("WatchHit"),
        vehicle=_ref("Vehicle"), lookup_error=NULLABLE_STR,
    ),
    "VideoResult": _obj(
        ["width", "height", "duration_s", "fps_read", "frames_read", "processing_time_ms", "plates", "watchlist_hits",
         "warnings"],
        width={"type": "integer"}, height={"type": "integer"}, duration_s={"type": ["number", "null"]},
        fps_read={"type": "number"}, frames_read={"type": "integer"}, processing_time_ms={"type": "number"},
        plates={"type": "array", "items": _ref("VideoPlate")},
        watchlist_hits={"type": "array", "items": _ref("WatchHit")},
        warnings={"type": "array", "items": {"type": "string"},
                  "description": "where a damaged file was read past, or where it ended before its stated length"},
    ),
    "StoredPlate": _obj(
        ["id", "text", "confidence", "detection_confidence", "box", "country", "candidates", "crop", "vehicle",
         "lookup_error", "watchlist"],
        id={"type": "integer"}, text=NULLABLE_STR, confidence={"type": "number"},
        detection_confidence={"type": "number"}, box=_ref("Box"), country=NULLABLE_STR,
        candidates={"type": "array", "items": _ref("Candidate")}, crop=NULLABLE_STR, vehicle=_ref("Vehicle"),
        lookup_error=NULLABLE_STR, watchlist=_ref("WatchHit"),
    ),
    "StoredRead": _obj(
        ["id", "created_at", "source", "camera_id", "filename", "image", "width", "height", "processing_time_ms",
         "plates"],
        id={"type": "integer"}, created_at={"type": "string", "format": "date-time"}, source={"type": "string"},
        camera_id=NULLABLE_STR, filename=NULLABLE_STR, image=NULLABLE_STR, width={"type": "integer"},
        height={"type": "integer"}, processing_time_ms={"type": "number"},
        plates={"type": "array", "items": _ref("StoredPlate")},
    ),
    "ReadPage": _obj(
        ["items", "total", "page", "per_page", "pages"],
        items={"type": "array", "items": _ref("StoredRead")}, total={"type": "integer"},
        page={"type": "integer"}, per_page={"type": "integer"}, pages={"type": "integer"},
    ),
    "ExportRow": _obj(
        list(EXPORT_COLUMNS),
        read_id={"type": "integer"}, created_at={"type": "string", "format": "date-time"},
        plate_id={"type": ["integer", "null"], "description": "null: the read has no plates"},
        plate=NULLABLE_STR, confidence={"type": ["number", "null"]}, detection_confidence={"type": ["number", "null"]},
        country=NULLABLE_STR, **{f"box_{k}": {"type": ["integer", "null"]} for k in ("xmin", "ymin", "xmax", "ymax")},
        camera_id=NULLABLE_STR, source={"type": "string"}, filename=NULLABLE_STR,
        watchlist_label=NULLABLE_STR, watchlist_plate=NULLABLE_STR,
        **{f"vehicle_{k}": {"type": ["integer", "null"]} if k == "year" else NULLABLE_STR for k in VEHICLE_FIELDS},
        read_url={"type": "string", "description": "GET it with the token"},
        image_url=NULLABLE_STR, crop_url=NULLABLE_STR,
    ),
    "Watch": _obj(
        ["id", "plate", "label", "max_distance", "created_at"],
        id={"type": "integer"}, plate={"type": "string"}, label={"type": "string"},
        max_distance={"type": "integer", "minimum": 0, "maximum": 2}, created_at={"type": "string"},
    ),
    "WatchList": _obj(["items"], items={"type": "array", "items": _ref("Watch")}),
    "WatchInput": {
        "type": "object",
        "required": ["plate"],
        "properties": {"plate": {"type": "string"}, "label": {"type": "string"},
                       "max_distance": {"type": "integer", "minimum": 0, "maximum": 2}},
        "additionalProperties": False,
    },
    "WatchUpdate": {
        "type": "object",
        "description": "the plate cannot change: delete the entry and add the new plate",
        "properties": {"label": {"type": "string"},
                       "max_distance": {"type": "integer", "minimum": 0, "maximum": 2}},
        "additionalProperties": False,
    },
    "Health": _obj(["status"], status={"type": "string"}, models_loaded={"type": "boolean"},
                   reads={"type": "integer"}),
    "PlateReaderResult": _obj(
        ["box", "plate", "region", "score", "candidates", "dscore", "vehicle"],
        box=_ref("Box"), plate={"type": "string"},
        region=_obj(["code", "score"], code={"type": "string"}, score={"type": "number"}),
        score={"type": "number"}, dscore={"type": "number"},
        candidates={"type": "array", "items": _obj(["score", "plate"], score={"type": "number"},
                                                    plate={"type": "string"})},
        vehicle=_obj(["score", "type", "box"], score={"type": "number"}, type={"type": "string"}, box=_ref("Box")),
    ),
    "PlateReaderResponse": _obj(
        ["processing_time", "results", "filename", "version", "camera_id", "timestamp", "image_width",
         "image_height", "usage"],
        processing_time={"type": "number"}, results={"type": "array", "items": _ref("PlateReaderResult")},
        filename={"type": "string"}, version={"type": "integer"}, camera_id=NULLABLE_STR,
        timestamp={"type": "string"}, image_width={"type": "integer"}, image_height={"type": "integer"},
        usage=_obj(["calls", "max_calls"], calls={"type": "integer"}, max_calls={"type": "integer"}),
    ),
    "Statistics": _obj(
        ["usage", "total_calls"],
        usage=_obj(["month", "calls", "year", "resets_on"], month={"type": "integer"}, calls={"type": "integer"},
                   year={"type": "integer"}, resets_on={"type": "string"}),
        total_calls={"type": "integer"},
    ),
}

_ERRORS = {
    "400": "Malformed request (no image, bad base64 or JSON)",
    "401": "Missing, unknown or revoked token",
    "403": "Missing, unknown or revoked token (the Plate Recognizer drop-in answers 403, as their API does)",
    "404": "No such record",
    "413": "Upload or image too large",
    "503": "The storage or a model is not available right now (the server log says why)",
    "415": "Unsupported content type or image format, or a video sent to the photo endpoint (or the reverse)",
    "422": "A parameter has an invalid value (an unknown country code: the message lists the known ones), or is "
           "unknown to the operation, or is given more than once",
    "429": "Rate limit reached: the calls a minute (see Retry-After) or the token's calls this month",
}


def _errors(*codes: str) -> dict[str, Any]:
    return {code: {"description": _ERRORS[code], "content": {"application/json": {"schema": _ref("Error")}}}
            for code in codes}


def _responses(ok: str, schema: str | None, *errors: str) -> dict[str, Any]:
    out: dict[str, Any] = {ok: {"description": "Success"}}
    if schema:
        out[ok]["content"] = {"application/json": {"schema": _ref(schema)}}
    return {**out, **_errors(*errors)}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


CAMERA_ID = {"type": "string", "minLength": 1, "maxLength": 128, "description": f"camera id: {CAMERA_RULE}"}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
_SEARCH = [
    _query("plate", {"type": "string", "maxLength": MAX_PLATE_QUERY}, "plate text (case and separators ignored)"),
    _query("mode", {"enum": list(SEARCH_MODES)}, "how plate matches"),
    _query("distance", {"type": "integer", "minimum": 1, "maximum": 2}, "fuzzy: characters off"),
    _query("since", {"type": "string", "format": "date-time"},
           "from this time (ISO 8601, UTC unless it says; a bare date is its midnight)"),
    _query("until", {"type": "string", "format": "date-time"},
           "before this time (a bare date: before its midnight); later than since"),
    _query("camera_id", CAMERA_ID, "one camera"),
    _query("source", {"enum": list(SOURCES)}, "how the read came in"),
    _query("watchlist", {"type": "boolean"}, "only reads with a watchlist alert"),
]
_PAGES = [
    _query("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}, "page number"),
    _query("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE}, "reads per page"),
]
_READ_OPTIONS = {
    "country": {"type": "string", "description": "country hint, e.g. gb, br, us-ca; empty or auto: every country's "
                "plate layouts are checked; a code without plate layouts is a 422 that lists the known codes"},
    "ocr": {"type": "string", "description": "OCR backend: plateocr+rapidocr (default: plateocr, and RapidOCR for "
            "the plates it is unsure of), plateocr, rapidocr or tesseract"},
    "lookup": {"type": "boolean", "description": "look up each plate's vehicle"},
    "store": {"type": "boolean", "description": "keep the read in the history (default true)"},
    "camera_id": {**CAMERA_ID, "description": f"camera id: {CAMERA_RULE}; when the server's config 'zones' has "
                  "zones for this camera, they apply to a request without a zone"},
    "zone": {"type": "array", "maxItems": MAX_ZONES, "items": {"type": "string"},
             "description": "detection zone: only plates whose box centre lies in this polygon are read, given as "
                            f"3 to {MAX_ZONE_POINTS} points 'x,y x,y x,y ...' in fractions (0-1) of the image's width "
                            "and height (x right, y down), not crossing itself; repeat the field (in JSON: a list) "
                            f"for up to {MAX_ZONES} zones; a plate in any counts. Given, it overrides the zones "
                            "configured for camera_id; without one, those apply (none configured: every plate)"},
}

PATHS: dict[str, Any] = {
    "/api/v1/read": {"post": {
        "summary": "Read every plate in an image",
        "description": "A field the operation does not take, or one given twice, is a 422, as is any query "
                       "parameter: the options go in the body.",
        "requestBody": {"required": True, "content": {
            "multipart/form-data": {"schema": {"type": "object", "required": ["image"], "properties": {
                "image": {"type": "string", "format": "binary"}, **_READ_OPTIONS}, "additionalProperties": False}},
            "application/json": {"schema": {"type": "object", "required": ["image"], "properties": {
                "image": {"type": "string", "contentEncoding": "base64"}, "filename": {"type": "string"},
                **_READ_OPTIONS}, "additionalProperties": False}},
        }},
        "responses": {"200": {"description": "Read, not stored",
                              "content": {"application/json": {"schema": _ref("ReadResult")}}},
                      **_responses("201", "ReadResult", "400", "401", "413", "415", "422", "429", "503")},
    }},
    "/api/v1/read-video": {"post": {
        "summary": "Read the plates passing in a video: each plate once, its text voted over the frames",
        "description": "Each plate is stored as a read of its best frame (source 'video'). The answer comes "
                       "when the whole video is read; limits: max_video_mb, max_video_seconds. A field the "
                       "operation does not take, or one given twice, is a 422, as is any query parameter.",
        "requestBody": {"required": True, "content": {
            "multipart/form-data": {"schema": {"type": "object", "required": ["video"], "properties": {
                "video": {"type": "string", "format": "binary"},
                "fps": {"type": "number", "minimum": 0.1, "maximum": 10, "description": "frames read per second "
                        "(default 2)"},
                **_READ_OPTIONS}, "additionalProperties": False}},
        }},
        "responses": {"200": {"description": "Read, not stored",
                              "content": {"application/json": {"schema": _ref("VideoResult")}}},
                      **_responses("201", "VideoResult", "400", "401", "413", "415", "422", "429", "503")},
    }},
    "/api/v1/reads": {"get": {
        "summary": "Search the history, newest first",
        "description": "A parameter not listed here, or one given twice, is a 422.",
        "parameters": [
            *_SEARCH,
            *_PAGES,
        ],
        "responses": _responses("200", "ReadPage", "401", "422", "429", "503"),
    }},
    "/api/v1/reads/export": {"get": {
        "summary": "Download every read the search finds, newest first, one row per plate (CSV or JSON Lines)",
        "description": "The same filters as GET /api/v1/reads, every page (page and per_page are checked as there, "
                       "so that a search's URL can be reused, but do not limit the export). "
                       "The body is streamed as it is read: a long export needs no memory for the whole. Reads "
                       "saved after the export began are not in it. A read without plates is one row with empty "
                       "plate columns. CSV: UTF-8 with a byte order mark, a header row; text cells starting "
                       "with = + - @, a tab or a carriage return get a leading ' so that spreadsheets do not run "
                       "them (numbers are never changed). JSON Lines: one object per row, the columns as keys. "
                       "A parameter not listed here, or one given twice, is a 422.",
        "parameters": [
            _query("format", {"enum": list(EXPORT_FORMATS), "default": "csv"}, "file format; another: 422"),
            *_SEARCH,
            *_PAGES,
        ],
        "responses": {
            "200": {
                "description": "The rows, as an attachment named numberplate-reads-<UTC date>.<format>",
                "headers": {"Content-Disposition": {"schema": {"type": "string"},
                                                    "description": "attachment; filename=..."}},
                "content": {
                    "text/csv": {"schema": {"type": "string", "description": "the header row: "
                                            + ",".join(EXPORT_COLUMNS)}},
                    "application/x-ndjson": {"schema": _ref("ExportRow")},
                },
            },
            **_errors("401", "422", "429", "503"),
        },
    }},
    "/api/v1/reads/{id}": {
        "get": {"summary": "One stored read", "parameters": [_ID],
                "responses": _responses("200", "StoredRead", "401", "404", "422", "429", "503")},
        "delete": {"summary": "Delete a read with its image and crops", "parameters": [_ID],
                   "responses": _responses("204", None, "401", "404", "422", "429", "503")},
    },
    "/api/v1/images/{sha256}": {"get": {
        "summary": "A stored photo or crop",
        "parameters": [{"name": "sha256", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "JPEG", "content": {"image/jpeg": {}}},
                      **_errors("401", "404", "422", "429", "503")},
    }},
    "/api/v1/watchlist": {
        "get": {"summary": "Every watchlist entry",
                "responses": _responses("200", "WatchList", "401", "422", "429", "503")},
        "post": {"summary": "Add a plate to the watchlist",
                 "requestBody": {"required": True,
                                 "content": {"application/json": {"schema": _ref("WatchInput")}}},
                 "responses": _responses("201", "Watch", "400", "401", "413", "415", "422", "429", "503")},
    },
    "/api/v1/watchlist/{id}": {
        "get": {"summary": "One entry", "parameters": [_ID],
                "responses": _responses("200", "Watch", "401", "404", "422", "429", "503")},
        "patch": {"summary": "Change label or max_distance", "parameters": [_ID],
                  "requestBody": {"required": True,
                                  "content": {"application/json": {"schema": _ref("WatchUpdate")}}},
                  "responses": _responses("200", "Watch", "400", "401", "404", "413", "415", "422", "429",
                                          "503")},
        "delete": {"summary": "Remove an entry", "parameters": [_ID],
                   "responses": _responses("204", None, "401", "404", "422", "429", "503")},
    },
    "/api/v1/health": {"get": {"summary": "Liveness, no token needed", "security": [],
                               "responses": _responses("200", "Health", "503")}},
    "/metrics": {"get": {"summary": "Prometheus metrics, no token needed", "security": [],
                         "responses": {"200": {"description": "text format 0.0.4",
                                               "content": {"text/plain": {}}},
                                       **_errors("503")}}},
    "/v1/plate-reader/": {"post": {
        "summary": "Plate Recognizer Snapshot compatible read",
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["upload"], "properties": {
                "upload": {"type": "string", "format": "binary"},
                "regions": {"type": "array", "items": {"type": "string"},
                            "description": "country hints, e.g. gb, us-ca (repeated or comma-separated); codes "
                                           "without plate layouts here are skipped"},
                "camera_id": {"type": "string"},
                "mmc": {"type": "boolean", "description": "adds empty model_make, color, orientation lists"},
                "timestamp": {"type": "string", "format": "date-time",
                              "description": "when the photo was taken; more than a day ahead of the server: 400"},
                "config": {"type": "string", "description": "JSON: threshold_d, threshold_o, region "
                                                            "(detection_mode vehicle: 400)"}}}}}},
        "responses": _responses("201", "PlateReaderResponse", "400", "403", "413", "415", "429", "503"),
    }},
    "/v1/statistics/": {"get": {"summary": "This month's calls of the token",
                                "responses": _responses("200", "Statistics", "403", "503")}},
}


def document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "numberplate API", "version": __version__,
                 "description": "Find and read number plates. Send `Authorization: Token <key>`; "
                                "create keys with `numberplate token create NAME`."},
        "servers": [{"url": "/"}],
        "security": [{"token": []}],
        "components": {
            "securitySchemes": {"token": {"type": "apiKey", "in": "header", "name": "Authorization",
                                          "description": "Token <key>"}},
            "schemas": SCHEMAS,
        },
        "paths": PATHS,
    }


@bp.get("/api/openapi.json")
def openapi_json() -> Response:
    """The OpenAPI document (no token needed)."""
    return jsonify(document())
