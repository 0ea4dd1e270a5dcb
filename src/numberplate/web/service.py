"""Uploaded images (and videos) through the Reader and into the history: shared by the pages and the APIs."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Literal

import numpy as np
from flask import Response

from numberplate.detection.zones import Zone, zoned_reader
from numberplate.errors import ImageError
from numberplate.imaging import load_image
from numberplate.store.reads import StoredRead
from numberplate.types import ImageResult
from numberplate.video import PlateEvent, PlateTracker, VideoSource, event_frame, look_up_event
from numberplate.web.errors import WebError
from numberplate.web.state import NumberplateState

IMAGE_CACHE = "private, max-age=86400, immutable"  # content-addressed: the bytes of a name never change

MediaKind = Literal["image", "video"]
SNIFF_BYTES = 512  # enough for every signature below (an MPEG-TS packet is 188 bytes)
# Leading bytes of the still-image formats load_image reads (HEIC and AVIF are ISO-BMFF: by their brand below).
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")
_IMAGE_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"})
# Matroska/WebM, ASF (WMV), FLV, Ogg, MPEG program and elementary streams.
_VIDEO_MAGIC = (b"\x1a\x45\xdf\xa3", b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", b"FLV\x01", b"OggS",
                b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")
# The first box of an MP4/MOV/3GP file (QuickTime files may start with any of these atoms).
_MP4_BOXES = frozenset({b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot"})


@dataclass(frozen=True)
class ReadOptions:
    """Per-request choices."""

    country: str | None = None
    ocr: str | None = None
    lookup: bool = False
    store: bool = True
    source: str = "web"
    camera_id: str | None = None
    filename: str | None = None
    token_id: int | None = None
    created_at: datetime | None = None
    zones: tuple[Zone, ...] = ()  # only plates whose box centre lies in one count; none: camera_id's configured ones


@dataclass(frozen=True)
class ReadOutcome:
    """What reading one image gave: the result, its crops, and the stored read when it was kept."""

    image: np.ndarray
    result: ImageResult
    crops: tuple[np.ndarray, ...]
    stored: StoredRead | None


def media_kind(head: bytes) -> MediaKind | None:
    """Whether a file's first bytes (:data:`SNIFF_BYTES` of them) are a still image or a video; None: neither.

    Uploads are told apart by their content, not by the type or name the client declared: a photo sent
    as ``video/mp4`` is still a photo.
    """
    if head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "image"
    if head[4:8] == b"ftyp":
        return "image" if head[8:12] in _IMAGE_BRANDS else "video"
    if head[4:8] in _MP4_BOXES or head.startswith(_VIDEO_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"AVI "):
        return "video"
    if len(head) > 188 and head[0] == head[188] == 0x47:  # MPEG-TS: a sync byte every 188 bytes
        return "video"
    return None


def peek(stream: IO[bytes], size: int = SNIFF_BYTES) -> bytes:
    """The first ``size`` bytes of an uploaded file's (seekable) stream, leaving it at the start."""
    stream.seek(0)
    head = stream.read(size)
    stream.seek(0)
    return head


def decode_upload(state: NumberplateState, data: bytes, name: str) -> np.ndarray:
    """Decode uploaded bytes; errors name the user's file instead of ``<N bytes>``.

    Raises:
        ImageError: (a subclass) the bytes are empty, not an image, unsupported or too large.
    """
    try:
        return load_image(data, state.config.max_image_pixels)
    except ImageError as e:
        raise type(e)(str(e).replace(f"<{len(data)} bytes>", name)) from e


def zones_of(state: NumberplateState, options: ReadOptions) -> tuple[Zone, ...]:
    """The zones a read counts plates in: its own, else those configured for its camera (config ``zones``);
    none: every plate."""
    return state.config.zones.zones_for(options.camera_id, options.zones)


def read_upload(state: NumberplateState, data: bytes, options: ReadOptions) -> ReadOutcome:
    """Decode, read every plate, and (unless ``options.store`` is off) save the read with its image and crops."""
    image = decode_upload(state, data, options.filename or "the upload")
    reader = zoned_reader(state.reader_for(options.ocr, options.lookup), zones_of(state, options))
    t0 = time.perf_counter()
    pairs = reader.read_with_crops(image, options.country)
    elapsed = (time.perf_counter() - t0) * 1000.0
    plates = [read for read, _ in pairs]
    crops = tuple(crop for _, crop in pairs)
    h, w = image.shape[:2]
    result = ImageResult(w, h, tuple(plates), elapsed)
    state.metrics.add_plates(len(plates))
    return ReadOutcome(image, result, crops, _save(state, image, result, crops, options))


