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
# URLs that may name a video file rather than a live stream: read as a file when the container states its length.
FILE_URL_SCHEMES = ("http://", "https://")
# A source that reports no frame rate (many cameras), or an absurd one, is taken to run at this rate.
FALLBACK_FPS = 25.0
# Consecutive undecodable frames after which a file is taken to be broken rather than damaged.
MAX_BAD_FRAMES = 25
# Longest a stream may keep opening or reading one frame blocked (FFmpeg's own default is 30 s): bounds how far a
# stalled stream can overrun max_seconds or reconnect_give_up_s.
STREAM_TIMEOUT_S = 10.0
# A live source that has delivered no frame for this long, reconnect attempts included, is taken to be gone.
RECONNECT_GIVE_UP_S = 300.0
# Past damage in a file: grab() is tried this many times more (FFmpeg resyncs at the next intact packet), then
# the reader seeks 1, 2, 4 ... frames further, this many times, before taking the file to end there.
RETRY_GRABS = 3
MAX_SEEKS = 8
# Places in one file whose damage is reported one by one; the rest are counted in one last warning.
MAX_DAMAGE_WARNINGS = 5


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


def clock_text(seconds: float) -> str:
    """``seconds`` as ``mm:ss.s`` (``01:02.5``), as video positions are shown."""
    minutes, s = divmod(max(seconds, 0.0), 60.0)
    return f"{int(minutes):02d}:{s:04.1f}"


class Capture(Protocol):
    """What :class:`VideoSource` needs of ``cv2.VideoCapture`` (tests pass their own)."""

    def isOpened(self) -> bool: ...
    def get(self, prop: int) -> float: ...
    def set(self, prop: int, value: float) -> bool: ...
    def grab(self) -> bool: ...
    def retrieve(self) -> tuple[bool, np.ndarray | None]: ...
    def release(self) -> None: ...


def open_capture(target: str | int) -> Capture:
    """``cv2.VideoCapture`` of ``target``; for a stream URL with opening and reading each frame limited to
    ``STREAM_TIMEOUT_S`` (a server that accepts the connection and then says nothing would block 30 s)."""
    if isinstance(target, str) and target.startswith(STREAM_SCHEMES):
        ms = round(STREAM_TIMEOUT_S * 1000)
        return cv2.VideoCapture(target, cv2.CAP_ANY, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms,
                                                      cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms])
    return cv2.VideoCapture(target)


