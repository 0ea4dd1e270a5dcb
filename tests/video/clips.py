"""Small test videos written with OpenCV from a real photo: a car passing, gaps; MP4s edited as phones write them."""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np

from numberplate.types import BoundingBox, Detection

SIZE = (640, 360)  # width, height


def passing_car(photo: np.ndarray, frames: int, shift: int = 0) -> list[np.ndarray]:
    """``frames`` RGB frames of ``photo`` (scaled into the frame) drifting right by 3 px a frame."""
    h, w = photo.shape[:2]
    scale = min(SIZE[0] / w, SIZE[1] / h) * 0.9
    small = cv2.resize(photo, (round(w * scale), round(h * scale)))
    out = []
    for i in range(frames):
        canvas = np.full((SIZE[1], SIZE[0], 3), 90, np.uint8)
        x = min(shift + 3 * i, SIZE[0] - small.shape[1])
        canvas[: small.shape[0], x:x + small.shape[1]] = small
        out.append(canvas)
    return out


def crossing_car(photo: np.ndarray, frames: int) -> list[np.ndarray]:
    """``frames`` RGB frames of ``photo`` (scaled to a third of the frame's width) crossing it from the left edge
    to the right edge, at the same height: its plate passes through every part of the frame's width."""
    h, w = photo.shape[:2]
    small = cv2.resize(photo, (SIZE[0] // 3, round(h * SIZE[0] / 3 / w)))
    out = []
    for i in range(frames):
        canvas = np.full((SIZE[1], SIZE[0], 3), 90, np.uint8)
        x = round(i * (SIZE[0] - small.shape[1]) / (frames - 1))
        canvas[100:100 + small.shape[0], x:x + small.shape[1]] = small
        out.append(canvas)
    return out


class CarFinder:
    """A fake plate detector for the clips above: a plate box in the middle of wherever the frame is not the
    plain grey road (the car), whatever the picture shows."""

    def detect(self, image: np.ndarray) -> list[Detection]:
        ys, xs = np.nonzero(np.abs(image.astype(np.int16) - 90).max(axis=2) > 40)
        if len(xs) < 100:
            return []
        x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
        cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) * 0.4, (y1 - y0) * 0.15
        box = BoundingBox(float(cx - w / 2), float(cy - h / 2), float(cx + w / 2), float(cy + h / 2))
        return [Detection(box, 0.9)]


def empty(frames: int) -> list[np.ndarray]:
    """``frames`` plain grey frames (no plate)."""
    return [np.full((SIZE[1], SIZE[0], 3), 90, np.uint8) for _ in range(frames)]


def write_clip(path: Path, frames: list[np.ndarray], fps: float = 10.0) -> Path:
    """Write RGB ``frames`` as a Motion-JPEG AVI (decodable by every OpenCV/FFmpeg build)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, SIZE)
    assert writer.isOpened(), "OpenCV cannot write MJPG AVI files here"
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def write_mp4(path: Path, frames: list[np.ndarray], fps: float = 10.0) -> Path:
    """Write RGB ``frames`` as an MPEG-4 Part 2 MP4 (its index, ``moov``, after the frames: see :func:`edit_mp4`)."""
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    assert writer.isOpened(), "OpenCV cannot write MP4 files here"
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


_MP4_CONTAINERS = (b"moov", b"trak", b"mdia", b"minf", b"stbl")


def _box(data: bytes | bytearray, path: tuple[bytes, ...]) -> list[tuple[int, int]]:
    """(offset, size) of each box along ``path`` (``moov``, ``trak``, ...), from the outermost in."""
    found, start, end = [], 0, len(data)
    for kind in path:
        i = start
        while struct.unpack(">4s", data[i + 4:i + 8])[0] != kind:
            i += struct.unpack(">I", data[i:i + 4])[0]
            assert i < end, f"no {kind!r} box"
        size = struct.unpack(">I", data[i:i + 4])[0]
        found.append((i, size))
        start, end = i + 8, i + size
    return found


def with_frame_durations(path: Path, durations: list[float]) -> Path:
    """Rewrite an MP4 of :func:`write_mp4` in place so that its frames last ``durations`` seconds each (variable
    frame rate, as phones record in low light); their sum must be the clip's length, which the edit list keeps."""
    data = bytearray(path.read_bytes())
    mdhd, _ = _box(data, (b"moov", b"trak", b"mdia", b"mdhd"))[-1]
    timescale = struct.unpack(">I", data[mdhd + 20:mdhd + 24])[0]  # version 0
    payload = struct.pack(">II", 0, len(durations)) + b"".join(struct.pack(">II", 1, round(d * timescale))
                                                                  for d in durations)
    chain = _box(data, (*_MP4_CONTAINERS, b"stts"))
    stts, size = chain[-1]
    data[stts:stts + size] = struct.pack(">I4s", 8 + len(payload), b"stts") + payload
    for offset, parent in chain[:-1]:  # moov follows the frames: no chunk offset moves
        data[offset:offset + 4] = struct.pack(">I", parent + 8 + len(payload) - size)
    path.write_bytes(bytes(data))
    return path


def with_rotation(path: Path, degrees: int) -> Path:
    """Set an MP4's display matrix in place, as a phone held upright writes it (``rotate=90``): players, and
    OpenCV, turn its frames ``degrees`` clockwise to show them."""
    cos, sin = {90: (0, 1), 180: (-1, 0), 270: (0, -1)}[degrees]
    data = bytearray(path.read_bytes())
    tkhd, _ = _box(data, (b"moov", b"trak", b"tkhd"))[-1]
    matrix = tkhd + 8 + 4 + 20 + 8 + 8  # header, version and flags, times/id/duration (version 0), reserved...
    data[matrix:matrix + 36] = struct.pack(">9i", cos << 16, sin << 16, 0, -sin << 16, cos << 16, 0, 0, 0, 1 << 30)
    path.write_bytes(bytes(data))
    return path
