"""Fit the plate OCR's confidence calibration on fresh synthetic plates (``numberplate train calibrate-ocr``).

The model reads synthetic plates of every layout (by weight, a seed apart from training's), half with
their country's hint (where it has pattern data) and half with ``auto``, as the reader and the
evaluation pass them. Platt scaling (:func:`numberplate.calibration.fit_calibration`) is fitted
on its own confidences against exact reads; and, for the default ``plateocr+rapidocr`` cascade, a second
one on the readings of the fallback that win there (the cascade's own decisions, on the model's own
scores). The reported val split is never used: its figures stay an honest check
(`numberplate eval ocr`, columns ``conf`` and ``ECE``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from numberplate.calibration import IDENTITY, Calibration, calibration_error, fit_calibration
from numberplate.formats.patterns import AUTO, UnknownCountryError, patterns_for
from numberplate.recognition.base import Recognizer
from numberplate.recognition.cascade import CascadeRecognizer
from numberplate.recognition.platenet_ocr import PlateOcrRecognizer
from numberplate.train.synth.layouts import pick_layout
from numberplate.train.synth.render import render_crop

DEFAULT_SEED = 4242  # far from the training seeds: plates new to the model
MIN_FALLBACK_WINS = 30  # fewer fallback wins than this fit no fallback calibration (identity)


@dataclass(frozen=True)
class CalibrationFit:
    """What :func:`fit_ocr_calibration` found: the two calibrations and how well each fits its plates."""

    calibration: Calibration
    fallback: Calibration
    plates: int
    exact: float
    ece_before: float
    ece_after: float
    fallback_wins: int
    fallback_ece_before: float
    fallback_ece_after: float

    def to_dict(self, seed: int) -> dict:
        """The ``calibration`` entry of the model's JSON."""
        return {
            **self.calibration.to_dict(),
            "fallback": self.fallback.to_dict(),
            "fitted_on": f"{self.plates} synthetic plates (seed {seed}), half with their country's hint, half "
                         f"'auto'; {self.fallback_wins} RapidOCR readings that won in the cascade",
            "synthetic_ece": {"before": round(self.ece_before, 4), "after": round(self.ece_after, 4)},
        }


def _hint(country: str, i: int) -> str:
    """Every other plate gets ``auto``, the rest their own country when it has pattern data."""
    if i % 2 == 0:
        return AUTO
    try:
        patterns_for(country)
    except UnknownCountryError:
        return AUTO
    return country


def fit_ocr_calibration(
    recognizer: PlateOcrRecognizer,
    plates: int = 2000,
    seed: int = DEFAULT_SEED,
    fallback: Callable[[], Recognizer] | None = None,
    batch: int = 64,
) -> CalibrationFit:
    """Fit ``recognizer``'s calibration (and its cascade fallback's) on ``plates`` fresh synthetic plates.

    Args:
        recognizer: the model to calibrate (read with its own confidences).
        plates: synthetic plates to render.
        seed: their random seed.
        fallback: builds the cascade's second reader, for the fallback calibration (the cascade's own
            decisions); ``None`` fits none (identity).
        batch: plates per model run.

    Raises:
        ValueError: the model reads every plate right, or every one wrong (nothing to fit).
    """
    rng = np.random.default_rng(seed)
    images, truths, hints = [], [], []
    for i in range(plates):
        image, text, country = render_crop(rng, (160, 48), pick_layout(rng))
        images.append(image)
        truths.append(text)
        hints.append(_hint(country, i))
    reads = []
    for start in range(0, plates, batch):
        reads += recognizer.read_batch(images[start:start + batch], hints[start:start + batch], calibrated=False)
    confidences = [r.confidence if r is not None else 0.0 for r in reads]
    right = [r is not None and r.text == t for r, t in zip(reads, truths)]
    calibration = fit_calibration(confidences, right)

    # The fallback calibration is of the readings the fallback wins with in the cascade, on its decisions.
    wins: list[tuple[float, bool]] = []
    if fallback is not None:
        cascade = CascadeRecognizer(recognizer, "fallback", factory=fallback)
        for image, truth, hint in zip(images, truths, hints):
            chosen, fallback_won = cascade.read_own(image, hint)
            if fallback_won and chosen is not None:
                wins.append((chosen.confidence, chosen.text == truth))
    win_conf, win_ok = [c for c, _ in wins], [ok for _, ok in wins]
    fallback_calibration = (fit_calibration(win_conf, win_ok)
                            if len(wins) >= MIN_FALLBACK_WINS and len(set(win_ok)) == 2 else IDENTITY)
    return CalibrationFit(
        calibration=calibration,
        fallback=fallback_calibration,
        plates=plates,
        exact=float(np.mean(right)),
        ece_before=calibration_error(confidences, right),
        ece_after=calibration_error([calibration(c) for c in confidences], right),
        fallback_wins=len(wins),
        fallback_ece_before=calibration_error(win_conf, win_ok),
        fallback_ece_after=calibration_error([fallback_calibration(c) for c in win_conf], win_ok),
    )
