"""Hard negatives: what a detector finds in the train scenes where the labels have no plate.

The shipped detector's false positives on val are signs, stickers, badges and Egyptian motorcycle
parts, and also real plates the labels leave unboxed (about half, docs/results.md). Training crops
centred on the first kind teach the detector to leave them; the second kind must not be taught as
background, so a found box that the recogniser reads as a plate of a known layout is left out.

File format (CSV): ``image,xmin,ymin,xmax,ymax,width,height,score`` — the box in the pixels of the
decoded scene of ``width`` x ``height`` (the training scenes' size; rescaled when they differ).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from numberplate.datasets.labels import parse_box, parse_size, read_csv_rows
from numberplate.detection.base import Detector, own_detections
from numberplate.formats.patterns import AUTO
from numberplate.recognition.base import Recognizer, own_scores
from numberplate.recognition.crop import crop_plate
from numberplate.train.detect.data import Scene
from numberplate.types import BoundingBox, PlateText

HARD_COLUMNS = ("image", "xmin", "ymin", "xmax", "ymax", "width", "height", "score")


@dataclass(frozen=True)
class HardNegative:
    """A box a detector scored as a plate in a scene where the labels have none there."""

    image: str
    box: BoundingBox
    width: int
    height: int
    score: float


def looks_like_plate(reading: PlateText | None, min_confidence: float) -> bool:
    """Whether a reading fits a known plate layout with at least ``min_confidence``: an unlabelled plate."""
    return reading is not None and bool(reading.pattern_matched) and reading.confidence >= min_confidence


def mine_hard_negatives(
    scenes: Iterable[Scene],
    detector: Detector,
    recognizer: Recognizer | None = None,
    min_score: float = 0.3,
    max_iou: float = 0.1,
    plate_confidence: float = 0.3,
) -> Iterator[HardNegative]:
    """The detections of ``detector`` in ``scenes`` that overlap no labelled plate.

    Args:
        scenes: decoded labelled scenes (:func:`numberplate.train.detect.data.iter_scenes`).
        detector: its threshold should be at most ``min_score``.
        recognizer: when given, a box it reads as a plate (:func:`looks_like_plate`) is skipped.
        min_score: detections scored lower are ignored.
        max_iou: a detection overlapping a labelled box by this much or more is not a negative.
        plate_confidence: the reading confidence above which a box is taken for an unlabelled plate.
    """
    for scene in scenes:
        h, w = scene.image.shape[:2]
        labels = [BoundingBox(*map(float, b)) for b in scene.boxes]
        for det in own_detections(detector)(scene.image):
            if det.confidence < min_score or any(det.box.iou(b) >= max_iou for b in labels):
                continue
            # Read against every country's layouts: without a country a reading is not checked at all.
            if recognizer is not None and looks_like_plate(own_scores(recognizer)(crop_plate(scene.image, det), AUTO),
                                                           plate_confidence):
                continue
            yield HardNegative(scene.path, det.box, w, h, det.confidence)


def write_hard_negatives(rows: Iterable[HardNegative], path: Path) -> int:
    """Write hard negatives as CSV (see the module docstring); the number written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HARD_COLUMNS)
        for r in rows:
            b = r.box
            out.writerow([r.image, f"{b.xmin:.1f}", f"{b.ymin:.1f}", f"{b.xmax:.1f}", f"{b.ymax:.1f}",
                          r.width, r.height, f"{r.score:.3f}"])
            n += 1
    return n


def read_hard_negatives(path: Path) -> dict[str, list[tuple[np.ndarray, tuple[int, int]]]]:
    """Hard-negative boxes per image, each with the scene size it was found at.

    Raises:
        DatasetError: the file cannot be read, lacks a column or has a malformed row.
    """
    out: dict[str, list[tuple[np.ndarray, tuple[int, int]]]] = defaultdict(list)
    for line, row in read_csv_rows(path, HARD_COLUMNS, "hard negatives"):
        where = f"{path}:{line}"
        b = parse_box(row, where)
        size = (parse_size(row["width"], "width", where), parse_size(row["height"], "height", where))
        out[row["image"]].append((np.array([b.xmin, b.ymin, b.xmax, b.ymax], np.float32), size))
    return dict(out)


def attach_hard_negatives(scenes: Iterable[Scene], hard: dict[str, list[tuple[np.ndarray, tuple[int, int]]]]) -> int:
    """Set each scene's ``hard`` boxes from :func:`read_hard_negatives` (rescaled to its size); the count set."""
    n = 0
    for scene in scenes:
        rows = hard.get(scene.path)
        if not rows:
            continue
        h, w = scene.image.shape[:2]
        scene.hard = np.stack([box * np.array([w / sw, h / sh, w / sw, h / sh], np.float32)
                               for box, (sw, sh) in rows])
        n += len(rows)
    return n
