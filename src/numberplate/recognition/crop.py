"""Cut plate crops out of a scene: padded axis-aligned crops, or perspective-rectified when corners are known."""

from __future__ import annotations

import cv2
import numpy as np

from numberplate.types import Detection

RECTIFIED_HEIGHT = 64


def crop_plate(image: np.ndarray, detection: Detection, pad_x: float = 0.04, pad_y: float = 0.08) -> np.ndarray:
    """The plate region of an RGB image, rectified to a fronto-parallel view when corners are known.

    The box is padded a little on each side, because detectors draw tight boxes and OCR
    models read the edge characters better with some margin.
    """
    h, w = image.shape[:2]
    if detection.corners is not None:
        return rectify(image, np.asarray(detection.corners, np.float32))
    box = detection.box.expand(pad_x, pad_y).clamp(w, h)
    x0, y0 = int(np.floor(box.xmin)), int(np.floor(box.ymin))
    x1, y1 = int(np.ceil(box.xmax)), int(np.ceil(box.ymax))
    if x1 - x0 < 1 or y1 - y0 < 1:
        return np.zeros((1, 1, 3), np.uint8)
    return np.ascontiguousarray(image[y0:y1, x0:x1])


def rectify(image: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Warp the quadrilateral ``corners`` (TL, TR, BR, BL) to an upright rectangle of the same aspect."""
    tl, tr, br, bl = corners
    width = float(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl)))
    height = float(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr)))
    scale = RECTIFIED_HEIGHT / max(height, 1.0)
    out_w, out_h = max(round(width * scale), 8), RECTIFIED_HEIGHT
    dst = np.array([[0, 0], [out_w - 1, 0], [out_w - 1, out_h - 1], [0, out_h - 1]], np.float32)
    m = cv2.getPerspectiveTransform(corners.astype(np.float32), dst)
    return cv2.warpPerspective(image, m, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
