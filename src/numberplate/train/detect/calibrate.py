"""Fit the detector's confidence calibration on train scenes (``numberplate train calibrate-detector``).

The shipped detector reads train scenes spread over every source; each detection scoring at least
``floor`` on the model's own scale is a true positive when it overlaps a labelled plate at IoU 0.5
(greedy, best score first, as the evaluation counts). Platt scaling
(:func:`numberplate.calibration.fit_calibration`) is fitted twice: on the detector's own scores (used
when the verifier is off) and on the verified scores (the default reader's). The val split is never
used: `numberplate eval detect` (column ``ECE``) checks the result. Train scenes are ones the detector
learnt from, so its scores there could be surer than on new photos; on the shipped model the precision
at the operating threshold differs by 0.01 (train 0.942, val 0.931; docs/results.md, session 15).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from numberplate.calibration import Calibration, calibration_error, fit_calibration
from numberplate.datasets.labels import read_labels
from numberplate.detection.platenet import PlateNetDetector
from numberplate.detection.postprocess import box_array
from numberplate.detection.verify import PlateVerifier, VerifiedDetector
from numberplate.evaluation.detection import ImageResult, match
from numberplate.imaging import load_image
from numberplate.types import Detection

DEFAULT_FLOOR = 0.3  # detections under this own score are left out of the fit (far below any threshold in use)


@dataclass(frozen=True)
class ScoreFit:
    """One fitted calibration and how well it fits the detections it was fitted on."""

    calibration: Calibration
    detections: int
    precision: float
    ece_before: float
    ece_after: float

    def to_dict(self, scenes: int, floor: float) -> dict:
        """The ``confidence_calibration`` entry of a model's JSON."""
        return {
            **self.calibration.to_dict(),
            "fitted_on": f"{self.detections} detections scoring >= {floor} on {scenes} train scenes (IoU 0.5 to a "
                         f"labelled plate: right)",
            "train_ece": {"before": round(self.ece_before, 4), "after": round(self.ece_after, 4)},
        }


def _fit(scores: list[float], right: list[bool]) -> ScoreFit:
    calibration = fit_calibration(scores, right)
    return ScoreFit(calibration, len(scores), float(np.mean(right)), calibration_error(scores, right),
                    calibration_error([calibration(s) for s in scores], right))


def _outcomes(found: list[Detection], gt: np.ndarray, floor: float) -> tuple[list[float], list[bool]]:
    pred = box_array(d.box for d in found)
    scores = np.array([d.confidence for d in found], np.float32)
    right = match(ImageResult(gt, pred, scores), 0.5)
    kept = scores >= floor
    return np.clip(scores[kept], 0.0, 1.0).tolist(), right[kept].tolist()


def fit_detector_calibration(
    labels_csv: Path,
    scenes: int = 1000,
    detector_model: Path | None = None,
    verifier_model: Path | None = None,
    floor: float = DEFAULT_FLOOR,
) -> tuple[ScoreFit, ScoreFit]:
    """Fit the calibrations of the detector's own and of the verified scores on ``scenes`` train scenes.

    Returns:
        (detector fit, verified fit).

    Raises:
        ValueError: the CSV has no train scenes, or the detections are all right (or all wrong).
    """
    records = read_labels(labels_csv, split="train", skip_conflicts=True)
    if not records:
        raise ValueError(f"{labels_csv} has no train scenes")
    if scenes < len(records):
        records = [records[i] for i in np.linspace(0, len(records) - 1, scenes).round().astype(int)]
    detector = PlateNetDetector(detector_model, threshold=floor)
    verified = VerifiedDetector(detector, PlateVerifier(verifier_model), threshold=floor)
    own: tuple[list[float], list[bool]] = ([], [])
    checked: tuple[list[float], list[bool]] = ([], [])
    for rec in records:
        gt = box_array(b.box for b in rec.boxes)
        image = load_image(rec.image)
        found = detector.detect_uncalibrated(image)
        for into, dets in ((own, found), (checked, verified.rescore(image, found))):
            scores, right = _outcomes(dets, gt, floor)
            into[0].extend(scores)
            into[1].extend(right)
    return _fit(*own), _fit(*checked)
