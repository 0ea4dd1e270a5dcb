"""Fitting the detection confidences' calibration on train scenes, and the command that records it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from numberplate.detection.platenet import DEFAULT_MODEL, PlateNetDetector
from numberplate.detection.verify import DEFAULT_VERIFIER, PlateVerifier
from numberplate.train.detect.calibrate import fit_detector_calibration


def _copy_without_calibration(model: Path, into: Path) -> Path:
    out = into / model.name
    shutil.copy(model, out)
    meta = json.loads(model.with_suffix(".json").read_text(encoding="utf-8"))
    meta.pop("confidence_calibration", None)
    out.with_suffix(".json").write_text(json.dumps(meta), encoding="utf-8")
    return out


def test_the_fit_brings_the_scores_closer_to_the_share_of_right_detections(data_dir: Path) -> None:
    own, verified = fit_detector_calibration(data_dir / "detect" / "labels.csv", scenes=80)
    for fit in (own, verified):
        assert fit.detections > 40 and 0.3 < fit.precision < 1.0
        assert fit.ece_after < fit.ece_before and fit.calibration.a > 0
    assert verified.precision > own.precision  # the verifier drops the detector's false positives


def test_calibrate_detector_writes_both_calibrations_the_models_then_use(data_dir: Path, tmp_path: Path) -> None:
    from numberplate.train.cli import train_group

    detector, verifier = (_copy_without_calibration(m, tmp_path) for m in (DEFAULT_MODEL, DEFAULT_VERIFIER))
    assert PlateNetDetector(detector).calibration.is_identity and PlateVerifier(verifier).calibration.is_identity
    result = CliRunner().invoke(train_group, ["calibrate-detector", "--data", str(data_dir / "detect" / "labels.csv"),
                                              "--scenes", "60", "--detector-model", str(detector),
                                              "--verifier-model", str(verifier)])
    assert result.exit_code == 0, result.output
    for path, calibration in ((detector, PlateNetDetector(detector).calibration),
                              (verifier, PlateVerifier(verifier).calibration)):
        written = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))["confidence_calibration"]
        assert (calibration.a, calibration.b) == (written["a"], written["b"]) and not calibration.is_identity
        assert "60 train scenes" in written["fitted_on"]
