"""The upload form, reading uploaded photos, the page of one stored read, and the stored images."""

from __future__ import annotations

import base64
import dataclasses
from dataclasses import dataclass
from pathlib import PureWindowsPath
from typing import Any

import cv2
import numpy as np
from flask import Blueprint, Response, flash, g, jsonify, redirect, render_template, request, url_for
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response as BaseResponse

from numberplate.detection.zones import MAX_ZONES, Zone, ZoneError, parse_zone
from numberplate.errors import ImageError, NotFoundError, VideoError
from numberplate.imaging import encode_jpeg
from numberplate.render import annotate
from numberplate.store.reads import StoredRead
from numberplate.types import PlateRead
from numberplate.web.errors import WebError, wants_json
from numberplate.web.params import as_bool, as_camera, as_country_hint, as_id, clean_filename
from numberplate.web.service import (
    ReadOptions,
    ReadOutcome,
    media_kind,
    peek,
    read_upload,
    read_video_upload,
    stored_image,
)
from numberplate.web.state import get_state
from numberplate.web.views import init_pages, private_page

bp = Blueprint("pages", __name__)
init_pages(bp)

UPLOAD_FIELD = "image"
COUNTRY_FIELD = "country"
CAMERA_FIELD = "camera_id"  # not on the form; scripts that post to the page may name their camera
LOOKUP_FIELD = "lookup"
ZONE_FIELD = "zone"  # one polygon a line; scripts may also repeat the field, as on the API
MAX_DISPLAY_SIDE = 1600  # the annotated photo is shrunk to this for the page; reading uses full resolution
MAX_BATCH = 50  # photos in one upload, and reads on one summary page
PAGE_VIDEO_FPS = 2.0  # frames per second read from a video uploaded on the page
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".3gp", ".mpg", ".mpeg", ".ts", ".wmv"})
MAX_FLASHED = 5  # per-photo errors shown after a batch upload
MB = 1024 * 1024


@dataclass(frozen=True)
class CandidateView:
    """One alternative reading, as shown on the page."""

    text: str
    percent: str


@dataclass(frozen=True)
class PlateView:
    """One plate as the in-memory result page shows it."""

    number: int
    text: str | None
    confidence: str
    detection_confidence: str
    country: str | None
    candidates: tuple[CandidateView, ...]
    crop_uri: str
    crop_width: int
    crop_height: int
    vehicle: dict[str, Any] | None
    lookup_error: str | None


@dataclass(frozen=True)
class ResultView:
    """One photo read without storing it: the annotated photo as a data URI and its plates."""

    filename: str
    width: int
    height: int
    image_uri: str
    image_width: int
    image_height: int
    plates: tuple[PlateView, ...]
    processing_ms: int


@dataclass(frozen=True)
class BatchItem:
    """One photo of a several-photo upload: its stored read, or why it could not be read."""

    filename: str
    read: StoredRead | None = None
    error: str | None = None


def _percent(value: float) -> str:
    return f"{value:.1%}"


def jpeg_data_uri(image: np.ndarray, quality: int = 85) -> str:
    """An RGB array as a ``data:image/jpeg;base64,...`` URI for an ``<img src>``."""
    return "data:image/jpeg;base64," + base64.b64encode(encode_jpeg(image, quality)).decode("ascii")


def _fit(image: np.ndarray, max_side: int) -> np.ndarray:
    h, w = image.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1.0:
        return image
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _plate_view(number: int, read: PlateRead, crop: np.ndarray) -> PlateView:
    text = read.text
    return PlateView(
        number=number,
        text=text.text if text and text.text else None,
        confidence=_percent(text.confidence) if text else _percent(0.0),
        detection_confidence=_percent(read.detection.confidence),
        country=text.country.upper() if text and text.country else None,
        candidates=tuple(CandidateView(c.text, _percent(c.confidence)) for c in text.candidates) if text else (),
        crop_uri=jpeg_data_uri(crop, quality=92),
        crop_width=int(crop.shape[1]),
        crop_height=int(crop.shape[0]),
        vehicle=read.vehicle.to_dict() if read.vehicle else None,
        lookup_error=read.lookup_error,
    )


def _result_view(name: str, outcome: ReadOutcome) -> ResultView:
    result = outcome.result
    shown = _fit(annotate(outcome.image, list(result.plates)), MAX_DISPLAY_SIDE)
    return ResultView(
        filename=name,
        width=result.width,
        height=result.height,
        image_uri=jpeg_data_uri(shown),
        image_width=int(shown.shape[1]),
        image_height=int(shown.shape[0]),
        plates=tuple(
            _plate_view(i, r, c) for i, (r, c) in enumerate(zip(result.plates, outcome.crops, strict=True), 1)
        ),
        processing_ms=round(result.processing_time_ms),
    )


