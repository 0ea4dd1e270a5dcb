"""Video: frames from files, streams and cameras; plates tracked across frames, their text voted over them.

    >>> from numberplate import Reader
    >>> from numberplate.video import read_video
    >>> for event in read_video(Reader(), "dashcam.mp4", fps=5):  # doctest: +SKIP
    ...     print(event.first_seen_s, event.text, event.confidence)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from numberplate.video.source import Frame, VideoSource
from numberplate.video.tracker import PlateEvent, PlateTracker

if TYPE_CHECKING:
    from numberplate.pipeline import Reader


def read_video(
    reader: Reader,
    source: str | int | Path,
    *,
    fps: float | None = 5.0,
    country: str | None = None,
    tracker: PlateTracker | None = None,
    max_seconds: float | None = None,
) -> Iterator[PlateEvent]:
    """Read a video file, stream or camera; yield each plate once, when it has left the picture.

    Args:
        reader: the image pipeline run on every kept frame.
        source: see :class:`VideoSource`.
        fps: frames per second to read (the rest are skipped); ``None`` reads every frame.
        country: country hint for the recogniser.
        tracker: how reads are linked over frames (default :class:`PlateTracker`).
        max_seconds: stop after this much video time (for endless streams).

    Raises:
        VideoError: the source cannot be opened or decoded.
        ValueError: ``fps`` or ``max_seconds`` is not positive.
    """
    if max_seconds is not None and not max_seconds > 0:
        raise ValueError(f"max_seconds={max_seconds} must be positive")
    tracker = tracker or PlateTracker()
    video = VideoSource(source, fps)
    with video:
        for frame in video.frames():
            if max_seconds is not None and frame.time_s > max_seconds:
                break
            yield from tracker.update(frame, reader.read_array(frame.image, country))
    yield from tracker.flush()


__all__ = ["Frame", "PlateEvent", "PlateTracker", "VideoSource", "read_video"]
