"""Deskewing a plate crop from the geometry of its own edges, for when the detector gives no corners.

The plate's border and character rows make long, nearly horizontal edges; their length-weighted median
angle is the skew. Rotating by it levels the text before the recogniser sees it.
"""

from __future__ import annotations

import cv2
import numpy as np

MAX_SKEW_DEG = 25.0  # steeper edges are character strokes or the car, not the plate's rows
MIN_SKEW_DEG = 1.5  # below this the rotation's blur costs more than it gains
_WORK_WIDTH = 192


def skew_angle(crop: np.ndarray) -> float:
    """The crop's skew in degrees (positive: the right end is higher), 0.0 when no clear line is found."""
    h, w = crop.shape[:2]
    if h < 8 or w < 16:
        return 0.0
    scale = _WORK_WIDTH / w
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if crop.ndim == 3 else crop
    gray = cv2.resize(gray, (_WORK_WIDTH, max(8, round(h * scale))), interpolation=cv2.INTER_AREA)
    edges = cv2.Canny(gray, 60, 160)
    lines = cv2.HoughLinesP(edges, 1, np.pi / 360, threshold=_WORK_WIDTH // 6, minLineLength=_WORK_WIDTH // 3,
                            maxLineGap=_WORK_WIDTH // 24)
    if lines is None:
        return 0.0
    x0, y0, x1, y1 = lines.reshape(-1, 4).astype(np.float64).T
    angles = np.degrees(np.arctan2(-(y1 - y0), x1 - x0))
    angles = (angles + 90.0) % 180.0 - 90.0  # a segment drawn right-to-left has the same slope
    lengths = np.hypot(x1 - x0, y1 - y0)
    keep = np.abs(angles) <= MAX_SKEW_DEG
    if not keep.any():
        return 0.0
    angles, lengths = angles[keep], lengths[keep]
    order = np.argsort(angles)
    cumulative = np.cumsum(lengths[order])
    median = float(angles[order][np.searchsorted(cumulative, cumulative[-1] / 2)])
    return median if abs(median) >= MIN_SKEW_DEG else 0.0


def deskew(crop: np.ndarray) -> np.ndarray:
    """``crop`` rotated so that its plate rows are level (the crop itself when it is already level)."""
    angle = skew_angle(crop)
    if angle == 0.0:
        return crop
    h, w = crop.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), -angle, 1.0)
    return cv2.warpAffine(crop, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
