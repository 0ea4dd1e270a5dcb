"""Calibrated confidences: a reading (or a detection) said to be 0.9 sure is right about nine times in ten.

A model's own score need not mean that. Ours is underconfident: it was trained with label
smoothing, so each character tops out near 0.95 and a seven-character plate near 0.7, while such
reads are right ~95% of the time (`numberplate eval ocr`, columns ``conf`` and ``ECE``). A
:class:`Calibration` is Platt scaling of the final confidence, ``sigmoid(a * logit(p) + b)``: monotone,
so it changes no reading and no ranking, only what the number says. The OCR's is fitted on fresh
synthetic plates (``numberplate train calibrate-ocr``), the detections' on train scenes (``numberplate
train calibrate-detector``), never on the reported val split; each is stored in its model's JSON.
Decisions inside (when the cascade asks its second reader, the detection thresholds) keep using the
models' own scores.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from numberplate.types import Candidate, Detection, PlateText

_EPS = 1e-6


@dataclass(frozen=True)
class Calibration:
    """Platt scaling of a confidence: ``sigmoid(a * logit(p) + b)``; ``a = 1, b = 0`` changes nothing."""

    a: float = 1.0
    b: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.a) and math.isfinite(self.b)) or self.a <= 0:
            raise ValueError(f"calibration a={self.a}, b={self.b}: a must be positive and both finite")

    @property
    def is_identity(self) -> bool:
        return self.a == 1.0 and self.b == 0.0

    def __call__(self, p: float) -> float:
        """The calibrated value of a confidence in [0, 1] (0 and 1 stay 0 and 1)."""
        if self.is_identity or p <= 0.0 or p >= 1.0:
            return min(max(p, 0.0), 1.0)
        z = self.a * math.log(p / (1.0 - p)) + self.b
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0

    def inverse(self, q: float) -> float:
        """The score whose calibrated value is ``q`` (to turn a threshold on the calibrated scale into the model's)."""
        if self.is_identity or q <= 0.0 or q >= 1.0:
            return min(max(q, 0.0), 1.0)
        z = (math.log(q / (1.0 - q)) - self.b) / self.a
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0

    def apply(self, text: PlateText | None) -> PlateText | None:
        """``text`` with its confidence calibrated; the other candidates share what the top one leaves.

        The top candidate (the reading itself) takes the calibrated confidence; the others keep their
        proportions and are scaled to the rest, ``1 - calibrated``, when they would exceed it, so the
        candidates still sum to at most 1. Per-character confidences are the model's own.
        """
        if text is None or self.is_identity:
            return text
        confidence = self(text.confidence)
        others = [c for c in text.candidates if c.text != text.text]
        rest = sum(c.confidence for c in others)
        scale = min(1.0, (1.0 - confidence) / rest) if rest > 0 else 1.0
        candidates = [Candidate(c.text, confidence if c.text == text.text else c.confidence * scale)
                      for c in text.candidates]
        return dataclasses.replace(text, confidence=confidence, candidates=tuple(candidates))

    def detections(self, found: list[Detection]) -> list[Detection]:
        """``found`` with calibrated confidences (same order: the scaling is monotone)."""
        if self.is_identity:
            return found
        return [dataclasses.replace(d, confidence=self(d.confidence)) for d in found]

    def to_dict(self) -> dict[str, float]:
        return {"a": round(self.a, 4), "b": round(self.b, 4)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Calibration:
        """From ``{"a": ..., "b": ...}`` (missing or ``None``: the identity).

        Raises:
            ValueError: the values are not numbers, or not a valid calibration.
        """
        if not data:
            return IDENTITY
        try:
            return cls(float(data.get("a", 1.0)), float(data.get("b", 0.0)))
        except (TypeError, AttributeError) as e:
            raise ValueError(f"calibration {data!r} is not {{'a': number, 'b': number}}") from e


IDENTITY = Calibration()


def calibration_error(confidences: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float:
    """Expected calibration error: over ``bins`` equal-width confidence bins, the gap between a bin's mean
    confidence and its share of right reads, weighted by the bin's share of reads (0 for perfect calibration).

    A confidence of 1.0 falls in the top bin; ``nan`` when there are no reads.

    Raises:
        ValueError: the two sequences differ in length, ``bins`` < 1, or a confidence is outside [0, 1].
    """
    if len(confidences) != len(correct) or bins < 1:
        raise ValueError(f"{len(confidences)} confidences for {len(correct)} outcomes, {bins} bins")
    if not confidences:
        return float("nan")
    conf = np.asarray(confidences, np.float64)
    if ((conf < 0) | (conf > 1)).any():
        raise ValueError("confidences must lie in [0, 1]")
    right = np.asarray(correct, np.float64)
    which = np.minimum((conf * bins).astype(int), bins - 1)
    return float(sum(abs(conf[which == b].mean() - right[which == b].mean()) * (which == b).mean()
                     for b in np.unique(which)))


def fit_calibration(confidences: Sequence[float], correct: Sequence[bool], prior: float = 1e-3,
                    iterations: int = 100) -> Calibration:
    """The Platt scaling that best predicts ``correct`` from ``confidences``.

    Maximum likelihood with a weak pull (``prior``, an L2 penalty per read) towards the identity, so
    that a few well-separated reads cannot drive the slope to infinity; damped Newton steps.

    Raises:
        ValueError: the sequences differ in length, are empty, or the outcomes are all the same (nothing
            to fit).
    """
    if len(confidences) != len(correct) or not confidences:
        raise ValueError(f"{len(confidences)} confidences for {len(correct)} outcomes")
    y = np.asarray(correct, np.float64)
    if y.min() == y.max():
        raise ValueError("every read is right (or every one wrong): no calibration can be fitted")
    p = np.clip(np.asarray(confidences, np.float64), _EPS, 1.0 - _EPS)
    features = np.stack([np.log(p / (1.0 - p)), np.ones_like(p)], 1)
    identity = np.array([1.0, 0.0])

    def loss(w: np.ndarray) -> float:
        z = features @ w
        return float(np.mean(np.logaddexp(0.0, z) - y * z) + prior * np.sum((w - identity) ** 2))

    w = identity.copy()
    for _ in range(iterations):
        q = 1.0 / (1.0 + np.exp(-np.clip(features @ w, -60.0, 60.0)))
        grad = features.T @ (q - y) / len(y) + 2 * prior * (w - identity)
        hess = features.T @ (features * (q * (1.0 - q))[:, None]) / len(y) + 2 * prior * np.eye(2)
        step = np.linalg.solve(hess, grad)
        scale, current = 1.0, loss(w)
        while scale > 1e-4 and loss(w - scale * step) > current:
            scale /= 2
        w = w - scale * step
        if np.abs(scale * step).max() < 1e-10:
            break
    return Calibration(float(max(w[0], 1e-3)), float(w[1]))
