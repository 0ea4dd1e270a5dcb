"""PlateNet detector on ONNX Runtime: letterbox, one batched pass (plus tiles for large images), decode, NMS."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from numberplate.calibration import Calibration
from numberplate.detection.postprocess import box_area, box_intersection, box_iou, decode, letterbox, nms
from numberplate.errors import ModelLoadError
from numberplate.types import BoundingBox, Detection

log = logging.getLogger(__name__)

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
DEFAULT_MODEL = MODELS_DIR / "detector.onnx"


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def model_metadata(model_path: Path) -> dict:
    """The metadata recorded beside an ONNX model in ``<model>.json`` (checksum, input size, threshold...);
    empty when there is none."""
    meta_path = model_path.with_suffix(".json")
    return json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}


def uint8_image_input(session: ort.InferenceSession, model_path: Path, hint: str = "") -> str:
    """The name of a session's input, which must be a uint8 NHWC RGB image.

    Raises:
        ModelLoadError: it is not (``hint`` says how to fix it).
    """
    inp = session.get_inputs()[0]
    if inp.type != "tensor(uint8)" or len(inp.shape) != 4 or inp.shape[3] != 3:
        raise ModelLoadError(f"{model_path}: input {inp.type} {inp.shape} is not the uint8 NHWC image this version "
                             f"feeds{hint}")
    return str(inp.name)


TILE_EDGE = 8  # px of the image: a tile's box this close to a side shared with another tile is taken as cut
PART_OF_FOUND = 0.5  # a tile's box with this share of its area inside a full-pass box is part of that plate...
PART_MIN_WIDTH = 64  # ... when that box is at least this wide in the full pass's input (a plate it saw well)
NMS_IOU = 0.5  # the full pass's and the tiles' boxes of one plate overlap at least this much
DEFAULT_THRESHOLD = 0.3  # a model whose JSON records no operating threshold


def exact_int8(options: ort.SessionOptions) -> ort.SessionOptions:
    """Have ONNX Runtime compute int8 models exactly on every x86 CPU (returns ``options``, changed).

    On an x86 CPU without VNNI (AVX2 only) ONNX Runtime's fast uint8 x int8 kernels add pairs of
    products in 16 bits (VPMADDUBSW), which saturates with full-range int8 weights: there the shipped
    int8 models computed something else than on the CPUs they were measured on (session 14, an AVX2
    AMD EPYC: heatmaps off by up to 0.6, val AP50 0.95 -> 0.82, Brazilian reads 0.93 -> 0.67).
    ``session.x64quantprecision`` makes those CPUs use exact uint8 x uint8 kernels instead (somewhat
    slower there); CPUs with VNNI are unaffected.
    """
    options.add_session_config_entry("session.x64quantprecision", "1")
    return options


def calibration_from(meta: Mapping[str, Any], model_path: Path, part: str | None = None) -> Calibration:
    """The ``confidence_calibration`` in a model's metadata (see :func:`model_metadata`), or its sub-entry
    ``part`` (the OCR's ``fallback``); the identity when there is none.

    Raises:
        ModelLoadError: the entry is malformed (``model_path`` names the model in the message).
    """
    entry = meta.get("confidence_calibration")
    try:
        return Calibration.from_dict((entry or {}).get(part) if part is not None else entry)
    except (ValueError, AttributeError) as e:
        raise ModelLoadError(f"{model_path.with_suffix('.json')}: bad 'confidence_calibration': {e}") from e


def operating_threshold(model_path: str | Path | None = None) -> float:
    """The detector's operating threshold recorded in its ``<model>.json`` (default model: the shipped one)."""
    return float(model_metadata(Path(model_path) if model_path else DEFAULT_MODEL).get("threshold", DEFAULT_THRESHOLD))


def create_session(
    model_path: Path,
    providers: Sequence[str] | None = None,
    intra_op_threads: int = 0,
    session_options: ort.SessionOptions | None = None,
) -> ort.InferenceSession:
    """Load an ONNX model, checking the sha256 recorded beside it in ``<model>.json`` when present."""
    if not model_path.is_file():
        raise ModelLoadError(f"model file {model_path} does not exist; reinstall numberplate or pass a model path")
    expected = model_metadata(model_path).get("sha256")
    if expected and sha256_file(model_path) != expected:
        raise ModelLoadError(f"model file {model_path} does not match its checksum in "
                             f"{model_path.with_suffix('.json')}; it is corrupt")
    opts = session_options or ort.SessionOptions()
    if session_options is None:
        opts.intra_op_num_threads = intra_op_threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    exact_int8(opts)
    chosen = list(providers) if providers else ["CPUExecutionProvider"]
    try:
        session = ort.InferenceSession(str(model_path), opts, providers=chosen)
    except Exception as e:  # onnxruntime raises its own untyped errors
        raise ModelLoadError(f"cannot load ONNX model {model_path}: {e}") from e
    log.info("loaded %s with providers %s", model_path.name, session.get_providers())
    return session


class PlateNetDetector:
    """The project's own plate detector (see models/detector.md).

    Args of the constructor: ``model_path`` (default: the shipped model), ``side`` (network input
    long side), ``threshold`` (default: the model's operating threshold), ``tile_large_images`` (a
    second pass on tiles for images over twice ``side``), ``providers`` and ``intra_op_threads``
    (ONNX Runtime), ``flip`` (also run the mirrored image and average: more accurate, about twice
    the time; docs/results.md).
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        side: int = 640,
        threshold: float | None = None,
        tile_large_images: bool = True,
        providers: Sequence[str] | None = None,
        intra_op_threads: int = 0,
        flip: bool = False,
    ):
        path = Path(model_path) if model_path else DEFAULT_MODEL
        self.session = create_session(path, providers, intra_op_threads)
        meta = model_metadata(path)
        self.side = side
        self.threshold = threshold if threshold is not None else float(meta.get("threshold", DEFAULT_THRESHOLD))
        self.tile_large_images = tile_large_images
        self.flip = flip
        self._input = uint8_image_input(self.session, path,
                                        "; re-export the model with `numberplate train export-detect`")
        self.calibration = calibration_from(meta, path)

    def _run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Heatmaps and distances of a batch; with ``flip``, averaged with those of the mirrored images."""
        if not self.flip:
            heat, dist = self.session.run(None, {self._input: batch})
            return heat, dist
        n = len(batch)
        heat, dist = self.session.run(None, {self._input: np.concatenate([batch, batch[:, :, ::-1]])})
        # Mirror the second half back: columns reversed, left and right distances swapped.
        mirrored_heat = heat[n:, :, :, ::-1]
        mirrored_dist = dist[n:][:, [2, 1, 0, 3], :, ::-1]
        return (heat[:n] + mirrored_heat) / 2, (dist[:n] + mirrored_dist) / 2

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Plates in an RGB image, in its pixels, best first, with calibrated confidences (:attr:`calibration`)."""
        return self.calibration.detections(self.detect_uncalibrated(image))

    def detect_uncalibrated(self, image: np.ndarray) -> list[Detection]:
        """:meth:`detect` with the model's own scores (those ``threshold`` applies to)."""
        h, w = image.shape[:2]
        tensor, lb = letterbox(image, self.side)
        heat, dist = self._run(tensor)
        boxes, scores = decode(heat[0], dist[0], self.threshold)
        boxes = boxes / lb.scale
        if self.tile_large_images and max(h, w) > 2 * self.side:
            tb, ts = self._detect_tiles(image)
            # A tile's box mostly inside a plate the full pass saw well (wide enough there), but too small to
            # be the same box, is part of that plate (a character group seen up close), not a plate of its own.
            seen = (boxes[:, 2] - boxes[:, 0]) * lb.scale >= PART_MIN_WIDTH
            inside = box_intersection(tb, boxes) / np.maximum(box_area(tb), 1e-9)[:, None]
            part = ((inside >= PART_OF_FOUND) & (box_iou(tb, boxes) < NMS_IOU) & seen).any(axis=1)
            boxes, scores = np.concatenate([boxes, tb[~part]]), np.concatenate([scores, ts[~part]])
            if len(scores):
                keep = nms(boxes, scores, NMS_IOU)
                boxes, scores = boxes[keep], scores[keep]
        out = []
        for b, s in zip(boxes, scores):
            box = BoundingBox(*map(float, b)).clamp(w, h)
            if box.width >= 2 and box.height >= 2:
                out.append(Detection(box, float(s)))
        return out

    def _detect_tiles(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Second pass on overlapping tiles of 2x the network side, so small distant plates stay visible."""
        h, w = image.shape[:2]
        tile = 2 * self.side
        step = int(tile * 0.8)
        xs = list(range(0, max(w - tile, 0) + 1, step))
        ys = list(range(0, max(h - tile, 0) + 1, step))
        if xs[-1] + tile < w:
            xs.append(w - tile)
        if ys[-1] + tile < h:
            ys.append(h - tile)
        tensors, origins = [], []
        for y in ys:
            for x in xs:
                crop = image[max(y, 0):y + tile, max(x, 0):x + tile]
                # Every tile has the same size, so one batched run handles them all.
                padded = np.full((tile, tile, 3), 114, np.uint8)
                padded[:crop.shape[0], :crop.shape[1]] = crop
                t, lb = letterbox(padded, self.side)
                tensors.append(t[0])
                origins.append((max(x, 0), max(y, 0), lb.scale))
        heat, dist = self._run(np.stack(tensors))
        boxes, scores = [], []
        for i, (x, y, scale) in enumerate(origins):
            b, s = decode(heat[i], dist[i], self.threshold)
            b = b / scale + np.array([x, y, x, y], np.float32)
            # A box at a side this tile shares with another tile may be a plate cut in two: the tiles overlap
            # by a fifth, so a plate that fits the overlap is whole in the next one, and a bigger one is the
            # full pass's to find.
            cut = (((x > 0) & (b[:, 0] <= x + TILE_EDGE)) | ((x + tile < w) & (b[:, 2] >= x + tile - TILE_EDGE))
                   | ((y > 0) & (b[:, 1] <= y + TILE_EDGE)) | ((y + tile < h) & (b[:, 3] >= y + tile - TILE_EDGE)))
            boxes.append(b[~cut])
            scores.append(s[~cut])
        return np.concatenate(boxes), np.concatenate(scores)
