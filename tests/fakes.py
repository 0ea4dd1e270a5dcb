"""Tiny protocol implementations for tests that must not depend on model accuracy."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from numberplate.formats import is_auto
from numberplate.recognition.alphabet import ALPHABET, MAX_SLOTS, encode
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


class PixelBoxes:
    """Returns fixed detections (boxes in pixels, each with its own score) for every image."""

    def __init__(self, *dets: tuple[tuple[float, float, float, float], float]):
        self.dets = [Detection(BoundingBox(*box), score) for box, score in dets]

    def detect(self, image: np.ndarray) -> list[Detection]:
        return list(self.dets)


class BrightPlateReader:
    """Reads a fixed text only in crops brighter than 100 (the 'plate'); like the real readers, it checks
    the text against the layouts (``pattern_matched``) only when given a country (or ``auto``)."""

    name = "bright"

    def read(self, crop: np.ndarray, country: str | None = None) -> PlateText | None:
        matched = True if country else None
        return PlateText("AB123CD", 0.9, pattern_matched=matched) if crop.mean() > 100 else None


class EchoRecognizer:
    """Reads every crop as ``text`` and remembers the crop shapes and country hints it saw."""

    name = "echo"

    def __init__(self, text: str = "ABC1234", confidence: float = 0.9):
        self.text = text
        self.confidence = confidence
        self.seen: list[tuple[tuple[int, ...], str | None]] = []

    def read(self, crop: np.ndarray, country: str | None = None) -> PlateText | None:
        """The text, said to be from the hinted country (none for ``auto``, like a layout many countries share)."""
        self.seen.append((crop.shape, country))
        said = None if is_auto(country) else country
        p = self.confidence
        return PlateText(self.text, p, (p,) * len(self.text), (Candidate(self.text, p),), said)


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


def write_stand_in_model(path: Path, dark_text: str, bright_text: str, size: tuple[int, int] = (64, 160)) -> None:
    """A tiny ONNX graph with PlateOCR's interface: ``dark_text`` on dark crops, ``bright_text`` on bright ones."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    def logits(text: str) -> np.ndarray:
        out = np.zeros((MAX_SLOTS, len(ALPHABET)), np.float32)
        out[np.arange(MAX_SLOTS), encode(text)] = 12.0
        return out

    dark, bright = logits(dark_text), logits(bright_text)
    nodes = [
        helper.make_node("Cast", ["image"], ["f"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", ["f"], ["m"], axes=[1, 2, 3], keepdims=1),  # (B, 1, 1, 1)
        helper.make_node("Squeeze", ["m", "ax"], ["m3"]),  # (B, 1, 1)
        helper.make_node("Div", ["m3", "full"], ["w"]),  # brightness in [0, 1]
        helper.make_node("Mul", ["w", "delta"], ["shift"]),
        helper.make_node("Add", ["shift", "base"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=-1),
    ]
    inits = [
        numpy_helper.from_array(np.array([3], np.int64), "ax"),
        numpy_helper.from_array(np.array(255.0, np.float32), "full"),
        numpy_helper.from_array((bright - dark) * 2.0, "delta"),
        numpy_helper.from_array(dark - (bright - dark) * 0.5, "base"),
    ]
    graph = helper.make_graph(
        nodes, "stand_in",
        [helper.make_tensor_value_info("image", TensorProto.UINT8, ["batch", size[0], size[1], 3])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", MAX_SLOTS, len(ALPHABET)])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    meta = {"name": "plateocr", "input_height": size[0], "input_width": size[1], "alphabet": ALPHABET,
            "max_slots": MAX_SLOTS}
    path.with_suffix(".json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


def largest_int8_weight(model: Path) -> int:
    """The largest magnitude among an ONNX model's int8 initializers (its quantized weights)."""
    import onnx
    from onnx import numpy_helper

    weights = [numpy_helper.to_array(t) for t in onnx.load(str(model)).graph.initializer
               if t.data_type == onnx.TensorProto.INT8 and t.dims]
    return max(int(np.abs(w.astype(np.int32)).max()) for w in weights)
