"""A second look at each detection: a small classifier of the plate's surroundings says plate or not.

The detector's own features are small and local, so signs, stickers, badges and car parts with
plate-like text score like plates (docs/results.md). The verifier sees each detection again, cut out
with its surroundings (:func:`context_window`: the box grown to ``CONTEXT`` times its size) at a fixed
input size, and answers the probability ``p`` that it is a plate. A detection's score becomes
``score * p ** weight``: never higher than the detector's, so the detector keeps its threshold and the
verifier only has to look at the few detections above it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from numberplate.calibration import IDENTITY, Calibration
from numberplate.detection.base import Detector, own_detections
from numberplate.detection.platenet import (
    MODELS_DIR,
    calibration_from,
    create_session,
    model_metadata,
    uint8_image_input,
)
from numberplate.recognition.crop import SIDEWAYS_ASPECT
from numberplate.types import BoundingBox, Detection

DEFAULT_VERIFIER = MODELS_DIR / "verifier.onnx"
CONTEXT = 1.6  # the window is the box grown to 1.6 times its width and height, about its centre
INPUT_SIZE = (48, 128)  # (height, width) of the verifier's input
DEFAULT_WEIGHT = 0.3


def context_window(image: np.ndarray, box: BoundingBox, size: tuple[int, int] = INPUT_SIZE,
                   context: float = CONTEXT, turn: int = 0) -> np.ndarray:
    """The box of ``image`` grown ``context`` times about its centre, resized to ``size`` (height, width).

    Outside the image the window is grey (114), as in the detector's letterbox. ``turn`` 1 (-1) turns
    the window a quarter clockwise (anticlockwise) first, for a plate on its side. Returns RGB uint8 (H, W, 3).
    """
    if turn:
        upright = context_window(image, box, (size[1], size[0]), context)
        return cv2.rotate(upright, cv2.ROTATE_90_CLOCKWISE if turn > 0 else cv2.ROTATE_90_COUNTERCLOCKWISE)
    out_h, out_w = size
    cx, cy = (box.xmin + box.xmax) / 2, (box.ymin + box.ymax) / 2
    half_w, half_h = max(box.width, 2.0) * context / 2, max(box.height, 2.0) * context / 2
    src = np.array([[cx - half_w, cy - half_h], [cx + half_w, cy - half_h], [cx - half_w, cy + half_h]], np.float32)
    dst = np.array([[0, 0], [out_w, 0], [0, out_h]], np.float32)
    if 2 * half_w > out_w or 2 * half_h > out_h:
        # Area-average a large window first, so a big plate's strokes do not alias away.
        x0, y0 = int(max(np.floor(cx - half_w), 0)), int(max(np.floor(cy - half_h), 0))
        x1 = int(min(np.ceil(cx + half_w), image.shape[1]))
        y1 = int(min(np.ceil(cy + half_h), image.shape[0]))
        if x1 > x0 and y1 > y0:
            fx, fy = min(out_w / (2 * half_w), 1.0), min(out_h / (2 * half_h), 1.0)
            part = cv2.resize(image[y0:y1, x0:x1], (max(round((x1 - x0) * fx), 1), max(round((y1 - y0) * fy), 1)),
                              interpolation=cv2.INTER_AREA)
            shrunk = np.array([part.shape[1] / (x1 - x0), part.shape[0] / (y1 - y0)], np.float32)
            src = (src - np.array([x0, y0], np.float32)) * shrunk
            image = part
    m = cv2.getAffineTransform(src, dst)
    return cv2.warpAffine(image, m, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(114, 114, 114))


class Verifier(Protocol):
    """Says how likely each detected box of an image is a plate."""

    weight: float  # a detection's score becomes ``score * p ** weight``
    threshold: float | None  # the operating threshold of those scores, when the verifier has one

    def probabilities(self, image: np.ndarray, boxes: Sequence[BoundingBox]) -> np.ndarray:
        """The probability that each box of an RGB image is a plate."""
        ...


class PlateVerifier:
    """The project's plate / not-plate classifier on ONNX Runtime (see models/verifier.md)."""

    def __init__(self, model_path: str | Path | None = None, providers: Sequence[str] | None = None,
                 intra_op_threads: int = 1):
        """Load the model; its ``.json`` beside it gives the checksum, input size, context and weight.

        Raises:
            ModelLoadError: the model file is missing, corrupt, or its input is not a uint8 NHWC image.
        """
        path = Path(model_path) if model_path else DEFAULT_VERIFIER
        self.session = create_session(path, providers, intra_op_threads)
        meta = model_metadata(path)
        self.input_size = (int(meta.get("input_height", INPUT_SIZE[0])), int(meta.get("input_width", INPUT_SIZE[1])))
        self.context = float(meta.get("context", CONTEXT))
        self.weight = float(meta.get("weight", DEFAULT_WEIGHT))
        self.threshold: float | None = meta.get("threshold")
        # Of the verified score (detector score x p ** weight): fitted on train scenes (train calibrate-detector).
        self.calibration = calibration_from(meta, path)
        self._input = uint8_image_input(self.session, path)

    def probabilities(self, image: np.ndarray, boxes: Sequence[BoundingBox]) -> np.ndarray:
        """The probability that each box of an RGB image is a plate (one batched pass).

        A box more than ``SIDEWAYS_ASPECT`` times taller than wide (a plate on its side, or a square
        two-line plate) is also looked at turned a quarter both ways, as the Reader reads such crops:
        its probability is the upright view's or the mean of the two turned views', the larger. A
        plate on its side is a plate turned either way (once upside down); a facade or a sign that
        looks like a plate only one way round is not (session 14).
        """
        if not boxes:
            return np.zeros(0, np.float32)
        views, tall = [], []
        for b in boxes:
            tall.append(b.height > SIDEWAYS_ASPECT * b.width)
            for turn in (0, 1, -1) if tall[-1] else (0,):
                views.append(context_window(image, b, self.input_size, self.context, turn))
        (logits,) = self.session.run(None, {self._input: np.stack(views)})
        p = iter(1.0 / (1.0 + np.exp(-logits.reshape(-1).astype(np.float64))))
        out = np.zeros(len(boxes), np.float32)
        for i, sideways in enumerate(tall):
            upright = next(p)
            out[i] = max(upright, (next(p) + next(p)) / 2) if sideways else upright
        return out


