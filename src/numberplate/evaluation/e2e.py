"""End-to-end metrics: detector + recogniser on whole scenes whose plates have box and text labels.

Labels file (CSV, documented in ``data/e2e/README.md``)::

    image,xmin,ymin,xmax,ymax,text,legible,source

``image`` is relative to the data root (``../shared/data``). A row with ``legible`` = ``no`` marks a plate
that is there but cannot be read with certainty: it is not scored for text, and reads on it are not false.
A plate counts as **read** when a predicted box overlaps it with IoU >= 0.5 and the predicted text equals
the label exactly. A **false read** is a predicted plate with text whose box overlaps no known plate: the
labelled ones, and every box the detection labels (``detect/labels.csv``) give for the same image.
"""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from numberplate.calibration import calibration_error
from numberplate.datasets.labels import RepeatedRows, parse_box, read_csv_rows
from numberplate.errors import DatasetError, ImageError
from numberplate.evaluation.ocr import char_accuracy, label_text
from numberplate.imaging import load_image
from numberplate.pipeline import Reader
from numberplate.types import BoundingBox, Detection, PlateRead

E2E_COLUMNS = ("image", "xmin", "ymin", "xmax", "ymax", "text", "legible", "source")
IOU_MATCH = 0.5


@dataclass(frozen=True)
class E2eLabel:
    """One labelled plate in a scene: its box, and its text when it is legible."""

    image: str
    box: BoundingBox
    text: str | None
    source: str
    where: str = dataclasses.field(default="", compare=False)  # "labels.csv:12": its row, for messages


def read_e2e_labels(path: Path) -> list[E2eLabel]:
    """The rows of an e2e labels CSV; texts normalised by :func:`~numberplate.evaluation.ocr.label_text`.

    A row that repeats an earlier one (the same image, box and text) is dropped with a warning: it would
    count its plate twice, once as missed.

    Raises:
        DatasetError: the file cannot be read, lacks a column, or has a malformed row.
    """
    labels = []
    repeats = RepeatedRows()
    for line, row in read_csv_rows(path, E2E_COLUMNS, "e2e labels"):
        where = f"{path}:{line}"
        if not (row["image"] or "").strip():
            raise DatasetError(f"{where}: the image column is empty")
        box = parse_box(row, where)
        legible = (row["legible"] or "").strip().lower()
        if legible not in ("yes", "no"):
            raise DatasetError(f"{where}: legible must be yes or no, got {row['legible']!r}")
        text = label_text(row["text"]) if legible == "yes" else None
        if legible == "yes" and not text:
            raise DatasetError(f"{where}: a legible plate needs its text")
        label = E2eLabel(row["image"].strip(), box, text, row["source"] or "unknown", where)
        if not repeats.repeated((label.image, label.box, label.text, label.source), line):
            labels.append(label)
    repeats.warn(path, "the same image, box and text")
    return labels


def match(labels: Sequence[BoundingBox], predicted: Sequence[BoundingBox], iou: float = IOU_MATCH
          ) -> dict[int, int]:
    """Greedy one-to-one matching by IoU (best pairs first): ``{label index: prediction index}``."""
    pairs = sorted(
        ((a.iou(b), i, j) for i, a in enumerate(labels) for j, b in enumerate(predicted) if a.iou(b) >= iou),
        reverse=True,
    )
    used_l: set[int] = set()
    used_p: set[int] = set()
    out = {}
    for _, i, j in pairs:
        if i not in used_l and j not in used_p:
            out[i] = j
            used_l.add(i)
            used_p.add(j)
    return out


@dataclass
class _Tally:
    images: int = 0
    plates: int = 0
    detected: int = 0
    read: int = 0
    char_sum: float = 0.0
    false_reads: int = 0
    seconds: float = 0.0
    stable: int = 0
    soft: float = 0.0
    # Of each detected plate with a text label: the read's confidence (0 without text), and whether it is right.
    confidences: list[float] = dataclasses.field(default_factory=list)
    right: list[bool] = dataclasses.field(default_factory=list)

    def row(self) -> dict[str, Any]:
        nan = float("nan")
        return {
            "images": self.images,
            "plates": self.plates,
            "detected": self.detected / self.plates if self.plates else nan,
            "read": self.read / self.plates if self.plates else nan,
            "read_if_detected": self.read / self.detected if self.detected else nan,
            "char_accuracy": self.char_sum / self.plates if self.plates else nan,
            "false_reads": self.false_reads,
            "ms_per_image": 1000 * self.seconds / self.images if self.images else nan,
            "stable": self.stable / self.plates if self.plates else nan,
            "soft": self.soft / self.plates if self.plates else nan,
            "calibration_error": calibration_error(self.confidences, self.right),
        }


