"""Cascade backend: the fast primary reader for every plate, a second reader for the plates it is unsure of.

Our PlateOCR model is fast, but it reads unfamiliar plate families (layouts it saw few of in
training) worse than a general text recogniser. The cascade asks the second reader only when the
first one's own score is below ``below`` (by default 0.5; the model's own scores are underconfident:
about 0.8 calibrated) and keeps whichever reading scores higher. On the hand-read e2e scenes this
lifts exact reads from 0.64 to 0.80 (docs/results.md) at the cost of the second reader's time on the
unsure plates only. These decisions use the readers' own scores, on which they were set; the reading
returned is then calibrated (:mod:`numberplate.calibration`).

A Chinese plate's province character is a case of its own: our model saw few plates from outside
Anhui (皖 is 96% of the training crops) and reads a rare province as 皖 while sure of the rest.
When the first reading's province character is less sure than ``PROVINCE_BELOW``, the second reader
(RapidOCR's, trained on Chinese text at large) reads too, and where both agree on every character
after the province, its province is taken (:func:`settle_province`).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable

import numpy as np

from numberplate.calibration import IDENTITY, Calibration
from numberplate.errors import BackendUnavailableError, ModelLoadError
from numberplate.formats import match, postprocess_text
from numberplate.recognition.base import Recognizer, own_scores
from numberplate.recognition.text import clean_plate_text, is_china, is_cjk
from numberplate.types import Candidate, PlateText

log = logging.getLogger(__name__)

DEFAULT_BELOW = 0.5
# A Chinese reading whose province character's confidence is under this asks the fallback for the province.
PROVINCE_BELOW = 0.95


class CascadeRecognizer:
    """Reads with ``primary``; below ``below`` confidence also with the fallback and keeps the surer reading."""

    def __init__(
        self,
        primary: Recognizer,
        fallback: str,
        below: float = DEFAULT_BELOW,
        factory: Callable[[], Recognizer] | None = None,
    ):
        """
        Args:
            primary: the reader of every plate.
            fallback: the second reader's backend name (``"rapidocr"``); it is loaded on first use,
                so a process that never needs it never loads it.
            below: the primary confidence under which the fallback reads too, in (0, 1].
            factory: builds the fallback (default: :func:`numberplate.recognition.create_recognizer`).

        Raises:
            ValueError: ``below`` is not in (0, 1].
        """
        if not 0.0 < below <= 1.0:
            raise ValueError(f"below={below} must be in (0, 1]")
        self.primary = primary
        self.fallback_name = fallback
        self.below = below
        self.name = f"{primary.name}+{fallback}"
        self._factory = factory or self._create
        self._fallback: Recognizer | None = None
        self._unavailable = False
        self._lock = threading.Lock()

    def _create(self) -> Recognizer:
        from numberplate.recognition import create_recognizer

        return create_recognizer(self.fallback_name)

    def read(self, crop: np.ndarray, country: str | None = None) -> PlateText | None:
        """Read an RGB uint8 plate crop; see the module docstring for when the fallback reads.

        The decisions use the primary's own confidence (``below`` is on that scale); the reading returned
        is calibrated by the primary's :class:`~numberplate.calibration.Calibration`, or, when
        the fallback's reading wins, by the primary's ``fallback_calibration`` (both identity for a primary
        without them).
        """
        text, fallback_won = self.read_own(crop, country)
        calibration: Calibration = getattr(self.primary, "fallback_calibration" if fallback_won else "calibration",
                                           IDENTITY)
        return calibration.apply(text)

    def read_own(self, crop: np.ndarray, country: str | None = None) -> tuple[PlateText | None, bool]:
        """The cascade's reading before calibration (the winner's own score), and whether the fallback's won."""
        first = own_scores(self.primary)(crop, country)
        unsure = first is None or first.confidence < self.below
        if not unsure and not unsure_province(first):
            return first, False
        fallback = self._load_fallback()
        if fallback is None:
            return first, False
        second = fallback.read(crop, country)
        first = settle_province(first, second)
        if first is not None and first.confidence >= self.below:
            return first, False
        return choose_reading(first, second, country)

    def _load_fallback(self) -> Recognizer | None:
        if self._fallback is None and not self._unavailable:
            with self._lock:
                if self._fallback is None and not self._unavailable:
                    try:
                        self._fallback = self._factory()
                    except (BackendUnavailableError, ModelLoadError) as e:
                        # A missing optional backend must not stop the primary reader from working.
                        log.warning("OCR fallback %s unavailable, reading with %s alone: %s",
                                    self.fallback_name, self.primary.name, e)
                        self._unavailable = True
        return self._fallback


