"""Export a verifier checkpoint to ONNX (uint8 NHWC in, plate logits out, dynamic batch), checked against PyTorch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch

from numberplate.detection.platenet import sha256_file
from numberplate.detection.verify import CONTEXT, INPUT_SIZE
from numberplate.train.common import load_weights, read_checkpoint, staged_export
from numberplate.train.verify.model import VerifierNet


def export_verifier(checkpoint: Path, out: Path, threshold: float | None = None,
                    extra: dict[str, Any] | None = None) -> float:
    """Write ``out`` and ``out.json`` (sha256, input size, context, weight, threshold); return max |ONNX - PyTorch|.

    Args:
        checkpoint: ``last.pt`` of ``numberplate train verifier``.
        out: the ``.onnx`` file to write.
        threshold: the operating threshold of the rescored detections; default: the max-F1 one
            the checkpoint measured on its held-out train scenes.
        extra: more fields for the metadata (e.g. val figures).

    Raises:
        RuntimeError: the ONNX logits differ from PyTorch's by more than 1e-3.
    """
    ck = read_checkpoint(checkpoint)
    model = VerifierNet()
    load_weights(model, ck["model"], checkpoint, "the verifier")
    model.eval()
    height, width = INPUT_SIZE
    with staged_export(out) as (onnx_path, json_path):
        torch.onnx.export(model, (torch.zeros(1, height, width, 3, dtype=torch.uint8),), str(onnx_path),
                          input_names=["image"], output_names=["logit"], opset_version=17,
                          dynamic_axes={"image": {0: "batch"}, "logit": {0: "batch"}}, dynamo=False)
        x = torch.randint(0, 256, (5, height, width, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            ref = model(x).numpy()
        session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        (got,) = session.run(None, {"image": x.numpy()})
        diff = float(np.abs(ref - got).max())
        if diff > 1e-3:
            raise RuntimeError(f"ONNX export of {checkpoint} differs from PyTorch by {diff}")
        metrics = ck.get("metrics", {})
        cfg = ck.get("config", {})
        meta = {
            "name": "plate-verifier",
            "sha256": sha256_file(onnx_path),
            "input_height": height,
            "input_width": width,
            "context": CONTEXT,
            "input": "RGB uint8 NHWC: the detection's box grown to `context` times its size about its centre, "
                     "resized (stretched) to input_height x input_width, grey (114) outside the image",
            "output": "logit: (batch,) plate logit; p = sigmoid(logit)",
            "weight": cfg.get("weight", 0.3),
            "threshold": threshold if threshold is not None else metrics.get("verified_threshold"),
            "score": "detector score * p ** weight",
            "epoch": int(ck.get("epoch", -1)) + 1,
            "held_out": {k: round(v, 4) for k, v in metrics.items() if isinstance(v, float) and k != "lr"},
            **(extra or {}),
        }
        json_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return diff
