"""Fitting the OCR's confidence calibration on fresh synthetic plates, and the command that records it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from numberplate.calibration import IDENTITY
from numberplate.recognition.platenet_ocr import DEFAULT_MODEL, PlateOcrRecognizer
from numberplate.train.ocr.calibrate import fit_ocr_calibration
from numberplate.types import PlateText


class Fallback:
    """A second reader that always reads the same text very surely (so it wins the plates ours doubts)."""

    name = "fake"

    def __init__(self) -> None:
        self.reads = 0

    def read(self, crop: np.ndarray, country: str | None = None) -> PlateText | None:
        self.reads += 1
        return PlateText("ZZ99ZZZ", 0.99 if self.reads % 2 else 0.3)


def test_the_fit_makes_the_shipped_model_s_confidences_closer_to_its_accuracy() -> None:
    fallback = Fallback()
    fit = fit_ocr_calibration(PlateOcrRecognizer(), plates=240, seed=11, fallback=lambda: fallback)
    assert fit.plates == 240 and 0.5 < fit.exact < 1.0
    assert fit.calibration.a > 1.0 and fit.calibration.b > 0.0  # the model's own scores are underconfident
    assert fit.ece_after < fit.ece_before
    # The fallback read the plates the cascade hands over; its sure wins are all wrong (one outcome): no fit.
    assert fallback.reads >= fit.fallback_wins > 0
    assert fit.fallback == IDENTITY and fit.fallback_ece_before > 0.5
    entry = fit.to_dict(seed=11)
    assert set(entry) >= {"a", "b", "fallback", "fitted_on", "synthetic_ece"} and "seed 11" in entry["fitted_on"]


def test_calibrate_ocr_writes_the_calibration_the_recogniser_then_uses(tmp_path: Path) -> None:
    from numberplate.train.cli import train_group

    model = tmp_path / "ocr.onnx"
    shutil.copy(DEFAULT_MODEL, model)
    meta = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text(encoding="utf-8"))
    meta.pop("confidence_calibration", None)
    model.with_suffix(".json").write_text(json.dumps(meta), encoding="utf-8")
    assert PlateOcrRecognizer(model).calibration == IDENTITY
    result = CliRunner().invoke(train_group, ["calibrate-ocr", "--model", str(model), "--plates", "150",
                                              "--no-fallback", "--seed", "3"])
    assert result.exit_code == 0, result.output
    written = json.loads(model.with_suffix(".json").read_text(encoding="utf-8"))["confidence_calibration"]
    loaded = PlateOcrRecognizer(model)
    assert (loaded.calibration.a, loaded.calibration.b) == (written["a"], written["b"])
    assert loaded.fallback_calibration == IDENTITY and loaded.calibration != IDENTITY
    assert json.loads(model.with_suffix(".json").read_text(encoding="utf-8"))["sha256"] == meta["sha256"]
