"""Video: frames from files, streams and cameras; plates tracked across frames, their text voted over them.

    >>> from numberplate import Reader
    >>> from numberplate.video import read_video
    >>> for event in read_video(Reader(), "dashcam.mp4", fps=5):  # doctest: +SKIP
    ...     print(event.first_seen_s, event.text, event.confidence)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from numberplate.detection.zones import Zone, ZoneError, parse_zone, parse_zones, zoned_reader
from numberplate.types import ImageResult
from numberplate.video.source import RECONNECT_GIVE_UP_S, Frame, VideoSource
from numberplate.video.tracker import PlateEvent, PlateTracker

if TYPE_CHECKING:
    from numberplate.pipeline import Reader
    from numberplate.store.reads import ReadStore, StoredRead


def read_video(
    reader: Reader,
    source: str | int | Path,
    *,
    fps: float | None = 5.0,
    country: str | None = None,
    tracker: PlateTracker | None = None,
    max_seconds: float | None = None,
    reconnect_give_up_s: float | None = RECONNECT_GIVE_UP_S,
    on_warning: Callable[[str], None] | None = None,
    zones: Sequence[Zone] = (),
) -> Iterator[PlateEvent]:
    """Read a video file, stream or camera; yield each plate once, when it has left the picture.

    Args:
        reader: the image pipeline run on every kept frame; its vehicle lookup (if any) runs once per
            plate, on the voted text.
        source: see :class:`VideoSource`.
        fps: frames per second to read (the rest are skipped); ``None`` reads every frame.
        country: country hint for the recogniser.
        tracker: how reads are linked over frames (default :class:`PlateTracker`).
        max_seconds: stop after this much video time: of a file, or of wall-clock time for a stream or
            camera, pauses to reconnect a dropped stream included (for endless streams).
        reconnect_give_up_s: a stream or camera that delivers no frame for this long, attempts to
            reconnect included, ends the read with :class:`VideoError`; ``None``: keep trying.
        on_warning: called with each message about damage found in a file (frames missing, an early
            end: see :attr:`VideoSource.warnings`); default: logged as a warning.
        zones: only plates whose box centre lies in one of these count (:func:`parse_zone`); none: all.

    Raises:
        VideoError: the source cannot be opened or decoded, or a stream is gone.
        ValueError: ``fps``, ``max_seconds`` or ``reconnect_give_up_s`` is not positive.
    """
    if max_seconds is not None and not max_seconds > 0:
        raise ValueError(f"max_seconds={max_seconds} must be positive")
    tracker = tracker or PlateTracker()
    # The vehicle is looked up once per plate, not once per frame; plates outside the zones are not read.
    frames_reader = zoned_reader(reader.without_lookup(), zones)
    video = VideoSource(source, fps, max_seconds=max_seconds, reconnect_give_up_s=reconnect_give_up_s,
                        on_warning=on_warning)
    with video:
        for frame in video.frames():
            for event in tracker.update(frame, frames_reader.read_array(frame.image, country)):
                yield look_up_event(reader, event, country)
    for event in tracker.flush():
        yield look_up_event(reader, event, country)


def look_up_event(reader: Reader, event: PlateEvent, country: str | None = None) -> PlateEvent:
    """``event`` whose ``best`` read carries the voted text and, when ``reader`` has a lookup, the vehicle."""
    if reader.lookup is None or event.text is None:
        return event
    return dataclasses.replace(event, best=reader.look_up(event.as_read(), country))


def event_frame(
    event: PlateEvent, reader: Reader, ms_per_frame: float = 0.0
) -> tuple[np.ndarray, ImageResult, np.ndarray] | None:
    """An event as one image read: its best frame, that frame's result with the voted text, and the crop.

    ``ms_per_frame`` is recorded as the result's processing time. ``None`` when the event carries
    no frame (a tracker made without ``keep_images``).
    """
    if event.best_image is None:
        return None
    image = event.best_image
    h, w = image.shape[:2]
    return image, ImageResult(w, h, (event.as_read(),), ms_per_frame), reader.crops(image, [event.best])[0]


def store_event(
    reads: ReadStore,
    event: PlateEvent,
    reader: Reader,
    *,
    camera_id: str | None = None,
    filename: str | None = None,
    country: str | None = None,
) -> StoredRead | None:
    """Store one plate of a video (source ``video``) as a read of its best frame, see :func:`event_frame`.

    Raises:
        StoreError: the database or the image folder cannot be written.
    """
    frame = event_frame(event, reader)
    if frame is None:
        return None
    image, result, crop = frame
    return reads.save_images(
        result,
        image,
        [crop],
        source="video",
        camera_id=camera_id,
        filename=filename,
        country_hint=country,
    )


__all__ = [
    "Frame", "PlateEvent", "PlateTracker", "VideoSource", "Zone", "ZoneError", "event_frame", "look_up_event",
    "parse_zone", "parse_zones", "read_video", "store_event", "zoned_reader",
]
