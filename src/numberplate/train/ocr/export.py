"""Export a PlateOCR checkpoint to ONNX (dynamic batch, softmax in the graph) and verify it against PyTorch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from numberplate.detection.platenet import sha256_file
from numberplate.recognition.alphabet import ALPHABET, PAD
from numberplate.train.ocr.model import PlateOCR
from numberplate.train.ocr.train import build_model


class _Exported(nn.Module):
    """The shipped graph: softmax over the alphabet so that inference needs no torch-side maths."""

    def __init__(self, net: PlateOCR):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(x), dim=-1)


def load_checkpoint(path: Path) -> tuple[PlateOCR, dict[str, Any]]:
    """Rebuild the model of a checkpoint (EMA weights when present)."""
    ck = torch.load(path, map_location="cpu", weights_only=False)
    model = build_model(ck.get("config", {}))
    model.load_state_dict(ck.get("ema", ck["model"]))
    return model.eval(), ck


def export_onnx(checkpoint: Path, out: Path, metrics: dict[str, Any] | None = None) -> float:
    """Write ``out`` (+ ``out.json`` with sha256, input size, alphabet and slots); return max |ONNX - PyTorch|.

    Args:
        checkpoint: a ``best.pt`` / ``last.pt`` written by ``numberplate train ocr``.
        out: the ``.onnx`` file to write.
        metrics: figures to record in the metadata; default: the checkpoint's own validation row.

    Raises:
        RuntimeError: the exported graph's probabilities differ from PyTorch's by more than 1e-4.
    """
    model, ck = load_checkpoint(checkpoint)
    wrapped = _Exported(model).eval()
    height, width = model.input_size
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        wrapped, (torch.zeros(1, height, width, 3, dtype=torch.uint8),), str(out), input_names=["image"],
        output_names=["probs"], opset_version=17, dynamic_axes={"image": {0: "batch"}, "probs": {0: "batch"}},
        dynamo=False,
    )
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    x = torch.randint(0, 256, (3, height, width, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = wrapped(x).numpy()
    got = sess.run(None, {"image": x.numpy()})[0]
    diff = float(np.abs(ref - got).max())
    if diff > 1e-4:
        raise RuntimeError(f"ONNX export of {checkpoint} differs from PyTorch by {diff}")
    if metrics is None:
        metrics = {k: round(v, 4) for k, v in ck.get("metrics", {}).items()
                   if k.startswith(("val_", "exact")) and isinstance(v, float)}
    meta = {
        "name": "plateocr",
        "sha256": sha256_file(out),
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
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return diff
