"""Detection zones: polygons in fractions of the frame, inside which a plate counts (a fixed camera's gate lane).

    >>> zone = parse_zone("0.1,0.5 0.9,0.5 0.9,1 0.1,1")
    >>> zone.contains(0.5, 0.75), zone.contains(0.5, 0.2)
    (True, False)
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from numberplate.types import BoundingBox, Detection

if TYPE_CHECKING:
    from numberplate.detection.base import Detector
    from numberplate.pipeline import Reader

MAX_ZONE_POINTS = 64
MAX_ZONES = 16
MAX_ZONE_TEXT = 2048  # characters of one zone: 64 points of "0.123456,0.123456 " fit
ZONE_SYNTAX = ("points 'x,y x,y x,y ...' (3 to 64), each x and y a fraction (0 to 1) of the width and height of "
               "the image (of a video, its frames)")
DECIMAL_RE = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
"""A number in ASCII decimals (the API's and the zones'): float() would also take "nan", "inf", "1_0" and full-width
digits."""
_MIN_AREA = 1e-6  # of the frame: a zone smaller than a thousandth of its width by a thousandth of its height


class ZoneError(ValueError):
    """A zone's text is not a valid polygon (the message says why and how to write one)."""


@dataclass(frozen=True)
class Zone:
    """A simple polygon (not self-intersecting, of non-zero area) in fractions of the frame: x right, y down.

    Build one with :func:`parse_zone`, which checks it; a point on the edge is inside.
    """

    points: tuple[tuple[float, float], ...]

    def contains(self, x: float, y: float) -> bool:
        """Whether the point ``(x, y)`` (fractions of the frame) lies inside the polygon or on its edge."""
        inside = False
        pts = self.points
        for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1], strict=True):
            if _on_segment((x, y), (x0, y0), (x1, y1)):
                return True
            # Crossing number: count the edges a ray from the point towards +x crosses (half-open in y, so a
            # vertex at the ray's height is counted once).
            if (y0 > y) != (y1 > y):
                cross_x = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
                if x < cross_x:
                    inside = not inside
        return inside

    def to_text(self) -> str:
        """The zone as :func:`parse_zone` reads it."""
        return " ".join(f"{x + 0.0:g},{y + 0.0:g}" for x, y in self.points)  # + 0.0: -0.0 is written 0


def parse_zone(text: str) -> Zone:
    """A zone from its text, ``"x,y x,y x,y ..."``: 3 to :data:`MAX_ZONE_POINTS` points in fractions (0-1).

    Raises:
        ZoneError: too few or too many points, a value that is not a number from 0 to 1, a repeated point,
            edges that cross or fold back, or no area.
    """
    shown = repr(text[:40] + ("..." if len(text) > 40 else ""))
    if len(text) > MAX_ZONE_TEXT:
        raise ZoneError(f"zone {shown} is {len(text)} characters long; at most {MAX_ZONE_TEXT}: {ZONE_SYNTAX}")
    tokens = text.split()
    if not 3 <= len(tokens) <= MAX_ZONE_POINTS:
        raise ZoneError(f"zone {shown} has {len(tokens)} point(s); it needs {ZONE_SYNTAX}")
    points = tuple(_point(token, shown) for token in tokens)
    if len(set(points)) < len(points):
        raise ZoneError(f"zone {shown} repeats a point; give each corner once, {ZONE_SYNTAX}")
    if all(_orient(points[0], points[1], p) == 0 for p in points[2:]):
        raise ZoneError(f"zone {shown} has no area: its points lie on a line")
    if _crossing(points):
        raise ZoneError(f"zone {shown} crosses itself: list the corners in order around the area "
                        "(clockwise or anticlockwise)")
    if abs(_area(points)) < _MIN_AREA:
        raise ZoneError(f"zone {shown} has almost no area (under {_MIN_AREA:g} of the frame)")
    return Zone(points)


def parse_zones(texts: Iterable[str]) -> tuple[Zone, ...]:
    """Zones from their texts (:func:`parse_zone`); at most :data:`MAX_ZONES`.

    Raises:
        ZoneError: one zone is invalid, or there are too many.
    """
    texts = list(texts)
    if len(texts) > MAX_ZONES:
        raise ZoneError(f"{len(texts)} zones given; at most {MAX_ZONES}")
    return tuple(parse_zone(t) for t in texts)