def _uploaded_files() -> list[FileStorage]:
    # The form has two file inputs (gallery, which takes several, and camera); every chosen file counts.
    chosen = [f for f in request.files.getlist(UPLOAD_FIELD) if f.filename]
    if not chosen:
        raise WebError(400, "missing_file", "No photo was uploaded. Choose a photo of a vehicle and send it again.")
    if len(chosen) > MAX_BATCH:
        raise WebError(400, "too_many_files", f"{len(chosen)} photos were sent; send at most {MAX_BATCH} at a time.")
    return chosen


def _display_name(upload: FileStorage) -> str:
    # Browsers send a bare name, old ones a full Windows path; either way show only the last part.
    name = PureWindowsPath(clean_filename(upload.filename)).name or "upload"
    return name if len(name) <= 80 else name[:77] + "..."


def _lookup_wanted() -> bool:
    # The form sends a hidden "0" before the checkbox, so the last value is the user's choice; a client
    # that sends neither gets the configured default.
    values = request.form.getlist(LOOKUP_FIELD)
    return as_bool(LOOKUP_FIELD, values[-1] if values else None, get_state().config.lookup_on_read)


def _zone_text() -> str:
    """The zone field as the user wrote it (each value, when a script repeats the field, on its own lines)."""
    return "\n".join(request.form.getlist(ZONE_FIELD))


def _zones(text: str) -> tuple[Zone, ...]:
    """The detection zones of the form's zone field: one polygon a line (blank lines ignored), at most
    :data:`MAX_ZONES`; none: the zones configured for the camera, if any, apply.

    Raises:
        WebError: 422 ``invalid_parameter`` naming the line that is not a valid zone, or saying there are too many.
    """
    lines = [(number, line.strip()) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    if len(lines) > MAX_ZONES:
        raise WebError(422, "invalid_parameter", f"Zone: {len(lines)} zones were given; give at most {MAX_ZONES}, "
                       "one polygon a line.")
    zones = []
    for number, line in lines:
        try:
            zones.append(parse_zone(line))
        except ZoneError as e:
            where = f" (line {number})" if len(lines) > 1 or number > 1 else ""
            raise WebError(422, "invalid_parameter", f"Zone{where}: {e}. Nothing was read or stored.") from e
    return tuple(zones)


def _is_video(upload: FileStorage) -> bool:
    # The content decides (a photo sent as video/mp4 is a photo); the declared type and name only where the
    # first bytes are neither a known image nor a known video format.
    kind = media_kind(peek(upload.stream))
    if kind is not None:
        return kind == "video"
    mimetype = (upload.mimetype or "").lower()
    return mimetype.startswith("video/") or PureWindowsPath(upload.filename or "").suffix.lower() in VIDEO_SUFFIXES


def _read_one(upload: FileStorage, options: ReadOptions) -> list[tuple[str, ReadOutcome]]:
    """Read one uploaded photo (one outcome) or video (one outcome per plate, named by when it was seen)."""
    state = get_state()
    name = options.filename or "upload"
    if _is_video(upload):
        video = read_video_upload(state, upload.stream, PAGE_VIDEO_FPS,
                                  dataclasses.replace(options, source="video"))
        return [(f"{name} at {_clock(e.first_seen_s)}", r) for e, r in zip(video.events, video.reads, strict=True)]
    data = upload.read()
    if not data:
        raise WebError(400, "empty_file", f"The file {name} is empty (0 bytes). Choose another photo.")
    if len(data) > state.config.max_upload_mb * MB:
        raise WebError(413, "upload_too_large",
                       f"The photo {name} is larger than the {state.config.max_upload_mb:g} MB limit; "
                       "send a smaller photo.")
    return [(name, read_upload(state, data, options))]


def _go(location: str) -> BaseResponse:
    """Send the browser to ``location`` after an upload: a 303, or for the form's script (which asks for JSON) the
    location as JSON. The script's request would follow a redirect itself, and the page it fetched would take the
    flashed messages out of the session before the browser opened that page."""
    return jsonify(location=location) if wants_json() else redirect(location, 303)


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60.0)
    return f"{int(minutes)}:{rest:04.1f}"


@bp.get("/")
def index() -> str:
    """The upload form."""
    return render_template("index.html", country="", zone="")


