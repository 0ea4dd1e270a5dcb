"""RapidOCR backend: PP-OCRv4 text detection and recognition (ONNX, shipped in the rapidocr wheel) on plate crops."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from numberplate.errors import BackendUnavailableError, ModelLoadError
from numberplate.recognition.crop import as_rgb_crop
from numberplate.recognition.text import clean_plate_chars
from numberplate.types import Candidate, PlateText

log = logging.getLogger(__name__)

# Plate crops are small; the detector sees them at this height instead of RapidOCR's default
# (shortest side 736 px), which is ~20x faster and reads as well or better on plates.
DEFAULT_DET_HEIGHT = 160
# A text line counts when its height is at least this share of the tallest line's: drops state
# names, dealer frames and sticker dates, keeps the smaller top line of two-line plates.
DEFAULT_MIN_LINE_HEIGHT_RATIO = 0.7
# RapidOCR's own default ``text_score``: lines read with less are noise.
DEFAULT_MIN_LINE_SCORE = 0.5
# Side margin of a line crop, as a share of the line height: the recogniser misses edge characters without it.
LINE_MARGIN = 0.1


@dataclass(frozen=True)
class _Line:
    """A detected text line: its vertical span and horizontal extent in the prepared image."""

    y0: float
    y1: float
    x0: float
    x1: float

    @property
    def height(self) -> float:
        return self.y1 - self.y0


def group_lines(boxes: np.ndarray, min_height_ratio: float = DEFAULT_MIN_LINE_HEIGHT_RATIO) -> list[_Line]:
    """Merge detected text boxes into plate lines, top to bottom.

    Boxes shorter than ``min_height_ratio`` of the tallest box are dropped first (small print
    around the registration); the rest are merged into one line when they overlap vertically
    by at least half the smaller box's height, since the detector often splits one plate line
    into pieces at separators or gaps.

    Args:
        boxes: (N, 4, 2) corner points from the text detector.
        min_height_ratio: the smallest box height kept, as a share of the tallest.

    Returns:
        One axis-aligned extent per line, sorted top to bottom.
    """
    if len(boxes) == 0:
        return []
    pts = np.asarray(boxes, dtype=np.float32).reshape(-1, 4, 2)
    extents = [(float(b[:, 1].min()), float(b[:, 1].max()), float(b[:, 0].min()), float(b[:, 0].max())) for b in pts]
    tallest = max(y1 - y0 for y0, y1, _, _ in extents)
    extents = [e for e in extents if e[1] - e[0] >= min_height_ratio * tallest]
    extents.sort(key=lambda e: e[0] + e[1])
    lines: list[list[float]] = []
    for y0, y1, x0, x1 in extents:
        for line in lines:
            overlap = min(line[1], y1) - max(line[0], y0)
            if overlap >= 0.5 * min(line[1] - line[0], y1 - y0):
                line[:] = [min(line[0], y0), max(line[1], y1), min(line[2], x0), max(line[3], x1)]
                break
        else:
            lines.append([y0, y1, x0, x1])
    return sorted((_Line(*line) for line in lines), key=lambda line: line.y0)


class RapidOcrRecognizer:
    """Reads plate crops with RapidOCR's PP-OCRv4 detector and recogniser (Chinese + Latin character set).

    The crop is scaled to a fixed height and bordered; text lines are detected, small print is
    dropped, each remaining line is recognised and the lines are joined top to bottom. When the
    detector finds nothing the whole crop is recognised as one line.
    """

    name = "rapidocr"

    def __init__(
        self,
        *,
        det_height: int = DEFAULT_DET_HEIGHT,
        min_line_height_ratio: float = DEFAULT_MIN_LINE_HEIGHT_RATIO,
        min_line_score: float = DEFAULT_MIN_LINE_SCORE,
        **engine_options: Any,
    ):
        """Load the ONNX models once.

        Args:
            det_height: height in pixels the crop is scaled to before detection.
            min_line_height_ratio: see :func:`group_lines`.
            min_line_score: lines the recogniser scores lower than this are ignored.
            **engine_options: passed to ``rapidocr_onnxruntime.RapidOCR``, e.g.
                ``intra_op_num_threads=4`` (default 1) or ``det_use_cuda=True``.

        Raises:
            BackendUnavailableError: the ``rapidocr-onnxruntime`` package is not installed.
            ModelLoadError: its ONNX models could not be loaded.
        """
        if det_height < 32:
            raise ValueError(f"det_height={det_height} must be at least 32 pixels")
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as e:
            raise BackendUnavailableError(
                "the rapidocr OCR backend needs the rapidocr-onnxruntime package: pip install rapidocr-onnxruntime"
            ) from e
        self.det_height = det_height
        self.min_line_height_ratio = min_line_height_ratio
        self.min_line_score = min_line_score
        # "max" with a large limit: the detector takes our already-scaled image as it is.
        # One thread per session: plate crops are too small to gain from intra-op threads, and
        # onnxruntime's spinning workers cost 3x when the CPU is busy (86 vs 260 ms/plate, 2 busy cores).
        options = {
            "det_limit_type": "max",
            "det_limit_side_len": 2000,
            "intra_op_num_threads": 1,
            "inter_op_num_threads": 1,
            **engine_options,
        }
        try:
            self._engine = RapidOCR(**options)
        except Exception as e:  # onnxruntime raises its own exception types, none with a common base
            raise ModelLoadError(f"could not load the RapidOCR models: {type(e).__name__}: {e}") from e
        log.info("RapidOCR loaded with providers %s", _providers(self._engine))

    def read(self, crop: np.ndarray, country: str | None = None) -> PlateText | None:
        """Read an RGB uint8 plate crop (one or two lines); ``None`` when nothing legible.

        ``country`` is accepted for the protocol; the models read every supported script as is.

        Raises:
            UnsupportedImageError: ``crop`` is not an (H, W, 3) or (H, W) uint8 array.
        """
        image = _prepare(crop, self.det_height)
        if image is None:
            return None
        boxes, _ = self._engine.text_det(image)
        lines = group_lines(boxes if boxes is not None else np.empty((0, 4, 2)), self.min_line_height_ratio)
        read = self._recognise([_line_crop(image, line) for line in lines])
        if read is None:
            read = self._recognise([image])
        return read

    def _recognise(self, crops: list[np.ndarray]) -> PlateText | None:
        crops = [c for c in crops if c.shape[0] > 1 and c.shape[1] > 1]
        if not crops:
            return None
        results, _ = self._engine.text_rec(crops, return_word_box=True)
        texts: list[str] = []
        line_scores: list[float] = []
        char_confs: list[float] = []
        for raw, score, info in results:
            if score < self.min_line_score:
                continue
            per_char = info[4] if len(info[4]) == len(raw) else [score] * len(raw)
            text, confs = clean_plate_chars(raw, per_char)
            if not text:
                continue
            texts.append(text)
            line_scores.append(float(np.mean(confs)))
            char_confs.extend(confs)
        if not texts:
            return None
        text = "".join(texts)
        # A plate is right only if every line is: the weakest line bounds the whole read.
        confidence = min(line_scores)
        return PlateText(text, confidence, tuple(char_confs), (Candidate(text, confidence),))


def _providers(engine: Any) -> list[str]:
    """The execution providers RapidOCR's recogniser session runs on (its session is not public API)."""
    session = getattr(getattr(engine.text_rec, "session", None), "session", None)
    return list(session.get_providers()) if session is not None else ["unknown"]


def _prepare(crop: np.ndarray, height: int) -> np.ndarray | None:
    """The crop as BGR (RapidOCR's channel order) scaled to ``height`` with a border; ``None`` if blank."""
    rgb = as_rgb_crop(crop)
    if rgb is None:
        return None
    h, w = rgb.shape[:2]
    scale = height / h
    size = (max(2, round(w * scale)), height)
    bgr = cv2.resize(rgb[:, :, ::-1], size, interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)
    pad = height // 8
    return cv2.copyMakeBorder(bgr, pad, pad, pad, pad, cv2.BORDER_REPLICATE)


def _line_crop(image: np.ndarray, line: _Line) -> np.ndarray:
    """One text line cut from the prepared image, with side margins the recogniser needs for edge characters."""
    margin = LINE_MARGIN * line.height
    h, w = image.shape[:2]
    y0, y1 = max(0, int(line.y0) - 2), min(h, int(np.ceil(line.y1)) + 3)
    x0, x1 = max(0, int(line.x0 - margin)), min(w, int(np.ceil(line.x1 + margin)) + 1)
    return image[y0:y1, x0:x1]
