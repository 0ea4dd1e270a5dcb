"""Confidence calibration: Platt scaling, applied to readings, fitted, and loaded with the OCR model."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from numberplate.calibration import IDENTITY, Calibration, calibration_error, fit_calibration
from numberplate.errors import ModelLoadError
from numberplate.recognition.platenet_ocr import DEFAULT_MODEL, PlateOcrRecognizer
from numberplate.types import Candidate, PlateText


def reading(confidence: float, *others: tuple[str, float]) -> PlateText:
    return PlateText("AB12CDE", confidence, (0.9,) * 7,
                     (Candidate("AB12CDE", confidence), *(Candidate(t, c) for t, c in others)))


def test_identity_changes_nothing() -> None:
    text = reading(0.7, ("AB12CDF", 0.1))
    assert IDENTITY.apply(text) is text
    assert IDENTITY(0.3) == 0.3 and IDENTITY.apply(None) is None


def test_platt_scaling_values() -> None:
    c = Calibration(2.0, 0.0)
    assert c(0.5) == pytest.approx(0.5)
    assert c(0.8) == pytest.approx(1 / (1 + (0.2 / 0.8) ** 2))
    assert Calibration(1.0, math.log(3))(0.5) == pytest.approx(0.75)
    assert (c(0.0), c(1.0)) == (0.0, 1.0)
    values = [Calibration(1.3, 1.5)(p) for p in np.linspace(0.01, 0.99, 50)]
    assert values == sorted(values)  # monotone: no ranking changes


def test_apply_calibrates_the_reading_and_leaves_the_rest_to_the_other_candidates() -> None:
    text = reading(0.7, ("AB12CDF", 0.2), ("A812CDE", 0.05))
    out = Calibration(1.3, 1.5).apply(text)
    assert out is not None
    top = Calibration(1.3, 1.5)(0.7)
    assert out.text == text.text and out.confidence == pytest.approx(top) and top > 0.9
    assert out.candidates[0] == Candidate("AB12CDE", pytest.approx(top))
    others = [c.confidence for c in out.candidates[1:]]
    assert sum(others) == pytest.approx(1 - top) and others[0] / others[1] == pytest.approx(0.2 / 0.05)
    assert out.char_confidences == text.char_confidences
    # Lowering the top one leaves the others as they were (they already fit in the rest).
    lowered = Calibration(1.0, -2.0).apply(text)
    assert lowered is not None and [c.confidence for c in lowered.candidates[1:]] == [0.2, 0.05]


@pytest.mark.parametrize("data", [{"a": 0, "b": 1}, {"a": -1}, {"a": "x"}, {"a": float("nan")}, ["a"]])
def test_bad_calibrations_are_refused(data: object) -> None:
    with pytest.raises(ValueError):
        Calibration.from_dict(data)  # type: ignore[arg-type]


def test_from_dict() -> None:
    assert Calibration.from_dict(None) is IDENTITY and Calibration.from_dict({}) is IDENTITY
    assert Calibration.from_dict({"a": 1.5, "b": -0.5}) == Calibration(1.5, -0.5)
    assert Calibration.from_dict(Calibration(1.2, 0.3).to_dict()) == Calibration(1.2, 0.3)


def test_fit_recovers_a_known_scaling() -> None:
    rng = np.random.default_rng(0)
    truth = Calibration(1.6, 1.2)
    confidences = rng.uniform(0.02, 0.98, 8000)
    correct = rng.random(8000) < np.array([truth(p) for p in confidences])
    fitted = fit_calibration(confidences.tolist(), correct.tolist())
    assert fitted.a == pytest.approx(1.6, abs=0.15) and fitted.b == pytest.approx(1.2, abs=0.15)


def test_fit_stays_finite_on_separable_reads_and_refuses_one_outcome() -> None:
    fitted = fit_calibration([0.1, 0.2, 0.8, 0.9], [False, False, True, True])
    assert math.isfinite(fitted.a) and fitted.a < 100
    with pytest.raises(ValueError):
        fit_calibration([0.5, 0.6], [True, True])
    with pytest.raises(ValueError):
        fit_calibration([0.5], [True, False])


def test_the_shipped_ocr_reports_calibrated_confidences(data_dir: Path) -> None:
    from numberplate.imaging import load_image

    ocr = PlateOcrRecognizer()
    assert not ocr.calibration.is_identity and not ocr.fallback_calibration.is_identity
    crop = load_image(data_dir / "ocr" / "crops" / "tunisia" / "112.jpg")
    raw, calibrated = ocr.read_uncalibrated(crop, "tn"), ocr.read(crop, "tn")
    assert raw is not None and calibrated is not None and calibrated.text == raw.text == "127T9295"
    # A right read of eight characters: the model's own ~0.7, calibrated over 0.9.
    assert raw.confidence < 0.8 < 0.9 < calibrated.confidence == pytest.approx(ocr.calibration(raw.confidence))


def test_a_bad_calibration_in_the_model_json_is_a_load_error(tmp_path: Path) -> None:
    model = tmp_path / "ocr.onnx"
    shutil.copy(DEFAULT_MODEL, model)
    meta = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text(encoding="utf-8"))
    meta["confidence_calibration"] = {"a": -1.0, "b": 0.0}
    model.with_suffix(".json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelLoadError, match="confidence_calibration"):
        PlateOcrRecognizer(model)


def test_inverse_undoes_the_scaling_and_detections_are_mapped_in_order() -> None:
    from numberplate.types import BoundingBox, Detection

    c = Calibration(2.5, 0.5)
    for p in (0.01, 0.3, 0.45, 0.9, 0.999):
        assert c.inverse(c(p)) == pytest.approx(p, rel=1e-9)
    assert (c.inverse(0.0), c.inverse(1.0), IDENTITY.inverse(0.3)) == (0.0, 1.0, 0.3)
    found = [Detection(BoundingBox(0, 0, 10, 5), 0.8), Detection(BoundingBox(20, 0, 30, 5), 0.4)]
    mapped = c.detections(found)
    assert [d.box for d in mapped] == [d.box for d in found]
    assert [d.confidence for d in mapped] == pytest.approx([c(0.8), c(0.4)])
    assert IDENTITY.detections(found) is found


def test_calibration_error_on_hand_made_cases() -> None:
    assert calibration_error([1.0, 1.0, 1.0], [True, True, True]) == 0.0
    assert calibration_error([0.8] * 10, [True] * 8 + [False] * 2) == pytest.approx(0.0)
    assert calibration_error([0.9, 0.9], [False, False]) == pytest.approx(0.9)  # sure and wrong
    # Two bins: 0.25 (1 of 2 right: gap 0.25) and 0.95 (2 of 2 right: gap 0.05), each half the reads.
    assert calibration_error([0.25, 0.25, 0.95, 0.95], [True, False, True, True]) == pytest.approx(0.15)
    # Within one bin the mean is compared, not each read: 0.71 and 0.79 average 0.75, 3 of 4 right.
    assert calibration_error([0.71, 0.79, 0.71, 0.79], [True, True, True, False]) == pytest.approx(0.0)
    assert calibration_error([0.0, 1.0], [False, True], bins=1) == pytest.approx(0.0)
    assert np.isnan(calibration_error([], []))


@pytest.mark.parametrize(("confidences", "correct", "bins"), [([0.5], [True, False], 10), ([1.2], [True], 10),
                                                              ([-0.1], [False], 10), ([0.5], [True], 0)])
def test_calibration_error_rejects_bad_input(confidences: list, correct: list, bins: int) -> None:
    with pytest.raises(ValueError):
        calibration_error(confidences, correct, bins)
