"""The Detector protocol: an RGB image in, plate detections in original-image pixels out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np

from numberplate.types import Detection


@runtime_checkable
class Detector(Protocol):
    """Finds number plates in an image."""

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Return every plate in an RGB uint8 (H, W, 3) image, best first."""
        ...


def own_detections(detector: Detector) -> Callable[[np.ndarray], list[Detection]]:
    """``detector``'s detect with its own, uncalibrated scores (``detect_uncalibrated`` where it has one).

    For decisions whose thresholds are on those scores: the verifier's re-scoring, and the training tools.
    """
    return getattr(detector, "detect_uncalibrated", detector.detect)
