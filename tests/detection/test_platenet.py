"""The ONNX detector: loading checks, output geometry, tiling of large images."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from numberplate.detection.platenet import DEFAULT_MODEL, PlateNetDetector
from numberplate.errors import ModelLoadError


@pytest.fixture(scope="module")
def detector() -> PlateNetDetector:
    return PlateNetDetector(threshold=0.01)


def test_missing_model_file_is_a_model_load_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"model file .*nope\.onnx does not exist"):
        PlateNetDetector(tmp_path / "nope.onnx")


def test_checksum_mismatch_is_detected(tmp_path: Path) -> None:
    model = tmp_path / "detector.onnx"
    shutil.copy(DEFAULT_MODEL, model)
    meta = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())
    meta["sha256"] = "0" * 64
    model.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="does not match its checksum"):
        PlateNetDetector(model)


def test_corrupt_model_is_a_model_load_error(tmp_path: Path) -> None:
    model = tmp_path / "detector.onnx"
    model.write_bytes(b"not an onnx graph")
    with pytest.raises(ModelLoadError, match="cannot load ONNX model"):
        PlateNetDetector(model)


@pytest.mark.parametrize("shape", [(720, 1280, 3), (37, 23, 3), (1000, 300, 3)])
def test_boxes_are_inside_the_image_and_sorted(detector: PlateNetDetector, shape: tuple[int, int, int]) -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, shape, dtype=np.uint8)
    dets = detector.detect(image)
    h, w = shape[:2]
    for d in dets:
        assert 0 <= d.box.xmin < d.box.xmax <= w and 0 <= d.box.ymin < d.box.ymax <= h
    confs = [d.confidence for d in dets]
    assert confs == sorted(confs, reverse=True)


def test_large_images_add_a_tiled_pass(detector: PlateNetDetector, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, ...]] = []
    run = detector._run

    def spy(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        calls.append(batch.shape)
        return run(batch)

    monkeypatch.setattr(detector, "_run", spy)
    detector.detect(np.zeros((2160, 3840, 3), np.uint8))
    # One full-image pass, then one batch of 1280-px tiles (4 x 2 with 20 % overlap) letterboxed to 640.
    assert calls[0] == (1, 384, 640, 3)
    assert calls[1] == (8, 640, 640, 3)
    calls.clear()
    detector.detect(np.zeros((720, 1280, 3), np.uint8))
    assert calls == [(1, 384, 640, 3)]
