"""Errors as responses: an HTML error page for browsers, ``{"error": {code, message}}`` JSON for API clients."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge

from numberplate.errors import (
    AuthError,
    BackendUnavailableError,
    ImageDecodeError,
    ImageError,
    ImageTooLargeError,
    LookupAuthError,
    LookupBadPlate,
    LookupNotFound,
    LookupRateLimited,
    LookupUnavailable,
    ModelLoadError,
    NotFoundError,
    NumberplateError,
    RateLimitedError,
    StoreError,
    UnsupportedImageError,
    VideoError,
)
from numberplate.store.tokens import TokenNameError
from numberplate.store.vehicles import RegistryImportError, VehicleExistsError
from numberplate.store.watchlist import WatchlistError
from numberplate.web.state import get_state

log = logging.getLogger(__name__)

# Endpoints whose uploads may be videos: their bodies may be as large as config max_video_mb.
VIDEO_ENDPOINTS = frozenset({"api.read_video", "pages.read"})


class WebError(Exception):
    """An error with an HTTP status, a machine-readable ``code`` and a ``message`` for people."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


# First match wins, so subclasses come before their bases.
ERROR_STATUS: tuple[tuple[type[NumberplateError], int, str], ...] = (
    (ImageTooLargeError, 413, "image_too_large"),
    (UnsupportedImageError, 415, "unsupported_image"),
    (ImageDecodeError, 400, "image_not_decodable"),
    (ImageError, 400, "bad_image"),
    (VideoError, 400, "video_not_decodable"),
    (ModelLoadError, 503, "model_unavailable"),
    (BackendUnavailableError, 503, "backend_unavailable"),
    (LookupNotFound, 404, "vehicle_not_found"),
    (LookupBadPlate, 400, "bad_plate"),
    (LookupRateLimited, 429, "lookup_rate_limited"),
    (LookupAuthError, 502, "lookup_unavailable"),
    (LookupUnavailable, 502, "lookup_unavailable"),
    (AuthError, 401, "unauthorized"),
    (RateLimitedError, 429, "rate_limited"),
    (NotFoundError, 404, "not_found"),
    (WatchlistError, 422, "invalid_watchlist_entry"),
    (RegistryImportError, 422, "invalid_vehicle"),
    (VehicleExistsError, 409, "vehicle_exists"),
    (TokenNameError, 422, "invalid_token_name"),
    (StoreError, 503, "storage_unavailable"),
)
# Blueprints that always answer errors in JSON, whatever the Accept header says.
JSON_BLUEPRINTS = frozenset({"api", "platerecognizer"})
JSON_PREFIXES = ("/api/", "/v1/")  # unmatched URLs there have no blueprint but are API calls
JSON_PATHS = frozenset({"/metrics"})  # in the OpenAPI document too: its errors are the documented JSON body

SERVER_FAULT_MESSAGE = "Something went wrong on the server; the server log says what. Please try again later."