@bp.post("/")
@bp.post("/read")  # registered first (decorators apply bottom-up), so url_for("pages.read") gives /read
def read() -> BaseResponse:
    """Read and store the uploaded photos, then show the read (one photo) or a summary (several).

    When storing is switched off (``store_reads = false``) the result is shown straight away instead.
    With several photos, one that cannot be read is reported on the summary while the others are kept;
    when none can be read the first error is the answer, with its status.
    """
    state = get_state()
    # The body may carry a video (errors.VIDEO_ENDPOINTS); photos are held to max_upload_mb in _read_one.
    uploads = _uploaded_files()
    country = as_country_hint(COUNTRY_FIELD, request.form.get(COUNTRY_FIELD))
    camera_id = as_camera(CAMERA_FIELD, request.form.get(CAMERA_FIELD))
    g.upload_zone = zone_text = _zone_text()  # offered again in the form of an error page
    zones = _zones(zone_text)  # given, they override the camera's (config zones), as on the API
    lookup = _lookup_wanted()
    names = [_display_name(u) for u in uploads]
    outcomes: list[tuple[str, ReadOutcome | None, WebError | ImageError | VideoError | None]] = []
    for upload, name in zip(uploads, names, strict=True):
        options = ReadOptions(country=country, lookup=lookup, source="web", camera_id=camera_id, filename=name[:255],
                              zones=zones)
        try:
            outcomes += [(label, outcome, None) for label, outcome in _read_one(upload, options)]
        except (WebError, ImageError, VideoError) as e:
            if len(uploads) == 1:
                raise
            outcomes.append((name, None, e))
    done = [(name, outcome) for name, outcome, _ in outcomes if outcome is not None]
    if not done:
        if not outcomes:  # videos only, and no plate passed in them
            flash(f"No plate was found in {', '.join(names)[:200]}.", "info")
            return _go(url_for("pages.index"))
        first = outcomes[0][2]
        assert first is not None
        raise first

    if not state.config.store_reads:
        html = render_template(
            "result.html", results=[_result_view(name, outcome) for name, outcome in done], country=country or "",
            zone=zone_text,
        )
        # The page holds the user's photo: keep it out of shared and browser caches.
        return Response(html, headers={"Cache-Control": "no-store"})

    stored = [outcome.stored for _, outcome in done if outcome.stored is not None]
    if len(outcomes) == 1:
        return _go(url_for("pages.read_page", read_id=stored[0].id))
    if len(stored) > MAX_BATCH:  # a long video: its reads are in the history
        return _go(url_for("history.index", source="video"))
    failed = [(name, getattr(error, "message", None) or str(error)) for name, _, error in outcomes if error]
    for name, message in failed[:MAX_FLASHED]:  # the messages travel in the session cookie: keep it small
        flash(f"{name}: {message[:200]}", "error")
    if len(failed) > MAX_FLASHED:
        flash(f"{len(failed) - MAX_FLASHED} more photos could not be read either.", "error")
    return _go(url_for("pages.batch", ids=",".join(str(r.id) for r in stored)))


def _batch_ids(raw: str) -> list[int]:
    parts = [p for p in raw.split(",") if p.strip()]
    if not parts or len(parts) > MAX_BATCH:
        raise WebError(
            422, "invalid_parameter", f"parameter 'ids': must be 1 to {MAX_BATCH} read ids separated by commas"
        )
    return [as_id("ids", p) for p in parts]


@bp.get("/reads/batch")
def batch() -> BaseResponse:
    """A summary of several photos uploaded together, linking each read."""
    state = get_state()
    items = []
    for read_id in _batch_ids(request.args.get("ids", "")):
        try:
            read = state.reads.get(read_id)
        except NotFoundError:
            items.append(BatchItem(f"Read {read_id}", error="This read has been deleted."))
            continue
        items.append(BatchItem(read.filename or f"Read {read.id}", read=read))
    alerts = sum(1 for item in items if item.read and any(p.watch for p in item.read.plates))
    return private_page("batch.html", items=items, alerts=alerts)


@bp.get("/reads/<id:read_id>")
def read_page(read_id: int) -> BaseResponse:
    """One stored read: the photo with its plates outlined, each plate's crop, text and vehicle, any alert."""
    read = get_state().reads.get(read_id)
    return private_page("read.html", read=read, alerts=[p for p in read.plates if p.watch])


@bp.post("/reads/<id:read_id>/delete")
def delete_read(read_id: int) -> BaseResponse:
    """Delete a read with its photo and crops, then go to the history."""
    get_state().reads.delete(read_id)
    flash(f"Read {read_id} was deleted, with its photo and plate crops.", "info")
    return redirect(url_for("history.index"), 303)


@bp.get("/images/<sha256>.jpg")
def image(sha256: str) -> BaseResponse:
    """A stored photo or plate crop (JPEG), by the SHA-256 a read names."""
    return stored_image(get_state(), sha256)
