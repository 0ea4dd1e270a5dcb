"""Tiny protocol implementations for tests that must not depend on model accuracy."""

from __future__ import annotations

import cv2
import numpy as np

from numberplate.types import BoundingBox, Candidate, Detection, PlateText


class FixedDetector:
    """Returns the same boxes (fractions of the image size) for every image."""

    def __init__(self, boxes: list[tuple[float, float, float, float]] | None = None, confidence: float = 0.9):
        self.boxes = boxes if boxes is not None else [(0.25, 0.5, 0.5, 0.6)]
        self.confidence = confidence
        self.calls = 0

    def detect(self, image: np.ndarray) -> list[Detection]:
        self.calls += 1
        h, w = image.shape[:2]
        return [
            Detection(BoundingBox(x0 * w, y0 * h, x1 * w, y1 * h), self.confidence) for x0, y0, x1, y1 in self.boxes
        ]


class EchoRecognizer:
    """Reads every crop as ``text`` and remembers the crop shapes and country hints it saw."""

    name = "echo"

    def __init__(self, text: str = "ABC1234"):
        self.text = text
        self.seen: list[tuple[tuple[int, ...], str | None]] = []

    def read(self, crop: np.ndarray, country: str | None = None) -> PlateText | None:
        self.seen.append((crop.shape, country))
        return PlateText(self.text, 0.9, (0.9,) * len(self.text), (Candidate(self.text, 0.9),), country)


def render_text_crop(*lines: str, scale: float = 1.6, thickness: int = 4) -> np.ndarray:
    """Black text on white, one row per line, as an RGB plate crop."""
    rows = []
    for text in lines:
        (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        row = np.full((h + base + 20, w + 30, 3), 255, np.uint8)
        cv2.putText(row, text, (15, h + 10), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness)
        rows.append(row)
    width = max(r.shape[1] for r in rows)
    return np.vstack([cv2.copyMakeBorder(r, 0, 0, 0, width - r.shape[1], cv2.BORDER_CONSTANT, value=(255,) * 3)
                      for r in rows])
