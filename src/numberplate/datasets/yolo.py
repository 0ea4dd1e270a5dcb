"""YOLO label files (``class cx cy w h``, normalised to the image size) to and from labelled-image records."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from numberplate.datasets.labels import (
    DEFAULT_CLASS,
    LabelledBox,
    LabelledImage,
    clip_to_image,
    make_box,
    oriented_size,
    warn_clipped,
)
from numberplate.errors import DatasetError
from numberplate.types import BoundingBox

log = logging.getLogger(__name__)

CLASSES_FILE = "classes.txt"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
# normalised values a hair outside [0, 1] come from float rounding in other tools; accept them
_TOLERANCE = 1e-3


def box_to_yolo(box: BoundingBox, width: int, height: int) -> tuple[float, float, float, float]:
    """``(cx, cy, w, h)`` normalised to the image, after clipping the box to the image."""
    b = box.clamp(width, height)
    return (b.xmin + b.xmax) / 2 / width, (b.ymin + b.ymax) / 2 / height, b.width / width, b.height / height


def yolo_to_box(cx: float, cy: float, w: float, h: float, width: int, height: int) -> BoundingBox:
    """The pixel box of a normalised YOLO ``(cx, cy, w, h)`` in an image of ``width`` x ``height``."""
    return BoundingBox((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height)


def parse_yolo_line(line: str, width: int, height: int, classes: Sequence[str], where: str) -> LabelledBox:
    """One ``class cx cy w h`` line as a pixel box.

    Args:
        line: the line, without its newline.
        width: image width in pixels.
        height: image height in pixels.
        classes: class names by id; when empty, the class id itself is used as name.
        where: file and line number, for error messages.

    Raises:
        DatasetError: wrong field count, a non-integer or unknown class, a non-numeric value, a value
            outside [0, 1], or a zero width or height.
    """
    fields = line.split()
    if len(fields) != 5:
        raise DatasetError(f"{where}: expected 5 fields 'class cx cy w h', got {len(fields)}: {line.strip()!r}")
    try:
        class_id = int(fields[0])
    except ValueError:
        raise DatasetError(f"{where}: class must be a whole number, got {fields[0]!r}") from None
    if class_id < 0 or (classes and class_id >= len(classes)):
        raise DatasetError(f"{where}: class {class_id} is not in {CLASSES_FILE} ({len(classes)} classes)")
    values = []
    for name, text in zip(("cx", "cy", "w", "h"), fields[1:], strict=True):
        try:
            v = float(text)
        except ValueError:
            raise DatasetError(f"{where}: {name} is not a number: {text!r}") from None
        if not (math.isfinite(v) and -_TOLERANCE <= v <= 1 + _TOLERANCE):
            raise DatasetError(f"{where}: {name} = {text} is outside [0, 1]; YOLO coordinates are normalised")
        values.append(v)
    cx, cy, w, h = values
    box = yolo_to_box(cx, cy, w, h, width, height)
    name = classes[class_id] if classes else str(class_id)
    return LabelledBox(make_box(box.xmin, box.ymin, box.xmax, box.ymax, where), name)


def read_yolo_file(path: Path, width: int, height: int, classes: Sequence[str] = ()) -> tuple[LabelledBox, ...]:
    """All boxes of one YOLO label file (blank lines skipped; an empty file is a background image).

    A box that reaches outside the image (its centre near an edge, its size too large) is clipped to it,
    with a warning.

    Raises:
        DatasetError: the file cannot be read or a line is malformed (see :func:`parse_yolo_line`), or a box
            lies wholly outside the image.
    """
    boxes, clipped = _read_yolo_file(path, width, height, classes)
    if clipped:
        log.warning("%s: clipped %d box(es) that reached outside the %dx%d image to it", path, clipped, width, height)
    return boxes


def _read_yolo_file(path: Path, width: int, height: int, classes: Sequence[str]) -> tuple[tuple[LabelledBox, ...], int]:
    """:func:`read_yolo_file` without its warning: the boxes, and how many of them were clipped."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()  # a byte-order mark, as Windows tools write
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"{path}: cannot read YOLO label file ({e})") from e
    boxes = []
    clipped = 0
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        labelled = parse_yolo_line(line, width, height, classes, where)
        box, moved = clip_to_image(labelled.box, width, height, where)
        clipped += moved
        boxes.append(LabelledBox(box, labelled.name))
    return tuple(boxes), clipped


def read_classes(labels_dir: Path) -> list[str]:
    """Class names from ``classes.txt`` in ``labels_dir``, one per line; empty if there is none.

    Raises:
        DatasetError: the file cannot be read, or is not UTF-8 text.
    """
    path = labels_dir / CLASSES_FILE
    if not path.is_file():
        return []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise DatasetError(f"{path}: not UTF-8 text ({e}); save it as UTF-8, one class name per line") from e
    except OSError as e:
        raise DatasetError(f"{path}: cannot read the class names ({e})") from e
    return [line.strip() for line in text.splitlines() if line.strip()]