def wants_json() -> bool:
    """Whether the client prefers JSON to HTML (``Accept: application/json``)."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_response(status: int, code: str, message: str) -> Response:
    """A JSON error body or the HTML error page, whichever the client accepts, with ``status``."""
    if (request.blueprint in JSON_BLUEPRINTS or request.path.startswith(JSON_PREFIXES) or request.path in JSON_PATHS
            or wants_json()):
        response = jsonify(error={"code": code, "message": message})
    else:
        # Upload errors show the form again so the user can retry straight away.
        show_form = request.endpoint == "pages.read" and status < 500  # an upload failed: offer the form again
        response = Response(
            render_template("error.html", status=status, code=code, message=message, show_form=show_form)
        )
    response.status_code = status
    return response


def _handle_web_error(e: WebError) -> Response:
    return error_response(e.status, e.code, e.message)


def status_for(error: NumberplateError) -> tuple[int, str]:
    """The HTTP status and error code for one of our exceptions (500 ``internal_error`` when unmapped)."""
    matches = ((status, code) for cls, status, code in ERROR_STATUS if isinstance(error, cls))
    return next(matches, (500, "internal_error"))


def with_error_headers(response: Response, error: NumberplateError) -> Response:
    """Add what a client needs to react: ``WWW-Authenticate`` on a 401, ``Retry-After`` on a 429 that knows it."""
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Token realm="numberplate"'
    retry_after = getattr(error, "retry_after", None)
    if response.status_code == 429 and retry_after is not None:
        response.headers["Retry-After"] = str(max(1, round(retry_after)))
    return response


def _handle_numberplate_error(e: NumberplateError) -> Response:
    status, code = status_for(e)
    if status >= 500:
        # Server-side detail (paths, backend messages) goes to the log, not to the client.
        log.error("%s: %s", type(e).__name__, e, exc_info=e)
        message = (
            "The plate reader is not available right now; the server log says why."
            if status == 503 else SERVER_FAULT_MESSAGE
        )
        return error_response(status, code, message)
    return with_error_headers(error_response(status, code, str(e)), e)


def body_limit_mb(endpoint: str | None) -> float:
    """The largest request body an endpoint takes, in MB: ``max_upload_mb``, or more where videos come in."""
    config = get_state().config
    if endpoint == "api.read_video":
        return config.max_video_mb
    return max(config.max_upload_mb, config.max_video_mb) if endpoint in VIDEO_ENDPOINTS else config.max_upload_mb


def apply_body_limit() -> None:
    """Before each request (and before anything reads the form): the body size limit of its endpoint."""
    request.max_content_length = int(body_limit_mb(request.endpoint) * 1024 * 1024)


def too_large() -> tuple[str, str]:
    """The code and message of a 413 raised while reading the request: which limit the request went over.

    Werkzeug raises the same bare ``RequestEntityTooLarge`` for a body over ``max_content_length``, a multipart
    form of more than ``MAX_FORM_PARTS`` parts and a form field over ``MAX_FORM_MEMORY_SIZE``; the announced
    length tells them apart where it can.
    """
    limit, what = body_limit_mb(request.endpoint), "photo"
    if request.endpoint in VIDEO_ENDPOINTS:
        what = "video" if request.endpoint == "api.read_video" else "file, or fewer files"
    body = f"The upload is larger than the {limit:g} MB limit; send a smaller {what}."
    length, most = request.content_length, request.max_content_length
    if (length is not None and most is not None and length > most) or request.mimetype != "multipart/form-data":
        return "upload_too_large", body
    parts, field = request.max_form_parts, request.max_form_memory_size
    reasons = []
    if parts is not None:
        reasons.append(f"has more than {parts} parts (fields and files)")
    if field is not None and (length is None or length > field):  # a shorter body has no field that long
        reasons.append(f"has a text field longer than {field / 1000:g} KB")
    if not reasons:
        return "upload_too_large", body
    if length is None:  # sent in chunks: the body itself may be the one over its limit
        reasons.append(f"is larger than the {limit:g} MB limit")
    return "form_too_large", f"The form {' or '.join(reasons)}; send fewer fields or shorter values."


def _handle_http_exception(e: HTTPException) -> Response:
    status = e.code or 500
    code = (e.name or "error").lower().replace(" ", "_").replace("'", "")
    message = e.description or e.name or "error"
    if isinstance(e, RequestEntityTooLarge):
        code, message = too_large()
    response = error_response(status, code, message)
    if isinstance(e, MethodNotAllowed) and e.valid_methods:
        response.headers["Allow"] = ", ".join(e.valid_methods)
    return response


def _handle_unexpected(e: Exception) -> Response:
    if isinstance(e, HTTPException):  # Flask passes these to the generic handler only in odd cases
        return _handle_http_exception(e)
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "internal_error", SERVER_FAULT_MESSAGE)


def init_app(app: Flask) -> None:
    """Route every error raised while handling a request to a JSON or HTML error response."""
    app.register_error_handler(WebError, _handle_web_error)
    app.register_error_handler(NumberplateError, _handle_numberplate_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(Exception, _handle_unexpected)