def _jittered_read(reader: Reader, image: np.ndarray, detection: Detection, px: int,
                   rng: np.random.Generator) -> str:
    """The text read from ``detection``'s box with each side moved by a random -px..px pixels.

    A detection with corners is read from them (rectified), so they move with the sides they lie on.
    """
    b = detection.box
    dx0, dy0, dx1, dy1 = (int(d) for d in rng.integers(-px, px + 1, 4))
    x0, y0 = b.xmin + dx0, b.ymin + dy0
    box = BoundingBox(x0, y0, max(b.xmax + dx1, x0 + 1), max(b.ymax + dy1, y0 + 1))
    corners = detection.corners
    if corners is not None:
        tl, tr, br, bl = corners
        corners = ((tl[0] + dx0, tl[1] + dy0), (tr[0] + dx1, tr[1] + dy0),
                   (br[0] + dx1, br[1] + dy1), (bl[0] + dx0, bl[1] + dy1))
    text, _ = reader.read_detection(image, dataclasses.replace(detection, box=box, corners=corners))
    return text.text if text else ""


def evaluate_e2e(
    reader: Reader,
    labels: Iterable[E2eLabel],
    root: Path,
    known_boxes: Mapping[str, Sequence[BoundingBox]] | None = None,
    jitter: int = 0,
    jitter_reads: int = 4,
) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Read every labelled scene with ``reader``; per-source metrics (plus ``all``), and one record per scored
    plate and per false read (``false_read`` true, ``truth`` ``None``, with its ``box``).

    Args:
        reader: the pipeline to evaluate (its detector threshold and OCR backend as configured).
        labels: the e2e labels.
        root: folder the labels' image paths are relative to.
        known_boxes: every boxed plate per image (e.g. from the detection labels), so that reads of
            plates without a text label are not counted as false reads.
        jitter: with ``jitter`` > 0, each detected plate is read again from ``jitter_reads`` boxes
            whose sides move by up to ``jitter`` px (seeded); ``stable`` is the share of plates read
            right from its box and every one of them: how little the reads hang on where the detector's
            edges fall; ``soft`` is the mean exact read over the box and them (an undetected plate counts
            0): the read rate under box noise, which moves less than ``read`` between two models whose
            reads of the same edge-sensitive plates flip (without jitter both equal ``read``).
        jitter_reads: the jittered boxes read per detected plate.

    Raises:
        DatasetError: an image cannot be read (the message names its labels row).
    """
    rng = np.random.default_rng(0)
    by_image: dict[str, list[E2eLabel]] = defaultdict(list)
    for label in labels:
        by_image[label.image].append(label)
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    records: list[dict[str, Any]] = []
    for image_path, plates in sorted(by_image.items()):
        try:
            image = load_image(root / image_path)
        except (ImageError, OSError) as e:
            raise DatasetError(f"{plates[0].where or image_path}: {e}") from e
        t0 = time.perf_counter()
        reads: list[PlateRead] = reader.read_array(image)
        dt = time.perf_counter() - t0
        source = plates[0].source
        for key in (source, "all"):
            tallies[key].images += 1
            tallies[key].seconds += dt
        predicted = [r.detection.box for r in reads]
        matched = match([p.box for p in plates], predicted)
        for i, label in enumerate(plates):
            if label.text is None:
                continue
            j = matched.get(i)
            plate_text = reads[j].text if j is not None else None
            text = plate_text.text if plate_text else ""
            # Every detected plate draws its boxes, right or not, so a plate's boxes do not hang on other reads.
            jittered = [] if j is None or jitter <= 0 else [
                _jittered_read(reader, image, reads[j].detection, jitter, rng) == label.text
                for _ in range(jitter_reads)]
            right = text == label.text
            stable = j is not None and right and all(jittered)
            soft = (right + sum(jittered)) / (1 + len(jittered)) if j is not None else 0.0
            for key in (source, "all"):
                t = tallies[key]
                t.plates += 1
                t.detected += j is not None
                t.read += right
                t.char_sum += char_accuracy(text, label.text)
                t.stable += stable
                t.soft += soft
                if j is not None:
                    t.confidences.append(min(max(plate_text.confidence, 0.0), 1.0) if plate_text else 0.0)
                    t.right.append(right)
            records.append({"image": image_path, "truth": label.text, "read": text or None,
                            "confidence": plate_text.confidence if plate_text else None,
                            "detected": j is not None, "source": source, "false_read": False})
        known = [p.box for p in plates] + list((known_boxes or {}).get(image_path, ()))
        for read in reads:
            if read.text and read.text.text and all(read.detection.box.iou(k) < IOU_MATCH for k in known):
                for key in (source, "all"):
                    tallies[key].false_reads += 1
                b = read.detection.box
                records.append({"image": image_path, "truth": None, "read": read.text.text,
                                "confidence": read.text.confidence, "detected": True, "source": source,
                                "false_read": True, "box": [round(v) for v in (b.xmin, b.ymin, b.xmax, b.ymax)]})
    table = {k: tallies[k].row() for k in sorted(tallies, key=lambda s: (s == "all", s))}
    return table, records