def choose(first: PlateText | None, second: PlateText | None, country: str | None = None) -> PlateText | None:
    """The surer of two readings of one plate.

    The second reading is re-scored through :func:`numberplate.formats.postprocess_text` for the
    country (look-alike fixes, candidates), and wins when it is surer than the first, except that
    with a country hint a first reading that fits the country's layouts is not replaced by one that
    does not. The winner lists the loser's text among its candidates.

    A general text recogniser trained on Chinese (RapidOCR's) tends to put a province character, or
    any Chinese character that a shape at the plate's edge resembles, in front of a Latin plate
    (粤KHAN91, 招AJG1749 for a German DA JG 1749 beside its blue band). Unless the hint is China, the
    second reading's Chinese characters are dropped when the first reading, whose model reads
    Chinese plates, saw none.
    """
    return choose_reading(first, second, country)[0]


def choose_reading(first: PlateText | None, second: PlateText | None, country: str | None = None
                   ) -> tuple[PlateText | None, bool]:
    """:func:`choose`, and whether the second reading won (its re-scored reading is returned then)."""
    if second is None or not second.text:
        return first, False
    text = second.text
    if first is not None and first.text and not is_china(country) and not any(map(is_cjk, first.text)):
        text = "".join(c for c in text if not is_cjk(c))
        if not text:
            return first, False
    second = postprocess_text(text, min(max(second.confidence, 0.0), 1.0), country, confidence_kind="char")
    if first is None or not first.text:
        return second, True
    if second.confidence <= first.confidence:
        return _with_candidates(first, second), False
    if country and first.pattern_matched and match(second.text, country) is None:
        return _with_candidates(first, second), False
    return _with_candidates(second, first), True


def settle_province(first: PlateText | None, second: PlateText | None) -> PlateText | None:
    """``first`` with ``second``'s province character, where ``first``'s is unsure and the rest agrees.

    Applies when ``first`` starts with a Chinese character of confidence under ``PROVINCE_BELOW``,
    and ``second`` (normalised as plate text) starts with a different Chinese character followed by
    exactly ``first``'s other characters. The province's confidence becomes the second reader's, and
    the reading's confidence is rescaled by the same factor; ``first``'s readings with its own province
    stay among the candidates, scaled to what the second reader leaves that province.
    Otherwise ``first`` is returned unchanged.
    """
    if first is None or second is None or not unsure_province(first):
        return first
    other = clean_plate_text(second.text)
    if len(other) != len(first.text) or other[1:] != first.text[1:] or not is_cjk(other[0]) \
            or other[0] == first.text[0]:
        return first
    if first.pattern_matched and first.country and match(other, first.country) is None:
        return first
    old = first.char_confidences[0]
    new = min(max(second.confidence, 0.0), 1.0)
    confidence = min(first.confidence * new / max(old, 1e-6), 1.0)
    # The first reader's own province keeps what the second reader leaves it (1 - new).
    kept = min((1.0 - new) / max(old, 1e-6), 1.0)
    candidates = [Candidate(c.text, c.confidence * kept if c.text[:1] == first.text[0] else c.confidence)
                  for c in first.candidates if c.text != other]
    return dataclasses.replace(
        first,
        text=other,
        confidence=confidence,
        char_confidences=(new, *first.char_confidences[1:]),
        candidates=(Candidate(other, confidence), *candidates),
    )


def unsure_province(reading: PlateText | None) -> bool:
    """Whether ``reading`` starts with a Chinese (province) character read with confidence under ``PROVINCE_BELOW``."""
    return (reading is not None and bool(reading.text) and is_cjk(reading.text[0])
            and bool(reading.char_confidences) and reading.char_confidences[0] < PROVINCE_BELOW)


def _with_candidates(winner: PlateText, loser: PlateText) -> PlateText:
    """``winner`` with ``loser``'s text appended to its candidates when not already there."""
    if loser.text == winner.text or any(c.text == loser.text for c in winner.candidates):
        return winner
    return dataclasses.replace(winner, candidates=(*winner.candidates, Candidate(loser.text, loser.confidence)))
