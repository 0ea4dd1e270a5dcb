"""Drop-in for clients of the Plate Recognizer Snapshot API: ``POST /v1/plate-reader/``, ``GET /v1/statistics/``.

Home Assistant, Frigate, Node-RED and ZoneMinder integrations that speak that API can point their base
URL at this server and keep their token header (``Authorization: Token <key>``, a numberplate token).
Errors answer as that API does, since its clients branch on them: 403 for a missing or wrong token, 400 for a
bad parameter (where numberplate's own API says 401 and 422), 429 when throttled, 413 when too large.
"""

from __future__ import annotations

import functools
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from numberplate.errors import AuthError, NumberplateError
from numberplate.formats.patterns import AUTO, COUNTRY_CODE_RE, UnknownCountryError, check_country
from numberplate.store.clock import utcnow
from numberplate.types import PlateRead
from numberplate.web.auth import require_token
from numberplate.web.errors import SERVER_FAULT_MESSAGE, WebError, status_for, too_large, with_error_headers
from numberplate.web.params import (
    as_bool,
    as_camera,
    as_datetime,
    clean_filename,
    decode_base64,
    invalid,
    json_object,
)
from numberplate.web.service import ReadOptions, read_upload
from numberplate.web.state import get_state

log = logging.getLogger(__name__)

bp = Blueprint("platerecognizer", __name__, url_prefix="/v1")

UNLIMITED_CALLS = 1_000_000_000  # what ``max_calls`` says for a token without a monthly limit
# How far ahead of this server's clock a client's ``timestamp`` may be (a camera whose clock runs fast, or
# that sends local time as UTC). Further ahead, the read would top the history for years and outlive retention.
MAX_TIMESTAMP_AHEAD = timedelta(days=1)
# The statuses numberplate's own API gives that Plate Recognizer's clients know by another: a token the API
# refuses is 403 there (``{"detail": "Invalid token."}``) and a bad parameter 400 (a Django REST framework
# validation error).
_THEIR_STATUS = {401: 403, 422: 400}


def _detail_error(status: int, code: str, message: str) -> Response:
    # Their clients read DRF's {"detail": ...}; ours read {"error": {...}}: both are given.
    status = _THEIR_STATUS.get(status, status)
    response = jsonify(detail=message, status_code=status, error={"code": code, "message": message})
    response.status_code = status
    return response


@bp.errorhandler(NumberplateError)
def _numberplate_error(e: NumberplateError) -> Response:
    status, code = status_for(e)
    message = str(e) if status < 500 else "internal error; the server log says why"
    if isinstance(e, AuthError):  # a 403 asks for no other credentials: no WWW-Authenticate
        return _detail_error(status, code, message)
    return with_error_headers(_detail_error(status, code, message), e)


@bp.errorhandler(WebError)
def _web_error(e: WebError) -> Response:
    return _detail_error(e.status, e.code, e.message)


@bp.errorhandler(HTTPException)
def _http_error(e: HTTPException) -> Response:
    status = e.code or 500
    if status == 413:
        return _detail_error(413, *too_large())
    return _detail_error(status, (e.name or "error").lower().replace(" ", "_"), e.description or "error")


@bp.errorhandler(Exception)
def _unexpected_error(e: Exception) -> Response:
    # Their clients read only {"detail": ...}, even on a server fault; the detail stays in the log.
    log.exception("unhandled error on %s %s", request.method, request.path)
    return _detail_error(500, "internal_error", SERVER_FAULT_MESSAGE)


@bp.before_request
def _authenticate() -> None:
    # Asking for the usage is not a call: it must answer when the limit is reached, when a client needs it most.
    require_token(count=request.endpoint != "platerecognizer.statistics")


def _upload() -> tuple[bytes, str]:
    """The image: a multipart file ``upload``, or ``upload`` as a base64 string (form or JSON)."""
    files = [f for f in request.files.getlist("upload") if f.filename]
    if files:
        return files[0].read(), clean_filename(files[0].filename)
    values = _values()
    if values.get("upload_url"):
        raise WebError(400, "upload_url_not_supported",
                       "upload_url is not supported: this server does not fetch images; send the file as 'upload'")
    encoded = values.get("upload")
    if not isinstance(encoded, str) or not encoded.strip():
        raise WebError(400, "missing_upload", "upload: this field is required (the image file or its base64)")
    try:
        return decode_base64(encoded), "upload"
    except ValueError as e:
        raise WebError(400, "bad_base64", "upload: not a file and not valid base64") from e