def _save(state: NumberplateState, image: np.ndarray, result: ImageResult, crops: tuple[np.ndarray, ...],
          options: ReadOptions) -> StoredRead | None:
    """Keep a read with its photo and crops, unless ``options.store`` or the ``store_reads`` setting is off."""
    if not (options.store and state.config.store_reads):
        return None
    return state.reads.save_images(
        result,
        image,
        crops,
        source=options.source,
        camera_id=options.camera_id,
        filename=options.filename,
        country_hint=options.country,
        token_id=options.token_id,
        created_at=options.created_at,
    )


@dataclass(frozen=True)
class VideoOutcome:
    """What reading one video gave: its geometry, the frames read, and each plate as a read of its best frame."""

    width: int
    height: int
    duration_s: float | None
    frames_read: int
    processing_time_ms: float
    events: tuple[PlateEvent, ...]
    reads: tuple[ReadOutcome, ...]  # one per event: best frame, result with the voted text, crop, stored read
    warnings: tuple[str, ...] = ()  # where a damaged file was read past, or ended early


def read_video_upload(state: NumberplateState, stream: IO[bytes], fps: float, options: ReadOptions) -> VideoOutcome:
    """Read an uploaded video: each plate once, voted over its frames, stored with its best frame.

    The upload is spooled to a temporary file in the instance folder (FFmpeg reads from a path)
    and removed afterwards. Nothing is stored unless the whole video was read.

    Raises:
        VideoError: the upload is not a video FFmpeg can decode.
        WebError: 400 for an empty upload, 413 when the video is longer than ``max_video_seconds``.
    """
    limit = state.config.max_video_seconds
    tmp_dir = Path(state.config.instance_path) / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=tmp_dir, suffix=".video") as spool:
        while chunk := stream.read(1 << 20):
            spool.write(chunk)
        if spool.tell() == 0:
            raise WebError(400, "empty_video", f"the video {options.filename or 'upload'} is empty (0 bytes)")
        spool.flush()
        video = VideoSource(spool.name, fps, name=options.filename or "the upload")
        with video:
            if video.duration_s is not None and video.duration_s > limit:
                raise WebError(413, "video_too_long", f"the video lasts {video.duration_s:.1f} s; "
                               f"the limit is {limit:g} s (max_video_seconds)")
            reader = state.reader_for(options.ocr, options.lookup)
            # The vehicle is looked up once per plate; plates outside the zones are not read.
            frames_reader = zoned_reader(reader.without_lookup(), zones_of(state, options))
            tracker = PlateTracker(keep_images=True)
            events: list[PlateEvent] = []
            frames = 0
            t0 = time.perf_counter()
            for frame in video.frames():
                if frame.time_s > limit:  # a container that did not state its length
                    raise WebError(413, "video_too_long", f"the video lasts over {limit:g} s (max_video_seconds)")
                frames += 1
                events += tracker.update(frame, frames_reader.read_array(frame.image, options.country))
            events += tracker.flush()
            events = [look_up_event(reader, e, options.country) for e in events]
            elapsed = (time.perf_counter() - t0) * 1000.0
    state.metrics.add_plates(len(events))
    reads = []
    for event in events:
        best = event_frame(event, reader, elapsed / max(frames, 1))
        assert best is not None  # the tracker keeps images
        image, result, crop = best
        reads.append(ReadOutcome(image, result, (crop,), _save(state, image, result, (crop,), options)))
    return VideoOutcome(video.width, video.height, video.duration_s, frames, elapsed, tuple(events), tuple(reads),
                        tuple(video.warnings))


def stored_image(state: NumberplateState, sha256: str) -> Response:
    """A stored photo or crop as a JPEG response.

    Raises:
        WebError: 404 when there is no such image (or the name is not an image id).
    """
    data = state.files.get(sha256)
    if data is None:
        raise WebError(404, "not_found", "There is no stored image with that name; it may have been deleted.")
    return Response(data, mimetype="image/jpeg", headers={"Cache-Control": IMAGE_CACHE})
