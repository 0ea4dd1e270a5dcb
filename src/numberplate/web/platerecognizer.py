"""Drop-in for clients of the Plate Recognizer Snapshot API: ``POST /v1/plate-reader/``, ``GET /v1/statistics/``.

Home Assistant, Frigate, Node-RED and ZoneMinder integrations that speak that API can point their base
URL at this server and keep their token header (``Authorization: Token <key>``, a numberplate token).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from numberplate.errors import NumberplateError
from numberplate.store.clock import utcnow
from numberplate.types import PlateRead
from numberplate.web.auth import require_token
from numberplate.web.errors import SERVER_FAULT_MESSAGE, WebError, status_for, too_large, with_error_headers
from numberplate.web.params import (
    as_camera,
    as_country_hint,
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


def _detail_error(status: int, code: str, message: str) -> Response:
    # Their clients read DRF's {"detail": ...}; ours read {"error": {...}}: both are given.
    response = jsonify(detail=message, status_code=status, error={"code": code, "message": message})
    response.status_code = status
    return response


@bp.errorhandler(NumberplateError)
def _numberplate_error(e: NumberplateError) -> Response:
    status, code = status_for(e)
    message = str(e) if status < 500 else "internal error; the server log says why"
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
    """The ``regions`` hints (a string or a list of them), each a country code with pattern data."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, (str, list)):
        raise invalid("regions", "must be a country code or a list of them, such as [\"gb\"]")
    items = [raw] if isinstance(raw, str) else raw
    return [code for code in (as_country_hint("regions", r) for r in items) if code]


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
    except (TypeError, ValueError) as e:
        raise invalid("config", "must be a JSON object such as {\"threshold_d\": 0.2}") from e
    if not isinstance(parsed, dict):
        raise invalid("config", "must be a JSON object")
    return parsed


def _threshold(config: dict[str, Any], key: str) -> float:
    value = config.get(key, 0.0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise invalid("config", f"{key} must be a number from 0 to 1")
    return float(value)


def _result(plate: PlateRead, regions: list[str], strict: bool) -> dict[str, Any] | None:
    text = plate.text
    if text is None or not text.text:
        return None
    if strict and regions and not text.pattern_matched:
        return None
    region = (text.country or (regions[0] if regions else "")).lower()
    box = plate.detection.box.to_dict()
    candidates = [{"score": round(c.confidence, 3), "plate": c.text.lower()} for c in text.candidates]
    if not candidates:
        candidates = [{"score": round(text.confidence, 3), "plate": text.text.lower()}]
    return {
        "box": box,
        "plate": text.text.lower(),
        "region": {"code": region, "score": round(text.confidence if text.pattern_matched else 0.5, 3)},
        "score": round(text.confidence, 3),
        "candidates": candidates,
        "dscore": round(plate.detection.confidence, 3),
        # We detect plates, not vehicles: no vehicle box or type.
        "vehicle": {"score": 0.0, "type": "Unknown", "box": {"xmin": 0, "ymin": 0, "xmax": 0, "ymax": 0}},
    }


@bp.post("/plate-reader/")
def plate_reader() -> tuple[Response, int]:
    """Read the plates in ``upload``, answering in the Plate Recognizer Snapshot format (201 Created)."""
    state = get_state()
    data, name = _upload()
    if not data:
        raise WebError(400, "empty_upload", "upload: the file is empty")
    values = _values()
    regions = _regions(values.get("regions"))
    config = _engine_config(values.get("config"))
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
        item = _result(plate, regions, config.get("region") == "strict")
        if item:
            results.append(item)
    body: dict[str, Any] = {
        "processing_time": round(outcome.result.processing_time_ms, 3),
        "results": results,
        "filename": name,
        "version": 1,
        "camera_id": camera_id,
        "timestamp": (timestamp or utcnow()).isoformat().replace("+00:00", "Z"),
    }
    if token is not None:
        calls, max_calls = state.tokens.usage(token)
        body["usage"] = {"calls": calls, "max_calls": max_calls or UNLIMITED_CALLS}
    return jsonify(body), 201


@bp.get("/statistics/")
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
