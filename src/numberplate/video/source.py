"""Frames from a video file, a network stream (RTSP/HTTP) or a camera, sampled at a chosen rate."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

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
    if text.isdigit():
        return f"camera {text}"
    if text.startswith(STREAM_SCHEMES):
        scheme, rest = text.split("//", 1)
        authority, slash, path = rest.partition("/")
        if "@" in authority:  # user:password@host; the password may itself hold an "@"
            return f"{scheme}//***@{authority.rsplit('@', 1)[1]}{slash}{path}"
    return text


class Capture(Protocol):
    """What :class:`VideoSource` needs of ``cv2.VideoCapture`` (tests pass their own)."""

    def isOpened(self) -> bool: ...
    def get(self, prop: int) -> float: ...
    def grab(self) -> bool: ...
    def retrieve(self) -> tuple[bool, np.ndarray | None]: ...
    def release(self) -> None: ...


class VideoSource:
    """Decodes a video source frame by frame, keeping about ``max_fps`` frames per second.

    Files are sampled by frame index (``time_s`` is the position in the file). Live sources
    (streams, cameras) are sampled by the clock (``time_s`` is seconds since opening), and a
    stream that drops is reopened with a growing pause (1 s doubling to ``reconnect_max_s``)
    instead of ending the read: a camera that reboots or a network that hiccups only leaves a gap.

    Args:
        source: a video file path, a stream URL (``rtsp://``, ``http(s)://``...), or a camera index
            (``0``) or device path (``/dev/video0``).
        max_fps: frames per second to keep (the others are skipped without converting them); ``None``
            keeps every frame.
        name: how messages name the source (e.g. the user's file name for a spooled upload);
            default: :func:`describe`.
        reconnect: reopen a live source that stops delivering frames (default: yes for live sources).
        reconnect_max_s: the longest pause between two attempts to reopen.
        capture: builds the capture for a target (default ``cv2.VideoCapture``).

    Raises:
        VideoError: the source does not exist, or cannot be opened.
        ValueError: ``max_fps`` is not positive.
    """

    def __init__(
        self,
        source: str | int | Path,
        max_fps: float | None = 5.0,
        name: str | None = None,
        *,
        reconnect: bool = True,
        reconnect_max_s: float = 30.0,
        capture: Callable[[str | int], Capture] | None = None,
    ):
        if max_fps is not None and not (max_fps > 0 and math.isfinite(max_fps)):
            raise ValueError(f"max_fps={max_fps} must be a positive number of frames per second")
        self.name = name or describe(source)
        target: str | int = source if isinstance(source, int) else str(source)
        if isinstance(target, str) and target.isdigit():
            target = int(target)
        is_file = isinstance(target, str) and not target.startswith(STREAM_SCHEMES) and not target.startswith("/dev/")
        if is_file and Path(str(target)).is_dir():
            raise VideoError(f"{self.name} is a folder, not a video file: name one video file, stream or camera")
        if is_file and not Path(str(target)).is_file():
            raise VideoError(f"video file {self.name} does not exist")
        self.is_live = not is_file
        self.max_fps = max_fps
        self.reconnect = reconnect and self.is_live
        self.reconnect_max_s = reconnect_max_s
        self.reconnects = 0
        self._target = target
        self._open_capture = capture or cv2.VideoCapture
        self._capture = self._open()
        if self._capture is None:
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

    def _open(self) -> Capture | None:
        capture = self._open_capture(self._target)
        if capture.isOpened():
            return capture
        capture.release()
        return None

    @property
    def duration_s(self) -> float | None:
        """Length of a file in seconds (``None`` for live sources or when the container does not say)."""
        return self.frame_count / self.fps if self.frame_count else None

    def frames(self) -> Iterator[Frame]:
        """The kept frames, in order, as RGB arrays; ends at the end of the file (or of a stream not reopened).

        Raises:
            VideoError: no frame at all could be decoded, or too many in a row failed in a file.
        """
        index = -1
        decoded = bad = 0
        start = time.monotonic()
        next_live = 0.0
        try:
            while True:
                index += 1
                if self._capture is None or not self._capture.grab():
                    if self.reconnect and self._reopen():
                        continue
                    break
                if self.is_live:
                    now = time.monotonic() - start
                    if self.max_fps is not None and now < next_live - 1e-6:
                        continue
                    next_live = max(next_live, now) + (1.0 / self.max_fps if self.max_fps else 0.0)
                    time_s = now
                elif index % self.step:
                    continue
                else:
                    time_s = index / self.fps
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
                yield Frame(index, time_s, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        finally:
            self.close()
        if decoded == 0:
            raise VideoError(f"{self.name}: no frame could be decoded; is it a video?")

    def _reopen(self) -> bool:
        """Reopen a dropped live source, pausing 1 s, 2 s, 4 s ... up to ``reconnect_max_s`` between tries."""
        self.close()
        pause = 1.0
        while True:
            log.warning("%s stopped delivering frames; reopening in %.0f s", self.name, pause)
            time.sleep(pause)
            self._capture = self._open()
            if self._capture is not None:
                self.reconnects += 1
                log.info("%s reopened", self.name)
                return True
            pause = min(pause * 2, self.reconnect_max_s)

    def close(self) -> None:
        """Release the file, stream or camera (also done when :meth:`frames` ends)."""
        if self._capture is not None:
            self._capture.release()
            self._capture = None
    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
