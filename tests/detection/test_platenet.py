"""The ONNX detector: loading checks, output geometry, tiling of large images."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from numberplate.detection.platenet import DEFAULT_MODEL, PlateNetDetector
from numberplate.errors import ModelLoadError
from numberplate.imaging import load_image


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


def _fused_and_reference(model: Path, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The model's first output as the Reader computes it (fused int8 kernels), and ONNX Runtime's plain
    QDQ reference (no graph optimisation: dequantize, float operator, quantize)."""
    import onnxruntime as ort

    from numberplate.detection.platenet import create_session

    plain = ort.SessionOptions()
    plain.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    reference = ort.InferenceSession(str(model), plain, providers=["CPUExecutionProvider"])
    fused = create_session(model)
    return fused.run(None, {"image": batch})[0], reference.run(None, {"image": batch})[0]


def test_shipped_int8_models_compute_the_same_on_this_cpu(data_dir: Path) -> None:
    """On an x86 CPU without VNNI the fused uint8 x int8 kernels saturate unless ``exact_int8`` is set
    (session 14: heatmaps off by up to 0.6). Wherever the tests run, the shipped int8 models must compute
    what their quantized graph says: within rounding of the plain QDQ reference."""
    import cv2

    from numberplate.datasets.labels import read_labels
    from numberplate.detection.postprocess import letterbox
    from numberplate.evaluation.ocr import read_ocr_labels
    from numberplate.recognition.platenet_ocr import DEFAULT_MODEL as OCR_MODEL
    from numberplate.recognition.platenet_ocr import prepare

    scenes = [r for r in read_labels(data_dir / "detect" / "labels.csv", split="val") if r.boxes][::200][:4]
    for rec in scenes:
        fused, reference = _fused_and_reference(DEFAULT_MODEL, letterbox(load_image(rec.image), 640)[0])
        assert np.abs(fused - reference).max() < 0.03, rec.image
    meta = json.loads(OCR_MODEL.with_suffix(".json").read_text())
    crops = [prepare(cv2.cvtColor(cv2.imread(str(s.image)), cv2.COLOR_BGR2RGB),
                     (meta["input_height"], meta["input_width"]))
             for s in read_ocr_labels(data_dir / "ocr" / "labels.csv", split="val")[::25]]
    fused, reference = _fused_and_reference(OCR_MODEL, np.stack([c for c in crops if c is not None]))
    assert np.abs(fused - reference).max() < 0.05
    assert (fused.argmax(-1) == reference.argmax(-1)).mean() > 0.99


def test_the_shipped_ocr_computes_the_same_with_the_fast_int8_kernels(data_dir: Path) -> None:
    """Its weights have 7 bits, which cannot saturate the fast kernels of CPUs without VNNI: with or without
    ``exact_int8`` it computes the same, bit for bit, on this CPU as on every other."""
    import onnxruntime as ort

    from numberplate.detection.platenet import exact_int8
    from numberplate.evaluation.ocr import read_ocr_labels
    from numberplate.recognition.platenet_ocr import DEFAULT_MODEL as OCR_MODEL
    from numberplate.recognition.platenet_ocr import prepare

    meta = json.loads(OCR_MODEL.with_suffix(".json").read_text())
    assert meta["weight_bits"] == 7
    crops = [prepare(load_image(s.image), (meta["input_height"], meta["input_width"]))
             for s in read_ocr_labels(data_dir / "ocr" / "labels.csv", split="val")[::10]]
    batch = np.stack([c for c in crops if c is not None])
    fast, exact = (ort.InferenceSession(str(OCR_MODEL), options, providers=["CPUExecutionProvider"])
                   .run(None, {"image": batch})[0]
                   for options in (ort.SessionOptions(), exact_int8(ort.SessionOptions())))
    assert np.array_equal(fast, exact)


def test_a_big_plate_in_a_large_photo_is_found_once(data_dir: Path) -> None:
    """A phone-sized photo (the val scene upscaled 5x): the tiles see the big plate up close, in parts and cut
    at their sides; only the whole plate is reported."""
    import cv2

    from numberplate.datasets.labels import read_labels

    found_once = 0
    scenes = [r for r in read_labels(data_dir / "detect" / "labels.csv", split="val")
              if r.source == "openlpr" and len(r.boxes) == 1][:12]
    detector = PlateNetDetector()
    for rec in scenes:
        image = cv2.resize(load_image(rec.image), None, fx=5, fy=5, interpolation=cv2.INTER_CUBIC)
        truth = rec.boxes[0].box
        plate = np.array([[truth.xmin, truth.ymin, truth.xmax, truth.ymax]]) * 5
        boxes = np.array([[d.box.xmin, d.box.ymin, d.box.xmax, d.box.ymax] for d in detector.detect(image)])
        on_plate = boxes[(np.minimum(boxes[:, 2], plate[0, 2]) > np.maximum(boxes[:, 0], plate[0, 0]))
                         & (np.minimum(boxes[:, 3], plate[0, 3]) > np.maximum(boxes[:, 1], plate[0, 1]))]
        found_once += len(on_plate) == 1
    assert found_once >= 11, found_once
