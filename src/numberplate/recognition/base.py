"""The Recognizer protocol: a plate crop in, its text (or None when nothing legible) out."""

from __future__ import annotations

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
