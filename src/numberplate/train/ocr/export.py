"""Export a PlateOCR checkpoint to ONNX (dynamic batch, softmax in the graph) and verify it against PyTorch.

By default the convolutions are quantized to int8 (calibrated on real train crops); the attention
read-out stays float32, as quantizing it too costs plates on val while the convolutions alone do not.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from numberplate.detection.platenet import exact_int8, sha256_file
from numberplate.evaluation.ocr import read_ocr_labels
from numberplate.recognition.alphabet import ALPHABET, PAD
from numberplate.recognition.platenet_ocr import prepare
from numberplate.train.common import (
    WEIGHT_BITS,
    checkpoint_weights,
    load_weights,
    quantize_int8,
    read_checkpoint,
    staged_export,
)
from numberplate.train.ocr.model import PlateOCR
from numberplate.train.ocr.train import build_model

INT8_OPS = ("Conv",)
# int8 vs float32 on real crops: a slot whose best character leads the next by more than
# INT8_DECIDED_MARGIN must keep it (near ties may flip either way: they are unsure readings anyway).
INT8_DECIDED_MARGIN = 0.2
INT8_MIN_AGREEMENT = 0.995


class _Exported(nn.Module):
    """The shipped graph: softmax over the alphabet so that inference needs no torch-side maths."""

    def __init__(self, net: PlateOCR):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(x), dim=-1)


def load_checkpoint(path: Path) -> tuple[PlateOCR, dict[str, Any]]:
    """Rebuild the model of a checkpoint (EMA weights when present)."""
    ck = read_checkpoint(path)
    model = build_model(ck.get("config", {}))
    load_weights(model, checkpoint_weights(ck), path, "a plate OCR model")
    return model.eval(), ck


def calibration_crops(
    labels_csv: Path, size: tuple[int, int], count: int = 256, batch: int = 8, seed: int = 0
) -> list[np.ndarray]:
    """``count`` train crops drawn at random across the sources, prepared as the model sees them, in batches.

    Raises:
        FileNotFoundError: a crop cannot be decoded.
    """
    samples = read_ocr_labels(labels_csv, split="train")
    rng = np.random.default_rng(seed)
    crops = []
    for i in sorted(rng.choice(len(samples), min(count, len(samples)), replace=False)):
        bgr = cv2.imread(str(samples[i].image), cv2.IMREAD_COLOR)
        if bgr is None:
            raise FileNotFoundError(f"cannot decode calibration crop {samples[i].image}")
        prepared = prepare(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), size)
        if prepared is not None:
            crops.append(prepared)
    return [np.stack(crops[i:i + batch]) for i in range(0, len(crops), batch)]


def export_onnx(
    checkpoint: Path, out: Path, metrics: dict[str, Any] | None = None,
    calibration: Sequence[np.ndarray] | None = None, weight_bits: int = WEIGHT_BITS,
) -> float:
    """Write ``out`` (+ ``out.json`` with sha256, input size, alphabet and slots); return max |ONNX - PyTorch|.

    Args:
        checkpoint: a ``best.pt`` / ``last.pt`` written by ``numberplate train ocr``.
        out: the ``.onnx`` file to write.
        metrics: figures to record in the metadata; default: the checkpoint's own validation row.
        calibration: prepared uint8 NHWC crop batches (:func:`calibration_crops`); when given, the
            convolutions are quantized to int8 with activation ranges measured on them, and the int8
            model must keep the float model's characters on them (the returned difference is then
            the int8 model's largest probability difference, for information).
        weight_bits: bits of the int8 weights: 7 (the default) runs exactly with ONNX Runtime's fast kernels
            on every CPU, 8 needs its exact but slower ones on CPUs without VNNI (:func:`quantize_int8`).

    Raises:
        RuntimeError: the float graph's probabilities differ from PyTorch's by more than 1e-4, or the
            int8 graph changes too many characters.
    """
    model, ck = load_checkpoint(checkpoint)
    wrapped = _Exported(model).eval()
    height, width = model.input_size
    with tempfile.TemporaryDirectory() as tmp, staged_export(out) as (onnx_path, json_path):
        float_path = Path(tmp) / "float.onnx" if calibration is not None else onnx_path
        with warnings.catch_warnings():
            # The attention's sequence lengths (cells, slots) are fixed by the architecture: constants on purpose.
            warnings.filterwarnings("ignore", "Converting a tensor to a Python integer", torch.jit.TracerWarning)
            torch.onnx.export(
                wrapped, (torch.zeros(1, height, width, 3, dtype=torch.uint8),), str(float_path),
                input_names=["image"], output_names=["probs"], opset_version=17,
                dynamic_axes={"image": {0: "batch"}, "probs": {0: "batch"}}, dynamo=False,
            )
        x = torch.randint(0, 256, (3, height, width, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
        diff = float(np.abs(_probs(wrapped, [x.numpy()]) - _run(float_path, [x.numpy()])).max())
        if diff > 1e-4:
            raise RuntimeError(f"ONNX export of {checkpoint} differs from PyTorch by {diff}")
        if calibration is not None:
            quantize_int8(float_path, onnx_path, calibration, op_types=INT8_OPS, weight_bits=weight_bits)
            diff = _check_int8(wrapped, onnx_path, calibration)
        if metrics is None:
            metrics = {k: round(v, 4) for k, v in ck.get("metrics", {}).items()
                       if k.startswith(("val_", "exact")) and isinstance(v, float)}
        meta = {
            "name": "plateocr",
            "precision": f"int8 convolutions ({weight_bits}-bit weights)" if calibration is not None else "float32",
            "sha256": sha256_file(onnx_path),
            "input_height": height,
            "input_width": width,
            "input": "RGB uint8 NHWC, the plate crop resized (stretched) to input_height x input_width",
            "output": "probs: (batch, max_slots, len(alphabet)) softmax; text fills the first slots, pad the rest",
            "alphabet": ALPHABET,
            "pad": PAD,
            "max_slots": model.max_slots,
            "epoch": int(ck.get("epoch", -1)) + 1,
            "metrics": metrics,
        }
        if calibration is not None:
            meta["calibration_crops"] = sum(len(b) for b in calibration)
            meta["weight_bits"] = weight_bits
        json_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return diff


def _probs(wrapped: nn.Module, batches: Sequence[np.ndarray]) -> np.ndarray:
    """PyTorch's probabilities for every crop of ``batches``, concatenated."""
    with torch.no_grad():
        return np.concatenate([wrapped(torch.from_numpy(b)).numpy() for b in batches])


def _run(onnx_path: Path, batches: Sequence[np.ndarray]) -> np.ndarray:
    """The ONNX model's probabilities for every crop of ``batches`` (one session), concatenated."""
    sess = ort.InferenceSession(str(onnx_path), exact_int8(ort.SessionOptions()), providers=["CPUExecutionProvider"])
    return np.concatenate([sess.run(None, {"image": b})[0] for b in batches])


def _check_int8(wrapped: nn.Module, onnx_path: Path, batches: Sequence[np.ndarray]) -> float:
    """The int8 model keeps the float model's characters on real crops; returns the largest probability change."""
    ref, got = _probs(wrapped, batches), _run(onnx_path, batches)
    same = ref.argmax(-1) == got.argmax(-1)
    top2 = np.sort(ref, axis=-1)[..., -2:]
    decided = top2[..., 1] - top2[..., 0] > INT8_DECIDED_MARGIN
    agreement = float(same[decided].mean()) if decided.any() else 1.0
    if agreement < INT8_MIN_AGREEMENT:
        raise RuntimeError(
            f"int8 model changes too many characters: {agreement:.4f} of the decided slots kept (need "
            f"{INT8_MIN_AGREEMENT}); export with --float32"
        )
    return float(np.abs(ref - got).max())
