"""Frames from a video file, a network stream (RTSP/HTTP) or a camera, sampled at a chosen rate."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from numberplate.errors import VideoError

log = logging.getLogger(__name__)

STREAM_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")
# A stream that reports no frame rate (many cameras) is taken to run at this rate.
FALLBACK_FPS = 25.0
# Consecutive undecodable frames after which a file is taken to be broken rather than damaged.
MAX_BAD_FRAMES = 25


@dataclass(frozen=True)
class Frame:
    """One decoded video frame: its index in the source, its time in seconds and the RGB pixels."""

    index: int
    time_s: float
    image: np.ndarray


def describe(source: str | int | Path) -> str:
    """How a source is named in messages: the path, the URL without credentials, or ``camera N``."""
    if isinstance(source, int):
        return f"camera {source}"
    text = str(source)
    if text.startswith(STREAM_SCHEMES) and "@" in text.split("//", 1)[1].split("/", 1)[0]:
        scheme, rest = text.split("//", 1)
        return f"{scheme}//***@{rest.split('@', 1)[1]}"
    return text


class VideoSource:
    """Decodes a video source frame by frame, keeping about ``max_fps`` frames per second.

    Args:
        source: a video file path, a stream URL (``rtsp://``, ``http(s)://``...), or a camera index
            (``0``) or device path (``/dev/video0``).
        max_fps: frames per second to keep (the others are skipped without converting them); ``None``
            keeps every frame.
        name: how messages name the source (e.g. the user's file name for a spooled upload);
            default: :func:`describe`.

    Raises:
        VideoError: the source does not exist, cannot be opened, or its first frame cannot be decoded.
        ValueError: ``max_fps`` is not positive.
    """

    def __init__(self, source: str | int | Path, max_fps: float | None = 5.0, name: str | None = None):
        if max_fps is not None and not (max_fps > 0 and math.isfinite(max_fps)):
            raise ValueError(f"max_fps={max_fps} must be a positive number of frames per second")
        self.name = name or describe(source)
        target: str | int = source if isinstance(source, int) else str(source)
        if isinstance(target, str) and target.isdigit():
            target = int(target)
        is_file = isinstance(target, str) and not target.startswith(STREAM_SCHEMES) and not target.startswith("/dev/")
        if is_file and not Path(str(target)).is_file():
            raise VideoError(f"video file {self.name} does not exist")
        self.is_live = not is_file
        self._capture = cv2.VideoCapture(target)
        if not self._capture.isOpened():
            self._capture.release()
            what = "video file" if is_file else "stream or camera"
            raise VideoError(f"cannot open {what} {self.name}: not a video OpenCV/FFmpeg can decode, or not reachable")
        fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 1.0 <= fps <= 1000.0 else FALLBACK_FPS
        frames = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frame_count: int | None = frames if frames > 0 and not self.is_live else None
        self.step = 1 if max_fps is None else max(1, round(self.fps / max_fps))
        self.width = int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        log.info("opened %s: %dx%d at %.1f fps, keeping every %d. frame", self.name, self.width, self.height,
                 self.fps, self.step)

    @property
    def duration_s(self) -> float | None:
        """Length of a file in seconds (``None`` for live sources or when the container does not say)."""
        return self.frame_count / self.fps if self.frame_count else None

    def frames(self) -> Iterator[Frame]:
        """The kept frames, in order, as RGB arrays; ends at the end of the file or stream.

        Raises:
            VideoError: no frame at all could be decoded, or too many in a row failed in a file.
        """
        index = -1
        decoded = bad = 0
        try:
            while True:
                index += 1
                if not self._capture.grab():
                    break
                if index % self.step:
                    continue
                ok, bgr = self._capture.retrieve()
                if not ok or bgr is None:
                    bad += 1
                    if bad >= MAX_BAD_FRAMES and not self.is_live:
                        raise VideoError(f"{self.name}: {bad} frames in a row cannot be decoded; the file is damaged")
                    continue
                bad = 0
                decoded += 1
                if bgr.ndim == 2:
                    bgr = cv2.cvtColor(bgr, cv2.COLOR_GRAY2BGR)
                yield Frame(index, index / self.fps, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        finally:
            self.close()
        if decoded == 0:
            raise VideoError(f"{self.name}: no frame could be decoded; is it a video?")

    def close(self) -> None:
        """Release the file, stream or camera (also done when :meth:`frames` ends)."""
        self._capture.release()

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
