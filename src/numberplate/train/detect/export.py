"""Export a PlateNet checkpoint to ONNX (dynamic batch and size), verified against PyTorch, optionally int8."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from numberplate.datasets.labels import default_root
from numberplate.detection.platenet import exact_int8, sha256_file
from numberplate.detection.postprocess import letterbox
from numberplate.train.common import (
    WEIGHT_BITS,
    checkpoint_weights,
    load_weights,
    quantize_int8,
    read_checkpoint,
    staged_export,
)
from numberplate.train.detect.data import read_labels
from numberplate.train.detect.model import PlateNet

INPUT_FORMAT = "RGB uint8 NHWC, letterboxed (top-left), padded to a multiple of 32 with 114"
# The output convolutions (heatmap, box distances) stay float32 in the int8 model: with 7-bit weights they moved
# box edges enough to flip end-to-end reads, and float they cost ~0.35 ms of ~13.5 (session 21, docs/results.md).
FLOAT_OUTPUTS = ("/net/heat/Conv", "/net/box/Conv")


@dataclass(frozen=True)
class Tolerance:
    """How far an exported model may be from PyTorch: heatmap probability, and box distance in input pixels
    (``box_pixels`` plus ``box_relative`` of the distance itself: a large plate's edges may move more)."""

    heat: float
    box_pixels: float
    box_relative: float = 0.0


FLOAT_TOLERANCE = Tolerance(1e-3, 1e-2)
# int8 on real scenes: the heatmap moves by ~0.02 and plate edges by 1-3 px; the val eval decides the rest.
INT8_TOLERANCE = Tolerance(0.05, 2.0, 0.05)


class _Exported(nn.Module):
    """The shipped graph: uint8 NHWC in (conversion and normalisation inside), sigmoid heatmap out."""

    def __init__(self, net: PlateNet):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        heat, box = self.net(x.permute(0, 3, 1, 2).float() / 255.0)
        return torch.sigmoid(heat), box


def load_checkpoint(path: Path) -> tuple[PlateNet, dict]:
    """Rebuild the model of a checkpoint (EMA weights when present)."""
    ck = read_checkpoint(path)
    cfg = ck.get("config", {})
    channels = tuple(cfg.get("channels", (16, 32, 64, 96, 128)))
    model = PlateNet(cfg.get("width", 48), channels, depth=cfg.get("depth", 1),
                     heat_head=cfg.get("tune", "all") == "heat")
    load_weights(model, checkpoint_weights(ck), path, "a detector")
    return model.eval(), ck


def export_onnx(
    checkpoint: Path,
    out: Path,
    threshold: float = 0.3,
    metrics: dict | None = None,
    calibration: Sequence[np.ndarray] | None = None,
    weight_bits: int = WEIGHT_BITS,
) -> float:
    """Write ``out`` (+ ``out.json`` with sha256 and settings); return the max heatmap difference to PyTorch.

    Args:
        checkpoint: a training checkpoint (its EMA weights are exported).
        out: the ``.onnx`` file to write.
        threshold: the operating threshold recorded in the JSON.
        metrics: evaluation figures recorded in the JSON.
        calibration: letterboxed uint8 NHWC batches (see ``letterbox``); when given, the model is
            quantized to int8 (static, per-channel QDQ; :data:`FLOAT_OUTPUTS` stay float) with activation
            ranges measured on them, and the returned difference is that of the int8 model on the first few
            of them.
        weight_bits: bits of the int8 weights: 7 (exact with ONNX Runtime's fast kernels on every CPU, about
            30% faster than 8 on CPUs without VNNI, which need exact slower kernels for 8-bit weights), or 8
            (:func:`~numberplate.train.common.quantize_int8`).

    Raises:
        RuntimeError: the exported model does not reproduce PyTorch's output.
    """
    model, ck = load_checkpoint(checkpoint)
    wrapped = _Exported(model).eval()
    with tempfile.TemporaryDirectory() as tmp, staged_export(out) as (onnx_path, json_path):
        float_path = Path(tmp) / "float.onnx" if calibration is not None else onnx_path
        dummy = torch.randint(0, 256, (1, 384, 640, 3), dtype=torch.uint8)
        torch.onnx.export(
            wrapped, (dummy,), str(float_path), input_names=["image"], output_names=["heat", "box"],
            opset_version=17,
            dynamic_axes={"image": {0: "batch", 1: "height", 2: "width"}, "heat": {0: "batch", 2: "h8", 3: "w8"},
                          "box": {0: "batch", 2: "h8", 3: "w8"}},
            dynamo=False,
        )
        rng = np.random.default_rng(0)
        probes = [rng.integers(0, 256, (2, 320, 480, 3), dtype=np.uint8), *(calibration or [])[:8]]
        diff = _compare(wrapped, float_path, probes, FLOAT_TOLERANCE)
        if calibration is not None:
            quantize_int8(float_path, onnx_path, calibration, weight_bits=weight_bits, float_nodes=FLOAT_OUTPUTS)
            diff = _compare(wrapped, onnx_path, (calibration or [])[:8], INT8_TOLERANCE)
        meta = {
            "name": "platenet",
            "sha256": sha256_file(onnx_path),
            "threshold": threshold,
            "stride": 8,
            "input": INPUT_FORMAT,
            "precision": f"int8 ({weight_bits}-bit weights; output convolutions float)" if calibration is not None
                         else "float32",
            "epoch": int(ck.get("epoch", -1)) + 1,
            "metrics": metrics or {},
        }
        if calibration is not None:
            meta["calibration_images"] = len(calibration)
            meta["weight_bits"] = weight_bits
        json_path.write_text(json.dumps(meta, indent=2) + "\n")
    return diff


def _compare(wrapped: nn.Module, onnx_path: Path, inputs: Iterable[np.ndarray], tolerance: Tolerance) -> float:
    """Largest heatmap difference between PyTorch and ONNX Runtime on ``inputs``; raise past ``tolerance``.

    Box distances are compared where PyTorch's heatmap is at least 0.3 (the cells that can become
    detections; background cells carry no meaningful distances).
    """
    sess = ort.InferenceSession(str(onnx_path), exact_int8(ort.SessionOptions()), providers=["CPUExecutionProvider"])
    heat_diff = box_diff = 0.0
    for x in inputs:
        with torch.no_grad():
            ref_heat, ref_box = (t.numpy() for t in wrapped(torch.from_numpy(x)))
        heat, box = sess.run(None, {"image": x})
        heat_diff = max(heat_diff, float(np.abs(ref_heat - heat).max()))
        live = np.broadcast_to(ref_heat >= 0.3, ref_box.shape)
        if live.any():
            excess = np.abs(ref_box - box) - tolerance.box_relative * np.abs(ref_box)
            box_diff = max(box_diff, float(excess[live].max()))
    if heat_diff > tolerance.heat or box_diff > tolerance.box_pixels:
        raise RuntimeError(
            f"ONNX export {onnx_path} differs from PyTorch by {heat_diff:.3g} on the heatmap and {box_diff:.3g} px "
            f"on box distances beyond {tolerance.box_relative:.0%} of them (tolerance {tolerance.heat} and "
            f"{tolerance.box_pixels} px)"
        )
    return heat_diff


def calibration_batches(labels_csv: Path, count: int = 200, side: int = 640) -> list[np.ndarray]:
    """``count`` train-split scenes spread evenly over the CSV (so over every source), letterboxed to ``side``.

    Raises:
        FileNotFoundError: a listed image cannot be decoded.
        ValueError: the CSV has no train images.
    """
    names = sorted(read_labels(labels_csv, "train"))
    if not names:
        raise ValueError(f"{labels_csv} has no train images to calibrate on")
    picks = [names[i] for i in np.linspace(0, len(names) - 1, min(count, len(names))).round().astype(int)]
    root = default_root(labels_csv)
    batches = []
    for rel in dict.fromkeys(picks):
        bgr = cv2.imread(str(root / rel), cv2.IMREAD_COLOR)
        if bgr is None:
            raise FileNotFoundError(f"cannot decode calibration image {root / rel}")
        batches.append(letterbox(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), side)[0])
    return batches