def _values() -> dict[str, Any]:
    if request.mimetype == "application/json":
        return json_object()
    if request.mimetype not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise WebError(415, "unsupported_media_type",
                       "send multipart/form-data with the image as 'upload' (or JSON with base64 'upload')")
    out: dict[str, Any] = request.form.to_dict()
    out["regions"] = request.form.getlist("regions")
    return out


def _regions(raw: Any) -> list[str]:
    """The ``regions`` hints that have plate layouts here, in the order sent.

    ``raw`` is a code, a list of codes (the field repeated, or a JSON list) or codes separated by commas.
    Plate Recognizer skips the regions it does not know and reads anyway, so a code with no layouts here
    (``mx``, ``th-37``) is skipped, or stands for its country when only the subdivision is unknown (``br-sp``:
    ``br``); a value that is no region code at all is a 400.
    """
    if raw in (None, ""):
        return []
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise invalid("regions", "must be a region code or a list of them, such as [\"gb\", \"us-ca\"]")
    out: list[str] = []
    for item in raw:
        for part in item.split(","):
            code = _region(part)
            if code and code not in out:
                out.append(code)
    return out


def _region(text: str) -> str | None:
    code = text.strip().lower().replace("_", "-")
    if code in ("", AUTO, "none"):  # "none": a Python client's str(None)
        return None
    if not COUNTRY_CODE_RE.fullmatch(code):
        raise invalid("regions", f"{text.strip()[:20]!r} is not a region code such as gb, fr or us-ca")
    for candidate in dict.fromkeys((code, code.partition("-")[0])):
        try:
            return check_country(candidate)
        except UnknownCountryError:
            continue
    _skipped(code)
    return None


SKIPPED_REGIONS_REMEMBERED = 256
"""Region codes without layouts warned about once (a camera sends the same regions with every photo); a bound, as
clients may send any of millions of well-formed codes."""


@functools.lru_cache(maxsize=SKIPPED_REGIONS_REMEMBERED)  # a warning once a process per code
def _skipped(code: str) -> None:
    log.warning("Plate Recognizer drop-in: no plate layouts for region %r; photos are read without it", code)


def _timestamp(raw: Any) -> datetime | None:
    """When the photo was taken (stored as the read's time); not more than a day ahead of this server's clock."""
    timestamp = as_datetime("timestamp", raw)
    if timestamp is not None and timestamp > utcnow() + MAX_TIMESTAMP_AHEAD:
        raise WebError(400, "timestamp_in_future",
                       f"timestamp: {str(raw)[:40]!r} is more than {MAX_TIMESTAMP_AHEAD.days} day ahead of this "
                       "server's clock; send the time the photo was taken (ISO 8601, e.g. 2026-11-24T10:00:00Z), "
                       "or leave it out")
    return timestamp


def _engine_config(raw: Any) -> dict[str, Any]:
    if raw in (None, ""):
        return {}
    if isinstance(raw, dict):
        return raw
    try:
        parsed = json.loads(raw)
    except (TypeError, ValueError, RecursionError) as e:  # RecursionError: "[" * 100000
        raise invalid("config", "must be a JSON object such as {\"threshold_d\": 0.2}") from e
    if not isinstance(parsed, dict):
        raise invalid("config", "must be a JSON object")
    return parsed


def _check_detection_mode(config: dict[str, Any]) -> None:
    # Their "vehicle" mode answers in another shape (a vehicle per result, plates nested in it), which a
    # client would misread in this one; this server finds plates, not vehicles.
    if config.get("detection_mode") == "vehicle":
        raise WebError(400, "unsupported_config",
                       "config: detection_mode 'vehicle' is not supported: this server finds plates, not vehicles; "
                       "leave detection_mode out (or set it to 'plate')")


