"""The Recognizer protocol: a plate crop in, its text (or None when nothing legible) out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np

from numberplate.types import PlateText


@runtime_checkable
class Recognizer(Protocol):
    """Reads the characters on a cropped plate."""

    name: str

    def read(self, crop: np.ndarray, country: str | None = None) -> PlateText | None:
        """Read an RGB uint8 plate crop; ``country`` is an optional ISO 3166 alpha-2 hint."""
        ...


def own_scores(recognizer: Recognizer) -> Callable[[np.ndarray, str | None], PlateText | None]:
    """``recognizer``'s read with its own, uncalibrated confidences (``read_uncalibrated`` where it has one).

    For decisions whose thresholds were set on those scores: the cascade's, and the training tools'
    (pseudo-labels, mined negatives).
    """
    return getattr(recognizer, "read_uncalibrated", recognizer.read)
