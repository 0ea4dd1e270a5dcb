"""Cut plate crops out of a scene: padded axis-aligned crops, or perspective-rectified when corners are known."""

from __future__ import annotations

import cv2
import numpy as np

from numberplate.errors import UnsupportedImageError
from numberplate.recognition.base import Recognizer
from numberplate.recognition.rectify import deskew
from numberplate.types import Detection, PlateText

RECTIFIED_HEIGHT = 64
# No plate layout is this much taller than wide (square motorcycle plates are about 1:1): a crop
# this tall is a plate on its side (a photo taken sideways, a plate mounted vertically).
SIDEWAYS_ASPECT = 1.5
# The widest plate crop a perspective rectification makes, in heights (long single-line plates are about 5:1).
MAX_RECTIFIED_ASPECT = 12
# A crop whose brightest and darkest pixels differ by less than this is blank: nothing to read.
MIN_CONTRAST = 12


def as_rgb_crop(crop: np.ndarray) -> np.ndarray | None:
    """Validate a plate crop for an OCR backend: RGB uint8 (grey and RGBA converted), or None when blank.

    Raises:
        UnsupportedImageError: ``crop`` is not an (H, W, 3) RGB, (H, W, 4) RGBA or (H, W) grey uint8 array.
    """
    if not isinstance(crop, np.ndarray) or crop.dtype != np.uint8:
        raise UnsupportedImageError(
            f"a plate crop must be a uint8 numpy array, got {type(crop).__name__}"
            f"{'' if not isinstance(crop, np.ndarray) else ' of ' + str(crop.dtype)}"
        )
    if crop.ndim == 2:
        crop = cv2.cvtColor(crop, cv2.COLOR_GRAY2RGB)
    elif crop.ndim == 3 and crop.shape[2] == 4:
        crop = crop[:, :, :3]
    if crop.ndim != 3 or crop.shape[2] != 3:
        raise UnsupportedImageError(f"a plate crop must be (H, W, 3) RGB or (H, W) grey, got shape {crop.shape}")
    h, w = crop.shape[:2]
    if h < 2 or w < 2 or int(crop.max()) - int(crop.min()) < MIN_CONTRAST:
        return None
    return crop


def crop_plate(
    image: np.ndarray, detection: Detection, pad_x: float = 0.04, pad_y: float = 0.08, level: bool = False
) -> np.ndarray:
    """The plate region of an RGB image, rectified to a fronto-parallel view when corners are known.

    The box is padded a little on each side, because detectors draw tight boxes and OCR
    models read the edge characters better with some margin. With ``level``, a crop without corners
    is deskewed from its own edges (:func:`numberplate.recognition.rectify.deskew`).
    """
    h, w = image.shape[:2]
    if detection.corners is not None:
        return rectify(image, np.asarray(detection.corners, np.float32))
    box = detection.box.expand(pad_x, pad_y).clamp(w, h)
    x0, y0 = int(np.floor(box.xmin)), int(np.floor(box.ymin))
    x1, y1 = int(np.ceil(box.xmax)), int(np.ceil(box.ymax))
    if x1 - x0 < 1 or y1 - y0 < 1:
        return np.zeros((1, 1, 3), np.uint8)
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    return deskew(crop) if level else crop


def orientations(crop: np.ndarray) -> list[np.ndarray]:
    """The ways to read a crop: itself, and for a crop on its side (taller than ``SIDEWAYS_ASPECT``
    times its width) also turned a quarter clockwise (first) and anticlockwise, each of the two also
    levelled from its own edges where it is still skewed.

    A plate on its side is seldom at exactly a quarter turn: its tall box is the upright box around a
    plate turned by 60-80 degrees, so the quarter-turned crop still slants by 10-30 (val tunisia/320:
    24.7 degrees, read ``171T2094`` turned, ``177T2094`` turned and levelled). The levelled views are
    offered beside the turned ones rather than instead: levelling alone lost a plate it read turned.
    """
    h, w = crop.shape[:2]
    if h <= SIDEWAYS_ASPECT * w:
        return [crop]
    turned = [cv2.rotate(crop, cv2.ROTATE_90_CLOCKWISE), cv2.rotate(crop, cv2.ROTATE_90_COUNTERCLOCKWISE)]
    levelled = [view for t in turned if (view := deskew(t)) is not t]
    return [*turned, *levelled, crop]


def read_turned(recognizer: Recognizer, crop: np.ndarray, country: str | None) -> tuple[PlateText | None, np.ndarray]:
    """The surest reading of ``crop`` in each of its :func:`orientations`, and the crop turned that way
    (how the Reader reads every plate; ``None`` and the crop as it is when nothing is read)."""
    best: tuple[PlateText | None, np.ndarray] = (None, crop)
    for turned in orientations(crop):
        text = recognizer.read(turned, country)
        if text is not None and (best[0] is None or text.confidence > best[0].confidence):
            best = (text, turned)
    return best


def rectify(image: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Warp the quadrilateral ``corners`` (TL, TR, BR, BL) to an upright rectangle of the same aspect."""
    tl, tr, br, bl = corners
    width = float(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl)))
    height = float(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr)))
    scale = RECTIFIED_HEIGHT / max(height, 1.0)
    # No plate is wider than MAX_RECTIFIED_ASPECT heights: corners further apart than that are a detector's
    # mistake, and warping to their full width could ask for gigabytes.
    out_w = min(max(round(width * scale), 8), RECTIFIED_HEIGHT * MAX_RECTIFIED_ASPECT)
    out_h = RECTIFIED_HEIGHT
    dst = np.array([[0, 0], [out_w - 1, 0], [out_w - 1, out_h - 1], [0, out_h - 1]], np.float32)
    m = cv2.getPerspectiveTransform(corners.astype(np.float32), dst)
    return cv2.warpPerspective(image, m, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