class VideoSource:
    """Decodes a video source frame by frame, keeping about ``max_fps`` frames per second.

    Files are sampled by the time of each frame (``time_s`` is its timestamp in the file, so that a variable frame
    rate, as phones record, keeps its real times). An ``http(s)://`` URL whose container states its length (a
    file on a web server) is read as a file: once, to its end. A file whose frames
    stop well before the frame count its container states is damaged: the reader tries to read on
    past the damage, and records in :attr:`warnings` (and logs, or hands to ``on_warning``) where
    frames are missing and where the file ends early.

    Live sources (streams, cameras) are sampled by the clock (``time_s`` is seconds since
    :meth:`frames` began), and a stream that drops is reopened with a growing pause (1 s doubling
    to ``reconnect_max_s``) instead of ending the read: a camera that reboots or a network that
    hiccups only leaves a gap. A live source that delivers no frame for ``reconnect_give_up_s``
    is taken to be gone (:class:`VideoError`).

    Args:
        source: a video file path, a stream URL (``rtsp://``, ``http(s)://``...), or a camera index
            (``0``) or device path (``/dev/video0``).
        max_fps: frames per second to keep (the others are skipped without converting them); ``None``
            keeps every frame.
        name: how messages name the source (e.g. the user's file name for a spooled upload);
            default: :func:`describe`.
        reconnect: reopen a live source that stops delivering frames (default: yes for live sources).
        reconnect_max_s: the longest pause between two attempts to reopen.
        reconnect_give_up_s: seconds a live source may go without delivering a frame, attempts to
            reopen it included, before :meth:`frames` raises :class:`VideoError`; ``None``: never.
        max_seconds: end :meth:`frames` after this much video: of the file (by frame time), or of
            wall-clock time for a live source, pauses to reconnect included (a stalled stream can
            overrun it by up to ``STREAM_TIMEOUT_S``, the longest one read may block); ``None``: no limit.
        capture: builds the capture for a target (default :func:`open_capture`).
        clock: seconds on a monotonic clock (default ``time.monotonic``; tests pass their own).
        sleep: waits a number of seconds (default ``time.sleep``; tests pass their own).
        on_warning: called with each message about damage in a file (default: logged as a warning).

    Raises:
        VideoError: the source does not exist, or cannot be opened.
        ValueError: ``max_fps``, ``reconnect_give_up_s`` or ``max_seconds`` is not a positive number.
    """

    def __init__(
        self,
        source: str | int | Path,
        max_fps: float | None = 5.0,
        name: str | None = None,
        *,
        reconnect: bool = True,
        reconnect_max_s: float = 30.0,
        reconnect_give_up_s: float | None = RECONNECT_GIVE_UP_S,
        max_seconds: float | None = None,
        capture: Callable[[str | int], Capture] | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        on_warning: Callable[[str], None] | None = None,
    ):
        for what, value in (("max_fps", max_fps), ("reconnect_give_up_s", reconnect_give_up_s),
                            ("max_seconds", max_seconds)):
            if value is not None and not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{what}={value} must be a positive number of "
                                 + ("frames per second" if what == "max_fps" else "seconds"))
        self.name = name or describe(source)
        target: str | int = source if isinstance(source, int) else str(source)
        if isinstance(target, str) and target.isdigit() and not Path(target).is_file():
            target = int(target)  # a camera index, unless a file has that name (a recording called 2024)
        is_file = isinstance(target, str) and not target.startswith(STREAM_SCHEMES) and not target.startswith("/dev/")
        if is_file and Path(str(target)).is_dir():
            raise VideoError(f"{self.name} is a folder, not a video file: name one video file, stream or camera")
        if is_file and not Path(str(target)).is_file():
            raise VideoError(f"video file {self.name} does not exist")
        self.is_live = not is_file
        self.max_fps = max_fps
        self.reconnect_max_s = reconnect_max_s
        self.reconnect_give_up_s = reconnect_give_up_s
        self.max_seconds = max_seconds
        self.reconnects = 0
        self.warnings: list[str] = []
        """What was found wrong with a file while reading it (missing frames, an early end), in order."""
        self._target = target
        self._open_capture = capture or open_capture
        # Looked up now rather than bound as defaults, so a test that patches the time module is obeyed.
        self._clock = clock or time.monotonic
        self._sleep = sleep or time.sleep
        self._on_warning = on_warning
        self._pause = 1.0
        self._last_frame_at = 0.0
        self._damaged = 0  # places in a file read past
        self._capture = self._open()
        if self._capture is None:
            what = "video file" if is_file else "stream or camera"
            raise VideoError(f"cannot open {what} {self.name}: not a video OpenCV/FFmpeg can decode, or not reachable")
        fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 0.0 < fps <= 1000.0 else FALLBACK_FPS  # under 1: a time-lapse or a recorder's slow rate
        frames = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        if self.is_live and frames > 0 and str(target).startswith(FILE_URL_SCHEMES):
            self.is_live = False  # reopening it at its end would read it again, endlessly
        self.reconnect = reconnect and self.is_live
        self.frame_count: int | None = frames if frames > 0 and not self.is_live else None
        self.width = int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        log.info("opened %s: %dx%d at %.3g fps, keeping %s frames a second", self.name, self.width, self.height,
                 self.fps, "all" if max_fps is None else f"up to {max_fps:g}")

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
        """The kept frames, in order, as RGB arrays; ends at the end of the file (or of a stream not reopened),
        or after ``max_seconds``.

        Raises:
            VideoError: no frame at all could be decoded, too many in a row failed in a file, or a live
                source delivered no frame for ``reconnect_give_up_s``.
        """
        index = -1
        decoded = bad = 0
        start = self._last_frame_at = self._clock()
        next_live = 0.0
        last_slot: int | None = None  # of a file: the last 1/max_fps-second slot a frame was kept from
        try:
            while True:
                if self.is_live and self.max_seconds is not None and self._clock() - start >= self.max_seconds:
                    return
                index += 1
                if self._capture is None or not self._capture.grab():
                    if self.is_live:
                        if self.reconnect and self._reopen(start):
                            continue
                        break
                    resumed = self._read_past_damage(index)
                    if resumed is None:
                        break
                    index = resumed
                if self.is_live:
                    now = self._clock()
                    self._last_frame_at, self._pause = now, 1.0
                    now -= start
                    if self.max_fps is not None and now < next_live - 1e-6:
                        continue
                    next_live = max(next_live, now) + (1.0 / self.max_fps if self.max_fps else 0.0)
                    time_s = now
                else:
                    time_s = self._file_time(index)
                    if self.max_fps is not None:
                        slot = math.floor(time_s * self.max_fps + 1e-6)
                        if last_slot is not None and slot <= last_slot:
                            continue
                        last_slot = slot
                    if self.max_seconds is not None and time_s > self.max_seconds:
                        return
                assert self._capture is not None  # grab() succeeded on it
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
        if self._damaged > MAX_DAMAGE_WARNINGS:
            self._warn(f"{self.name}: {self._damaged - MAX_DAMAGE_WARNINGS} more damaged place(s) read past")
        if self._ends_early(index):
            assert self.frame_count is not None  # _ends_early says so
            self._warn(f"{self.name}: video ended at frame {index} of {self.frame_count}: the file is damaged "
                       f"after {clock_text(index / self.fps)}")

    def _file_time(self, index: int) -> float:
        """Seconds into a file of frame ``index``, just grabbed: its timestamp, or ``index / fps`` where it has none."""
        ms = self._capture.get(cv2.CAP_PROP_POS_MSEC) if self._capture is not None else 0.0
        return ms / 1000.0 if ms > 0 else index / self.fps

    def _ends_early(self, index: int) -> bool:
        """Whether a file that gives no frame ``index`` stops well short of the frame count its container states
        (which some formats estimate: a frame or two, or 1 %, short is taken as the end)."""
        return self.frame_count is not None and index < self.frame_count - max(2, self.frame_count // 100)

    def _read_past_damage(self, index: int) -> int | None:
        """After ``grab()`` failed at frame ``index`` of a file that should go on: grab again, then seek further and
        further ahead; the index of the frame grabbed past the damage, or ``None`` (the end, or no way past)."""
        capture = self._capture
        if capture is None or not self._ends_early(index):
            return None
        assert self.frame_count is not None  # _ends_early says so
        resumed = None
        for _ in range(RETRY_GRABS):
            if capture.grab():
                resumed = max(index, self._position(capture))
                break
        step = 1
        for _ in range(MAX_SEEKS if resumed is None else 0):
            target = index + step
            if target >= self.frame_count:
                break
            # A seek may land on an earlier frame (the key frame before the damage): only progress counts.
            if capture.set(cv2.CAP_PROP_POS_FRAMES, target) and capture.grab():
                position = self._position(capture)
                if position > index:
                    resumed = position
                    break
            step *= 2
        if resumed is None:
            return None
        self._damaged += 1
        if self._damaged <= MAX_DAMAGE_WARNINGS:
            t0, t1 = clock_text(index / self.fps), clock_text(resumed / self.fps)
            lost = f"frame {index}" if resumed - 1 <= index else f"frames {index}-{resumed - 1}"
            where = f"at {t0} ({lost})" if resumed <= index + 1 else f"at {lost} ({t0}-{t1})"
            self._warn(f"{self.name}: the file is damaged {where}; read on past the damage")
        return resumed

    @staticmethod
    def _position(capture: Capture) -> int:
        """The index of the frame just grabbed, as the capture counts (-1 when it does not say)."""
        return int(capture.get(cv2.CAP_PROP_POS_FRAMES) or 0) - 1

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        if self._on_warning is not None:
            self._on_warning(message)
        else:
            log.warning("%s", message)

    def _reopen(self, start: float) -> bool:
        """Reopen a dropped live source, pausing 1 s, 2 s, 4 s ... up to ``reconnect_max_s`` between tries; ``False``
        when ``max_seconds`` (counted from ``start``) runs out first.

        Raises:
            VideoError: no frame for ``reconnect_give_up_s``.
        """
        self.close()
        while True:
            now = self._clock()
            silent = now - self._last_frame_at
            give_up = self.reconnect_give_up_s
            if give_up is not None and silent >= give_up:
                raise VideoError(
                    f"{self.name} has delivered no frame for {silent:.0f} s, attempts to reconnect included: the "
                    f"stream is gone; check the camera and the network (or allow longer: reconnect_give_up_s, "
                    f"numberplate video --give-up-after)")
            pause = self._pause
            if give_up is not None:
                pause = min(pause, self._last_frame_at + give_up - now)
            if self.max_seconds is not None:
                left = start + self.max_seconds - now
                if left <= 0:
                    return False
                pause = min(pause, left)
            log.warning("%s stopped delivering frames; reopening in %.1f s", self.name, pause)
            self._sleep(pause)
            if self.max_seconds is not None and self._clock() - start >= self.max_seconds:
                return False
            self._pause = min(self._pause * 2, self.reconnect_max_s)
            self._capture = self._open()
            if self._capture is not None:
                self.reconnects += 1
                log.info("%s reopened", self.name)
                return True

    def close(self) -> None:
        """Release the file, stream or camera (also done when :meth:`frames` ends)."""
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