class VerifiedDetector:
    """A detector whose detections a :class:`Verifier` scores again.

    Each detection's confidence becomes ``confidence * p ** verifier.weight``; those under ``threshold``
    are dropped. As the new score is never higher, ``detector`` should find with a threshold of at most
    ``threshold`` (the same one is enough).

    Args:
        detector: finds the candidates (e.g. :class:`~numberplate.detection.platenet.PlateNetDetector`).
        verifier: the plate / not-plate classifier (e.g. :class:`PlateVerifier`).
        threshold: final score threshold; default: the verifier's operating threshold, else 0.
    """

    def __init__(self, detector: Detector, verifier: Verifier, threshold: float | None = None):
        self.detector = detector
        self.verifier = verifier
        self.threshold = threshold if threshold is not None else float(verifier.threshold or 0.0)

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Plates in an RGB image, in its pixels, best first, with calibrated confidences (the verifier's
        ``calibration``, when it has one)."""
        calibration: Calibration = getattr(self.verifier, "calibration", IDENTITY)
        return calibration.detections(self.detect_uncalibrated(image))

    def detect_uncalibrated(self, image: np.ndarray) -> list[Detection]:
        """:meth:`detect` with the verified scores themselves (those ``threshold`` applies to)."""
        return self.rescore(image, own_detections(self.detector)(image))

    def rescore(self, image: np.ndarray, found: list[Detection]) -> list[Detection]:
        """The detector's detections of ``image`` (with its own scores) verified: re-scored, thresholded, best first."""
        p = self.verifier.probabilities(image, [d.box for d in found])
        scored = [replace(d, confidence=float(d.confidence * q ** self.verifier.weight)) for d, q in zip(found, p)]
        return sorted((d for d in scored if d.confidence >= self.threshold), key=lambda d: -d.confidence)
