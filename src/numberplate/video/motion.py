"""A tracked plate's direction of travel in the picture, and whether it approaches, leaves, crosses or stands."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from numberplate.types import BoundingBox

Motion = Literal["approaching", "leaving", "crossing", "stationary"]
MOTIONS: tuple[Motion, ...] = ("approaching", "leaving", "crossing", "stationary")

GROWTH = 1.25
"""Height ratio (last over first, from the fitted trend) at which a plate approaches (>= 1.25) or leaves
(<= 1/1.25 = 0.8): a box's height jitters by a pixel or two on a 15-30 px plate (up to ~10%), and a car
that drives a few metres towards or away from a camera changes it by far more than 25%."""
MIN_TRAVEL = 0.5
"""Distance the box centre must move over the track, in the plate's own (median) widths, to have a direction
and to be ``crossing``: detection jitter is well under a tenth of a width; half a width is a visible move."""
MAX_POINTS = 200  # boxes used for the fit (evenly spaced): the pairwise fit is quadratic in their number
END_POINTS = 3
"""Boxes at each end of a track whose medians give its change from start to end too: one stray box among them
does not count, and few enough that a car which drove up in a second or two, sampled at 2 fps, has them all
moving (a track shorter than three times as many has only its Theil-Sen fit)."""


@dataclass(frozen=True)
class Travel:
    """How a plate moved over its track.

    Attributes:
        direction: angle of the box centre's motion in degrees, 0 = to the right of the picture, 90 = up,
            counter-clockwise (0 <= direction < 360); None when it moved less than :data:`MIN_TRAVEL`.
        motion: ``approaching`` / ``leaving`` (its height grew / shrank by :data:`GROWTH`), else ``crossing``
            (moved at least :data:`MIN_TRAVEL` plate widths) or ``stationary``; None for a plate seen once.
        growth: its height at the end over its height at the start (from the fitted trend or the end medians).
        travel: the distance its centre moved, in plate widths.
    """

    direction: float | None
    motion: Motion | None
    growth: float = 1.0
    travel: float = 0.0


def _slope(t: np.ndarray, v: np.ndarray) -> float:
    """Theil-Sen slope of ``v`` over ``t``: the median of the slopes between every pair of points, so that one
    noisy frame (a box half its size, a jump) moves it little, where a least-squares line would follow it."""
    i, j = np.triu_indices(len(t), k=1)
    dt = t[j] - t[i]
    keep = dt > 0
    if not keep.any():
        return 0.0
    return float(np.median((v[j] - v[i])[keep] / dt[keep]))


def _ends(v: np.ndarray) -> float:
    """Change of ``v`` from the median of its first :data:`END_POINTS` values to that of its last ones; 0 for a
    track under three times as long. A car that drives up and then stands at the gate for longer than
    it drove has a Theil-Sen slope near 0 (most pairs of its frames are both standing), but these medians differ."""
    if len(v) < 3 * END_POINTS:
        return 0.0
    return float(np.median(v[-END_POINTS:]) - np.median(v[:END_POINTS]))


def travel(times: Sequence[float], boxes: Sequence[BoundingBox]) -> Travel:
    """A plate's :class:`Travel` from its box in each frame it was seen in, at those times (seconds).

    The centre's x and y and the log of the box height are each fitted against time with a robust line
    (Theil-Sen); the change over the track is the slope times its duration, or the change between the medians of
    its first and last few boxes where that is larger (a plate that moved and then stopped, or the reverse).
    """
    if len(boxes) != len(times):
        raise ValueError(f"{len(boxes)} boxes for {len(times)} times")
    if len(boxes) < 2:
        return Travel(None, None)
    keep = np.unique(np.linspace(0, len(boxes) - 1, min(len(boxes), MAX_POINTS)).round().astype(int))
    t = np.asarray(times, dtype=float)[keep]
    chosen = [boxes[k] for k in keep]
    cx = np.array([b.center[0] for b in chosen])
    cy = np.array([b.center[1] for b in chosen])
    log_h = np.log(np.array([max(b.height, 1.0) for b in chosen]))
    size = max(float(np.median([b.width for b in chosen])), 1.0)
    span = float(t.max() - t.min())
    if span <= 0:  # every box at one time: nothing to fit over
        span, t = float(len(t) - 1), np.arange(len(t), dtype=float)
    trend = (_slope(t, cx) * span, _slope(t, cy) * span)
    dx, dy = max(trend, (_ends(cx), _ends(cy)), key=lambda d: math.hypot(*d))
    growth = math.exp(max(_slope(t, log_h) * span, _ends(log_h), key=abs))
    moved = math.hypot(dx, dy) / size
    direction = math.degrees(math.atan2(-dy, dx)) % 360.0 if moved >= MIN_TRAVEL else None  # y grows downwards
    if growth >= GROWTH:
        motion: Motion = "approaching"
    elif growth <= 1.0 / GROWTH:
        motion = "leaving"
    else:
        motion = "crossing" if moved >= MIN_TRAVEL else "stationary"
    return Travel(direction, motion, growth, moved)


__all__ = ["END_POINTS", "GROWTH", "MIN_TRAVEL", "MOTIONS", "Motion", "Travel", "travel"]
