"""Export a PlateNet checkpoint to ONNX (dynamic batch and size) and verify it against PyTorch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from numberplate.detection.platenet import sha256_file
from numberplate.train.detect.model import PlateNet


class _Exported(nn.Module):
    """The shipped graph: sigmoid on the heatmap so that inference needs no torch-side maths."""

    def __init__(self, net: PlateNet):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        heat, box = self.net(x)
        return torch.sigmoid(heat), box


def load_checkpoint(path: Path) -> tuple[PlateNet, dict]:
    """Rebuild the model of a checkpoint (EMA weights when present)."""
    ck = torch.load(path, map_location="cpu", weights_only=False)
    cfg = ck.get("config", {})
    model = PlateNet(cfg.get("width", 48), depth=cfg.get("depth", 1))
    model.load_state_dict(ck.get("ema", ck["model"]))
    return model.eval(), ck


def export_onnx(checkpoint: Path, out: Path, threshold: float = 0.3, metrics: dict | None = None) -> float:
    """Write ``out`` (+ ``out.json`` with sha256 and settings); return the max abs difference to PyTorch."""
    model, ck = load_checkpoint(checkpoint)
    wrapped = _Exported(model).eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.rand(1, 3, 384, 640)
    torch.onnx.export(
        wrapped, (dummy,), str(out), input_names=["image"], output_names=["heat", "box"], opset_version=17,
        dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"}, "heat": {0: "batch", 2: "h8", 3: "w8"},
                      "box": {0: "batch", 2: "h8", 3: "w8"}},
        dynamo=False,
    )
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    x = torch.rand(2, 3, 320, 480)
    with torch.no_grad():
        ref = [t.numpy() for t in wrapped(x)]
    got = sess.run(None, {"image": x.numpy()})
    diff = max(float(np.abs(a - b).max()) for a, b in zip(ref, got))
    if diff > 1e-3:
        raise RuntimeError(f"ONNX export of {checkpoint} differs from PyTorch by {diff}")
    meta = {
        "name": "platenet",
        "sha256": sha256_file(out),
        "threshold": threshold,
        "stride": 8,
        "input": "RGB float32 NCHW in [0,1], letterboxed (top-left), padded to a multiple of 32 with 114/255",
        "epoch": int(ck.get("epoch", -1)) + 1,
        "metrics": metrics or {},
    }
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    return diff
