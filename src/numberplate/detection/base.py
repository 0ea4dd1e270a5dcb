"""The Detector protocol: an RGB image in, plate detections in original-image pixels out."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from numberplate.types import Detection


@runtime_checkable
class Detector(Protocol):
    """Finds number plates in an image."""

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Return every plate in an RGB uint8 (H, W, 3) image, best first."""
        ...
