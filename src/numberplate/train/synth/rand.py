"""Scalar random draws that are cheap in a tight rendering loop (``rng.random()`` beats ``rng.uniform()``)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    """Random float in [lo, hi)."""
    return lo + (hi - lo) * rng.random()


def randint(rng: np.random.Generator, lo: int, hi: int) -> int:
    """Random integer in [lo, hi)."""
    return lo + int(rng.random() * (hi - lo))


def pick(rng: np.random.Generator, options: Sequence[T]) -> T:
    """One element of a non-empty sequence, uniformly."""
    return options[int(rng.random() * len(options))]


def weighted_index(rng: np.random.Generator, weights: Sequence[float]) -> int:
    """An index drawn with probability proportional to its weight."""
    cum = list(accumulate(weights))
    return min(bisect_right(cum, rng.random() * cum[-1]), len(cum) - 1)
