"""The HTML pages: the upload form and the result page for one uploaded photo."""

from __future__ import annotations

import base64
import re
import time
from dataclasses import dataclass
from pathlib import PureWindowsPath

import cv2
import numpy as np
from flask import Blueprint, Response, render_template, request
from werkzeug.datastructures import FileStorage

from numberplate.errors import ImageError
from numberplate.imaging import encode_jpeg, load_image
from numberplate.render import annotate
from numberplate.types import PlateRead
from numberplate.web.errors import WebError
from numberplate.web.state import get_state

bp = Blueprint("pages", __name__)

UPLOAD_FIELD = "image"
COUNTRY_FIELD = "country"
MAX_DISPLAY_SIDE = 1600  # the annotated photo is shrunk to this for the page; reading uses full resolution
COUNTRY_RE = re.compile(r"[a-z]{2}")


@dataclass(frozen=True)
class CandidateView:
    """One alternative reading, as shown on the page."""

    text: str
    percent: str


@dataclass(frozen=True)
class PlateView:
    """One plate as the result page shows it."""

    number: int
    text: str | None
    confidence: str
    detection_confidence: str
    country: str | None
    candidates: tuple[CandidateView, ...]
    crop_uri: str
    crop_width: int
    crop_height: int


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
    )


def _uploaded_file() -> FileStorage:
    # The form has two file inputs (gallery and camera); the first one the user filled wins.
    chosen = [f for f in request.files.getlist(UPLOAD_FIELD) if f.filename]
    if not chosen:
        raise WebError(400, "missing_file", "No photo was uploaded. Choose a photo of a vehicle and send it again.")
    return chosen[0]


def _display_name(upload: FileStorage) -> str:
    # Browsers send a bare name, old ones a full Windows path; either way show only the last part.
    name = PureWindowsPath(upload.filename or "upload").name or "upload"
    return name if len(name) <= 80 else name[:77] + "..."


def _country_hint() -> str | None:
    raw = request.form.get(COUNTRY_FIELD, "").strip().lower()
    if not raw:
        return None
    if not COUNTRY_RE.fullmatch(raw):
        raise WebError(
            400, "bad_country", f"Country {raw[:20]!r} is not a two-letter country code (such as GB, US or BR)."
        )
    return raw


@bp.get("/")
def index() -> str:
    """The upload form."""
    return render_template("index.html", country="")


@bp.post("/")
@bp.post("/read")  # registered first (decorators apply bottom-up), so url_for("pages.read") gives /read
def read() -> Response:
    """Read the plates in an uploaded photo and show them (nothing is stored)."""
    upload = _uploaded_file()
    country = _country_hint()
    name = _display_name(upload)
    data = upload.read()
    if not data:
        raise WebError(400, "empty_file", f"The file {name} is empty (0 bytes). Choose another photo.")
    state = get_state()
    try:
        image = load_image(data, state.config.max_image_pixels)
    except ImageError as e:
        # Same error class (so the same status), but naming the user's file instead of "<N bytes>".
        raise type(e)(str(e).replace(f"<{len(data)} bytes>", name)) from e

    reader = state.get_reader()
    t0 = time.perf_counter()
    reads = reader.read_array(image, country)
    elapsed_ms = (time.perf_counter() - t0) * 1000.0
    crops = reader.crops(image, reads)
    shown = _fit(annotate(image, reads), MAX_DISPLAY_SIDE)
    html = render_template(
        "result.html",
        filename=name,
        country=country or "",
        width=int(image.shape[1]),
        height=int(image.shape[0]),
        image_uri=jpeg_data_uri(shown),
        image_width=int(shown.shape[1]),
        image_height=int(shown.shape[0]),
        plates=[_plate_view(i, r, c) for i, (r, c) in enumerate(zip(reads, crops, strict=True), 1)],
        processing_ms=round(elapsed_ms),
    )
    # The page holds the user's photo: keep it out of shared and browser caches.
    return Response(html, headers={"Cache-Control": "no-store"})
