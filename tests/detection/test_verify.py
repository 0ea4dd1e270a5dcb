"""The plate verifier: context windows, rescoring detections, and the shipped model on real val images."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from numberplate.calibration import Calibration
from numberplate.config import Config
from numberplate.datasets.labels import read_labels
from numberplate.detection.platenet import PlateNetDetector
from numberplate.detection.verify import DEFAULT_VERIFIER, PlateVerifier, VerifiedDetector, context_window
from numberplate.errors import ModelLoadError
from numberplate.evaluation.detection import ImageResult, summarize
from numberplate.imaging import load_image
from numberplate.pipeline import default_detector
from numberplate.types import BoundingBox, Detection
from tests.fakes import PixelBoxes


class ByBrightness:
    """A verifier that takes bright boxes for plates (p = mean brightness / 255)."""

    weight = 0.5
    threshold = 0.4

    def probabilities(self, image: np.ndarray, boxes: Sequence[BoundingBox]) -> np.ndarray:
        return np.array([image[int(b.ymin):int(b.ymax), int(b.xmin):int(b.xmax)].mean() / 255 for b in boxes])


def test_context_window_is_the_grown_box_resized_with_grey_outside() -> None:
    image = np.zeros((100, 200, 3), np.uint8)
    image[40:60, 80:120] = 255  # a 40 x 20 white box
    win = context_window(image, BoundingBox(80, 40, 120, 60), size=(32, 64), context=2.0)
    assert win.shape == (32, 64, 3) and win.dtype == np.uint8
    # The box fills the middle half of the window each way; the rest is the black image around it.
    assert win[12:20, 20:44].min() == 255 and win[:6].max() == 0 and win[:, :12].max() == 0
    # At the image's edge the window is grey beyond it.
    edge = context_window(image, BoundingBox(0, 0, 40, 20), size=(32, 64), context=2.0)
    assert (edge[:7] == 114).all() and (edge[:, :15] == 114).all() and edge[-1, -1].max() == 0


def test_a_large_box_is_area_averaged_not_aliased() -> None:
    # A fine 1-px stripe pattern averages to mid-grey when shrunk 8 times, instead of aliasing to black or white.
    image = np.zeros((400, 1600, 3), np.uint8)
    image[:, ::2] = 255
    win = context_window(image, BoundingBox(400, 100, 1200, 300), size=(25, 100), context=1.0)
    assert abs(float(win[5:20, 10:90].mean()) - 127.5) < 10


def test_verified_scores_are_the_detector_s_times_p_to_the_weight_and_drop_under_the_threshold() -> None:
    image = np.zeros((100, 200, 3), np.uint8)
    image[10:30, 10:60] = 255   # bright: p = 1
    image[50:70, 100:150] = 64  # dim: p = 64 / 255
    verifier = ByBrightness()
    det = VerifiedDetector(PixelBoxes(((100, 50, 150, 70), 0.9), ((10, 10, 60, 30), 0.6)), verifier)
    got = det.detect(image)
    assert [d.box for d in got] == [BoundingBox(10, 10, 60, 30), BoundingBox(100, 50, 150, 70)]
    np.testing.assert_allclose([d.confidence for d in got], [0.6, 0.9 * (64 / 255) ** 0.5], atol=1e-6)
    # The verifier's own threshold (0.4) drops nothing here; a stricter one drops the dim box.
    assert [d.box for d in VerifiedDetector(det.detector, verifier, 0.5).detect(image)] == [BoundingBox(10, 10, 60, 30)]
    # Nothing found: the verifier still answers (empty), no error.
    assert VerifiedDetector(PixelBoxes(), verifier).detect(image) == []


def test_the_shipped_verifier_loads_and_the_reader_uses_it_by_default() -> None:
    verifier = PlateVerifier()
    assert verifier.input_size == (48, 128) and 0 < verifier.weight <= 1 and 0 < (verifier.threshold or 0) < 1
    assert verifier.probabilities(np.zeros((10, 10, 3), np.uint8), []).shape == (0,)
    assert isinstance(default_detector(Config()), VerifiedDetector)
    assert isinstance(default_detector(Config(verify_detections=False)), PlateNetDetector)
    # A threshold set in the config is on the reported (calibrated) verified score; the models get its value on
    # their own scale: the verified score's, and the detector's too (never lower).
    det = default_detector(Config(detection_threshold=0.6))
    own = det.verifier.calibration.inverse(0.6)  # type: ignore[attr-defined]
    assert isinstance(det, VerifiedDetector) and det.threshold == pytest.approx(own) and own != 0.6
    assert det.detector.threshold == pytest.approx(own)  # type: ignore[attr-defined]
    alone = default_detector(Config(detection_threshold=0.6, verify_detections=False))
    assert isinstance(alone, PlateNetDetector) and alone.threshold == pytest.approx(alone.calibration.inverse(0.6))


def test_a_corrupt_verifier_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "verifier.onnx"
    shutil.copy(DEFAULT_VERIFIER, path)
    meta = json.loads(DEFAULT_VERIFIER.with_suffix(".json").read_text())
    path.with_suffix(".json").write_text(json.dumps(meta | {"sha256": "0" * 64}))
    with pytest.raises(ModelLoadError, match="checksum"):
        PlateVerifier(path)


def test_the_shipped_verifier_keeps_real_plates_and_drops_look_alikes(data_dir: Path) -> None:
    """On the first val images of each source: the verified detector loses (almost) no plate the detector found."""
    base = PlateNetDetector()
    verified = VerifiedDetector(base, PlateVerifier())
    records = read_labels(data_dir / "detect" / "labels.csv", split="val")
    picked: dict[str, list] = {}
    for rec in records:
        if len(picked.setdefault(rec.source, [])) < 5:
            picked[rec.source].append(rec)
    plain, checked = [], []
    for rec in (r for recs in picked.values() for r in recs):
        image = load_image(rec.image)
        gt = np.array([[b.box.xmin, b.box.ymin, b.box.xmax, b.box.ymax] for b in rec.boxes]).reshape(-1, 4)
        for out, detector in ((plain, base), (checked, verified)):
            dets = detector.detect(image)
            pred = np.array([[d.box.xmin, d.box.ymin, d.box.xmax, d.box.ymax] for d in dets]).reshape(-1, 4)
            out.append(ImageResult(gt, pred, np.array([d.confidence for d in dets]), rec.source))
    before, after = summarize(plain, 0.0), summarize(checked, 0.0)
    assert after.recall >= before.recall - 0.05
    assert after.precision >= before.precision


class GivenLogits:
    """Stands in for the ONNX session: answers the given logits, one per window, in order."""

    def __init__(self, logits: list[float]) -> None:
        self.logits = logits
        self.batches: list[int] = []

    def run(self, outputs: object, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        (x,) = feeds.values()
        self.batches.append(len(x))
        return [np.array(self.logits[:len(x)], np.float32)]


def test_a_box_on_its_side_is_turned_both_ways_and_scored_by_its_upright_or_mean_turned_view() -> None:
    image = np.zeros((300, 300, 3), np.uint8)
    image[50:100, 140:160] = 255  # the top half of a tall box is bright
    tall, wide = BoundingBox(140, 50, 160, 150), BoundingBox(150, 240, 250, 265)
    turned = context_window(image, tall, turn=-1)
    # Turned anticlockwise, the top of the box is on the left of the window.
    assert turned.shape == (48, 128, 3) and turned[:, :60].mean() > turned[:, 68:].mean()
    np.testing.assert_array_equal(np.rot90(context_window(image, tall, size=(128, 48))), turned)

    def p(*logits: float) -> np.ndarray:
        verifier = PlateVerifier()
        verifier.session = GivenLogits(list(logits))  # type: ignore[assignment]
        out = verifier.probabilities(image, [tall, wide])
        assert verifier.session.batches == [4]  # the tall box as it is and turned both ways, the wide one as it is
        return out

    sure, unsure, never = 6.0, 0.0, -6.0
    # A plate on its side reads as a plate turned either way: kept, whatever the upright view says.
    assert p(never, sure, sure, unsure)[0] > 0.99
    # Plate-like only one way round (a facade, session 14): the mean of the turned views, 0.5.
    assert abs(p(never, sure, never, unsure)[0] - 0.5) < 0.01
    # A square two-line plate looks right upright.
    assert p(sure, never, never, unsure)[0] > 0.99
    assert abs(p(sure, never, never, unsure)[1] - 0.5) < 1e-6


class CalibratedDetector(PixelBoxes):
    """A detector with its own scores (``detect_uncalibrated``) and reported ones, like PlateNetDetector."""

    calibration = Calibration(2.0, 1.0)

    def detect(self, image: np.ndarray) -> list[Detection]:
        return self.calibration.detections(self.detect_uncalibrated(image))

    def detect_uncalibrated(self, image: np.ndarray) -> list[Detection]:
        return list(self.dets)


def test_the_verifier_rescored_own_scores_and_reports_calibrated_ones() -> None:
    image = np.zeros((100, 200, 3), np.uint8)
    image[10:30, 10:60] = 255
    verifier = ByBrightness()
    verifier.calibration = Calibration(1.5, 0.5)  # type: ignore[attr-defined]
    det = VerifiedDetector(CalibratedDetector(((10, 10, 60, 30), 0.6)), verifier, 0.5)
    (own,) = det.detect_uncalibrated(image)
    assert own.confidence == pytest.approx(0.6)  # the detector's own 0.6 (not its calibrated 0.86) times p = 1
    (reported,) = det.detect(image)
    assert reported.box == own.box and reported.confidence == pytest.approx(Calibration(1.5, 0.5)(0.6))


def test_the_shipped_models_report_calibrated_detections_and_the_threshold_is_on_that_scale(data_dir: Path) -> None:
    image = load_image(data_dir / "detect" / "images" / "tunisia" / "112.jpg")
    plain = PlateNetDetector()
    assert not plain.calibration.is_identity
    own, reported = plain.detect_uncalibrated(image), plain.detect(image)
    assert [d.box for d in own] == [d.box for d in reported] and own
    assert [d.confidence for d in reported] == pytest.approx([plain.calibration(d.confidence) for d in own])
    verified = default_detector(Config())
    assert isinstance(verified, VerifiedDetector) and not verified.verifier.calibration.is_identity
    default = verified.detect(image)
    # The reader's default threshold is the verifier's own 0.45; the same cut stated on the reported scale
    # gives the very same detections, and every reported confidence is at least it.
    cut = verified.verifier.calibration(float(verified.verifier.threshold or 0))
    same = default_detector(Config(detection_threshold=round(cut, 6))).detect(image)
    assert [d.box for d in same] == [d.box for d in default] and all(d.confidence >= cut - 1e-6 for d in same)
    stricter = default_detector(Config(detection_threshold=0.999)).detect(image)
    assert len(stricter) <= len(default)


def test_a_bad_detector_calibration_is_a_load_error(tmp_path: Path) -> None:
    from numberplate.detection.platenet import DEFAULT_MODEL

    model = tmp_path / "det.onnx"
    shutil.copy(DEFAULT_MODEL, model)
    meta = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text(encoding="utf-8"))
    meta["confidence_calibration"] = {"a": "steep"}
    model.with_suffix(".json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelLoadError, match="confidence_calibration"):
        PlateNetDetector(model)