def _threshold(config: dict[str, Any], key: str) -> float:
    value = config.get(key, 0.0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise invalid("config", f"{key} must be a number from 0 to 1")
    return float(value)


def _result(plate: PlateRead, regions: list[str], strict: bool, mmc: bool) -> dict[str, Any] | None:
    text = plate.text
    if text is None or not text.text:
        return None
    if strict and regions and not text.pattern_matched:
        return None
    region = (text.country or (regions[0] if regions else "")).lower()
    box = plate.detection.box.to_dict()
    best = {"score": round(text.confidence, 3), "plate": text.text.lower()}
    # As theirs, the first candidate is the plate itself.
    candidates = [best] + [{"score": round(c.confidence, 3), "plate": c.text.lower()}
                           for c in text.candidates if c.text.lower() != best["plate"]]
    result: dict[str, Any] = {
        "box": box,
        "plate": best["plate"],
        "region": {"code": region, "score": round(text.confidence if text.pattern_matched else 0.5, 3)},
        "score": best["score"],
        "candidates": candidates,
        "dscore": round(plate.detection.confidence, 3),
        # We detect plates, not vehicles: no vehicle box or type.
        "vehicle": {"score": 0.0, "type": "Unknown", "box": {"xmin": 0, "ymin": 0, "xmax": 0, "ymax": 0}},
    }
    if mmc:
        # Asked for make, model and colour: the keys their clients read, with no guesses in them.
        result.update(model_make=[], color=[], orientation=[])
    return result


@bp.post("/plate-reader/", strict_slashes=False)
def plate_reader() -> tuple[Response, int]:
    """Read the plates in ``upload``, answering in the Plate Recognizer Snapshot format (201 Created)."""
    state = get_state()
    data, name = _upload()
    if not data:
        raise WebError(400, "empty_upload", "upload: the file is empty")
    values = _values()
    regions = _regions(values.get("regions"))
    mmc = as_bool("mmc", values.get("mmc"), False)
    config = _engine_config(values.get("config"))
    _check_detection_mode(config)
    threshold_d, threshold_o = _threshold(config, "threshold_d"), _threshold(config, "threshold_o")
    timestamp = _timestamp(values.get("timestamp"))
    camera_id = as_camera("camera_id", values.get("camera_id"))
    token = getattr(g, "token", None)
    outcome = read_upload(state, data, ReadOptions(
        country=regions[0] if regions else None, source="plate-recognizer", camera_id=camera_id,
        filename=name[:255], token_id=token.id if token else None, created_at=timestamp,
    ))
    results = []
    for plate in outcome.result.plates:
        if plate.detection.confidence < threshold_d or (plate.text and plate.text.confidence < threshold_o):
            continue
        item = _result(plate, regions, config.get("region") == "strict", mmc)
        if item:
            results.append(item)
    body: dict[str, Any] = {
        "processing_time": round(outcome.result.processing_time_ms, 3),
        "results": results,
        "filename": name,
        "version": 1,
        "camera_id": camera_id,
        "timestamp": (timestamp or utcnow()).isoformat().replace("+00:00", "Z"),
        "image_width": outcome.result.width,
        "image_height": outcome.result.height,
    }
    # Always there, token or not (``api_auth`` off): Home Assistant reads it from any server but theirs.
    calls, max_calls = state.tokens.usage(token) if token is not None else (0, None)
    body["usage"] = {"calls": calls, "max_calls": max_calls or UNLIMITED_CALLS}
    return jsonify(body), 201


@bp.get("/statistics/", strict_slashes=False)
def statistics() -> Response:
    """This month's calls of the token: ``{"usage": {month, calls, year, resets_on}, "total_calls": max}``.

    Not itself counted as a call, and answered even when the monthly limit is reached.
    """
    state = get_state()
    token = getattr(g, "token", None)
    calls, max_calls = state.tokens.usage(token) if token else (0, None)
    now = utcnow()
    resets = datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=UTC)
    return jsonify(
        usage={"month": now.month, "calls": calls, "year": now.year,
               "resets_on": resets.isoformat().replace("+00:00", "Z")},
        total_calls=max_calls or UNLIMITED_CALLS,
    )