class CameraZones(Mapping[str, tuple[Zone, ...]]):
    """The detection zones of fixed cameras (the ``zones`` setting): camera id -> its zones; immutable and hashable.

    A read that comes with one of these camera ids and no zones of its own counts only the plates in the
    camera's zones (:meth:`zones_for`). Build one from config text with ``load_config`` (which checks the camera
    ids and the zones) or from parsed zones: ``CameraZones({"gate": parse_zones([...])})``.
    """

    __slots__ = ("_cameras",)

    def __init__(self, cameras: Mapping[str, Iterable[Zone]] | None = None):
        self._cameras: dict[str, tuple[Zone, ...]] = {
            camera: tuple(zones) for camera, zones in (cameras or {}).items()
        }

    def zones_for(self, camera_id: str | None, zones: Sequence[Zone] = ()) -> tuple[Zone, ...]:
        """The zones a read counts plates in: ``zones`` given with the read when there are any (they override the
        camera's), else the zones of ``camera_id``; none (every plate counts) for a camera without zones."""
        if zones:
            return tuple(zones)
        return self._cameras.get(camera_id, ()) if camera_id is not None else ()

    def to_json(self) -> str:
        """The cameras and their zones as the ``NUMBERPLATE_ZONES`` environment variable takes them."""
        return json.dumps({camera: [z.to_text() for z in zones] for camera, zones in self._cameras.items()},
                          ensure_ascii=False)

    def __getitem__(self, camera_id: str) -> tuple[Zone, ...]:
        return self._cameras[camera_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._cameras)

    def __len__(self) -> int:
        return len(self._cameras)

    def __hash__(self) -> int:
        return hash(frozenset(self._cameras.items()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CameraZones) and self._cameras == other._cameras

    def __deepcopy__(self, memo: dict[int, Any]) -> CameraZones:
        return self  # immutable (dataclasses.asdict deep-copies a Config's values)

    def __repr__(self) -> str:
        return f"CameraZones({self.to_json()})"

    __str__ = to_json  # the settings page shows a setting as str(value)


def in_zones(box: BoundingBox, width: int, height: int, zones: Sequence[Zone]) -> bool:
    """Whether a box's centre, in a ``width`` x ``height`` frame, lies in any of ``zones``; no zones: True."""
    if not zones:
        return True
    cx, cy = box.center
    x, y = cx / max(width, 1), cy / max(height, 1)
    return any(zone.contains(x, y) for zone in zones)


class ZonedDetector:
    """A detector that keeps only the plates whose box centre lies in one of ``zones``: the plates outside are
    never read (nor looked up)."""

    def __init__(self, detector: Detector, zones: Sequence[Zone]):
        self.detector = detector
        self.zones = tuple(zones)

    def detect(self, image: np.ndarray) -> list[Detection]:
        """The inner detector's plates in ``image`` that lie in a zone, best first."""
        h, w = image.shape[:2]
        return [d for d in self.detector.detect(image) if in_zones(d.box, w, h, self.zones)]


def zoned_reader(reader: Reader, zones: Sequence[Zone]) -> Reader:
    """``reader`` (the same loaded models and lookup) reading only the plates in ``zones``; itself when none."""
    if not zones:
        return reader
    from numberplate.pipeline import Reader

    return Reader(ZonedDetector(reader.detector, zones), reader.recognizer, reader.lookup, reader.config)


def _point(token: str, shown: str) -> tuple[float, float]:
    parts = token.split(",")
    if len(parts) != 2:
        raise ZoneError(f"zone {shown}: {token[:20]!r} is not a point x,y; {ZONE_SYNTAX}")
    values = []
    for part in parts:
        value = float(part) if DECIMAL_RE.fullmatch(part) else math.nan
        if not 0.0 <= value <= 1.0:  # NaN fails too
            raise ZoneError(f"zone {shown}: {part[:20]!r} is not a number from 0 to 1; {ZONE_SYNTAX}")
        values.append(value + 0.0)  # "-0" is 0
    return values[0], values[1]


Point = tuple[float, float]


def _area(points: Sequence[Point]) -> float:
    """Signed area (shoelace)."""
    return 0.5 * sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, [*points[1:], points[0]], strict=True))


def _orient(a: Point, b: Point, c: Point) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def _on_segment(p: Point, a: Point, b: Point) -> bool:
    """Whether ``p`` lies on the segment ``a``-``b`` (to rounding)."""
    if abs(_orient(a, b, p)) > 1e-12 * max(1.0, math.dist(a, b)):
        return False
    return min(a[0], b[0]) - 1e-12 <= p[0] <= max(a[0], b[0]) + 1e-12 and \
        min(a[1], b[1]) - 1e-12 <= p[1] <= max(a[1], b[1]) + 1e-12


def _segments_touch(a: Point, b: Point, c: Point, d: Point) -> bool:
    """Whether segments ``a``-``b`` and ``c``-``d`` share any point."""
    o1, o2, o3, o4 = _orient(a, b, c), _orient(a, b, d), _orient(c, d, a), _orient(c, d, b)
    if ((o1 > 0 > o2) or (o1 < 0 < o2)) and ((o3 > 0 > o4) or (o3 < 0 < o4)):
        return True
    return _on_segment(c, a, b) or _on_segment(d, a, b) or _on_segment(a, c, d) or _on_segment(b, c, d)


def _crossing(points: Sequence[Point]) -> bool:
    """Whether the closed polygon's edges cross or touch, apart from neighbours sharing their corner, or whether
    two neighbouring edges fold back over each other."""
    n = len(points)
    edges = [(points[i], points[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        (a, b), (_, c) = edges[i], edges[(i + 1) % n]
        # Neighbours: they share b; they overlap only when collinear and pointing back.
        if _orient(a, b, c) == 0 and (b[0] - a[0]) * (c[0] - b[0]) + (b[1] - a[1]) * (c[1] - b[1]) < 0:
            return True
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:  # the last edge neighbours the first
                continue
            if _segments_touch(*edges[i], *edges[j]):
                return True
    return False


__all__ = ["MAX_ZONES", "MAX_ZONE_POINTS", "CameraZones", "Zone", "ZoneError", "ZonedDetector", "in_zones",
           "parse_zone", "parse_zones", "zoned_reader"]
