"""Result dataclasses shared by every pipeline stage; each has ``to_dict()`` for JSON output."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class BoundingBox:
    """Axis-aligned box in pixels of the original (EXIF-rotated) image."""

    xmin: float
    ymin: float
    xmax: float
    ymax: float

    @property
    def width(self) -> float:
        return max(0.0, self.xmax - self.xmin)

    @property
    def height(self) -> float:
        return max(0.0, self.ymax - self.ymin)

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def center(self) -> tuple[float, float]:
        return ((self.xmin + self.xmax) / 2, (self.ymin + self.ymax) / 2)

    def iou(self, other: BoundingBox) -> float:
        """Intersection over union with another box (0 when they do not overlap)."""
        iw = min(self.xmax, other.xmax) - max(self.xmin, other.xmin)
        ih = min(self.ymax, other.ymax) - max(self.ymin, other.ymin)
        if iw <= 0 or ih <= 0:
            return 0.0
        inter = iw * ih
        return inter / (self.area + other.area - inter)

    def clamp(self, width: int, height: int) -> BoundingBox:
        """This box clipped to an image of ``width`` x ``height``."""
        return BoundingBox(
            min(max(self.xmin, 0.0), width),
            min(max(self.ymin, 0.0), height),
            min(max(self.xmax, 0.0), width),
            min(max(self.ymax, 0.0), height),
        )

    def expand(self, fx: float, fy: float | None = None) -> BoundingBox:
        """This box grown by a fraction of its size on each side (``fy`` defaults to ``fx``)."""
        fy = fx if fy is None else fy
        dx, dy = self.width * fx, self.height * fy
        return BoundingBox(self.xmin - dx, self.ymin - dy, self.xmax + dx, self.ymax + dy)

    def to_dict(self) -> dict[str, int]:
        """Integer pixel coordinates, as in the JSON schema."""
        return {"xmin": round(self.xmin), "ymin": round(self.ymin), "xmax": round(self.xmax), "ymax": round(self.ymax)}


Point = tuple[float, float]


@dataclass(frozen=True)
class Detection:
    """A plate found by a detector: its box, optional four corners (TL, TR, BR, BL) and confidence."""

    box: BoundingBox
    confidence: float
    corners: tuple[Point, Point, Point, Point] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "box": self.box.to_dict(),
            "confidence": round(self.confidence, 4),
            "corners": [[round(x, 1), round(y, 1)] for x, y in self.corners] if self.corners else None,
        }


@dataclass(frozen=True)
class Candidate:
    """One possible reading of a plate with its confidence."""

    text: str
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "confidence": round(self.confidence, 4)}


@dataclass(frozen=True)
class PlateText:
    """What a recogniser read: best text, confidence, per-character confidences and alternatives."""

    text: str
    confidence: float
    char_confidences: tuple[float, ...] = ()
    candidates: tuple[Candidate, ...] = ()
    country: str | None = None
    pattern_matched: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "confidence": round(self.confidence, 4),
            "char_confidences": [round(c, 4) for c in self.char_confidences],
            "candidates": [c.to_dict() for c in self.candidates],
            "country": self.country,
            "pattern_matched": self.pattern_matched,
        }


@dataclass(frozen=True)
class VehicleInfo:
    """Registered details of a vehicle, as far as the provider knows them."""

    plate: str
    source: str
    make: str | None = None
    model: str | None = None
    colour: str | None = None
    fuel: str | None = None
    year: int | None = None
    engine_size: str | None = None
    body: str | None = None
    registration_date: str | None = None
    tax_status: str | None = None
    inspection_status: str | None = None
    vin: str | None = None
    description: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Every field except the raw provider payload."""
        return {k: v for k, v in self.__dict__.items() if k != "raw"}


@dataclass(frozen=True)
class PlateRead:
    """One plate in an image: where it is, what it says, and optionally the vehicle behind it."""

    detection: Detection
    text: PlateText | None
    vehicle: VehicleInfo | None = None
    lookup_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The per-plate object of the JSON schema documented in the README."""
        text = self.text
        return {
            "text": text.text if text else None,
            "confidence": round(text.confidence, 4) if text else 0.0,
            "box": self.detection.box.to_dict(),
            "corners": self.detection.to_dict()["corners"],
            "detection_confidence": round(self.detection.confidence, 4),
            "candidates": [c.to_dict() for c in text.candidates] if text else [],
            "country": text.country if text else None,
            "vehicle": self.vehicle.to_dict() if self.vehicle else None,
            "lookup_error": self.lookup_error,
        }


@dataclass(frozen=True)
class ImageResult:
    """All plates read in one image, with its size and how long reading took."""

    width: int
    height: int
    plates: tuple[PlateRead, ...]
    processing_time_ms: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "height": self.height,
            "processing_time_ms": round(self.processing_time_ms, 1),
            "plates": [p.to_dict() for p in self.plates],
        }
