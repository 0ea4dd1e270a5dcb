"""Small test videos written with OpenCV from a real photo: a car passing, gaps, a damaged file."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

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