def image_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` of an image as it decodes (EXIF orientation applied, as YOLO tools and our training
    read it), from its header only.

    Raises:
        DatasetError: the file is missing or not an image.
    """
    try:
        with Image.open(path) as im:
            return oriented_size(im)
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as e:
        raise DatasetError(f"{path}: cannot read image size ({e})") from e


class _ImageFinder:
    """Finds the image of a label file: same relative path first, then a unique file stem anywhere."""

    def __init__(self, images_dir: Path) -> None:
        self.images_dir = images_dir
        self._by_stem: dict[str, list[Path]] | None = None

    def find(self, relative: Path, label: Path) -> Path:
        for suffix in IMAGE_SUFFIXES:
            for s in (suffix, suffix.upper()):
                candidate = self.images_dir / relative.with_suffix(s)
                if candidate.is_file():
                    return candidate
        if self._by_stem is None:
            self._by_stem = {}
            for p in sorted(self.images_dir.rglob("*")):
                if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file():
                    self._by_stem.setdefault(p.stem, []).append(p)
        matches = self._by_stem.get(relative.stem, [])
        if not matches:
            raise DatasetError(f"{label}: no image named {relative.stem}.* under {self.images_dir}; check --images")
        if len(matches) > 1:
            raise DatasetError(
                f"{label}: {len(matches)} images named {relative.stem}.* under {self.images_dir} "
                f"({', '.join(str(m) for m in matches[:3])}); point --images at the matching folder"
            )
        return matches[0]


def read_yolo(labels_dir: Path, images_dir: Path, source: str = "yolo", split: str = "train") -> list[LabelledImage]:
    """Read a folder of YOLO label files (searched recursively) with their images.

    Each ``a/b.txt`` is paired with ``images_dir/a/b.<image suffix>``, else with the only image whose
    stem is ``b`` anywhere under ``images_dir``. Image sizes come from the image headers. Class names
    come from ``classes.txt`` in ``labels_dir`` when present, else the class id is the name. Images
    without a label file are not included. Boxes that reach outside their image are clipped to it; one
    warning counts them.

    Args:
        labels_dir: folder of ``.txt`` label files.
        images_dir: folder of the images.
        source: value of every record's ``source``.
        split: value of every record's ``split``.

    Raises:
        DatasetError: there is no label file, an image is missing or ambiguous, or a label is malformed.
    """
    classes = read_classes(labels_dir)
    labels = sorted(p for p in labels_dir.rglob("*.txt") if p != labels_dir / CLASSES_FILE)
    if not labels:
        raise DatasetError(f"{labels_dir}: no .txt label files found; pass the YOLO labels folder")
    finder = _ImageFinder(images_dir)
    records = []
    clipped: list[str] = []
    for label in labels:
        image = finder.find(label.relative_to(labels_dir), label)
        width, height = image_size(image)
        boxes, n = _read_yolo_file(label, width, height, classes)
        clipped += [label.relative_to(labels_dir).as_posix()] * n
        records.append(LabelledImage(image, width, height, boxes, source, split))
    warn_clipped(labels_dir, clipped)
    return records


def _common_folder(images: Sequence[Path]) -> Path:
    return Path(os.path.commonpath([os.path.abspath(p.parent) for p in images]))


def write_yolo(records: Sequence[LabelledImage], out_dir: Path, classes: Sequence[str] | None = None) -> list[Path]:
    """Write one YOLO label file per image, and ``classes.txt``; images are not copied.

    Label files mirror the images' paths below their common folder (``openlpr/10.jpg`` becomes
    ``out_dir/openlpr/10.txt``), so images of different sources with the same name do not clash.
    Boxes are clipped to the image; a background image gets an empty file, as YOLO expects.

    Args:
        records: the labelled images.
        out_dir: folder to write to (created).
        classes: class names, in class-id order; default the sorted names used in ``records``
            (``plate`` when there are no boxes).

    Returns:
        The label files written, in the order of ``records``.

    Raises:
        DatasetError: a box's name is not in ``classes``, two records are the same image, or a box lies
            wholly outside its image.
    """
    if classes is None:
        classes = sorted({b.name for r in records for b in r.boxes}) or [DEFAULT_CLASS]
    class_ids = {name: i for i, name in enumerate(classes)}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / CLASSES_FILE).write_text("".join(f"{c}\n" for c in classes), encoding="utf-8")
    if not records:
        return []
    common = _common_folder([r.image for r in records])
    written: list[Path] = []
    seen: set[Path] = set()
    for r in records:
        relative = Path(os.path.abspath(r.image)).relative_to(common).with_suffix(".txt")
        if relative in seen:
            raise DatasetError(
                f"{r.image}: listed twice (splits {r.split or '-'} and another) and would get one label file; "
                "convert one split at a time"
            )
        seen.add(relative)
        lines = []
        for b in r.boxes:
            if b.name not in class_ids:
                raise DatasetError(f"{r.image}: class {b.name!r} is not one of {list(classes)}")
            cx, cy, w, h = box_to_yolo(b.box, r.width, r.height)
            if w <= 0 or h <= 0:
                raise DatasetError(f"{r.image}: box {b.box.to_dict()} lies outside the {r.width}x{r.height} image")
            lines.append(f"{class_ids[b.name]} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n")
        path = out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(lines), encoding="utf-8")
        written.append(path)
    return written
