"""Labelled-image records shared by the dataset converters, and the detect ``labels.csv`` format."""

from __future__ import annotations

import csv
import logging
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from numberplate.errors import DatasetError
from numberplate.types import BoundingBox

log = logging.getLogger(__name__)

LABELS_COLUMNS = ("image", "width", "height", "xmin", "ymin", "xmax", "ymax", "source", "split")
BOX_COLUMNS = ("xmin", "ymin", "xmax", "ymax")
DEFAULT_CLASS = "plate"


@dataclass(frozen=True)
class LabelledBox:
    """One annotated object: its box in pixels and its class name (VOC ``<name>``, YOLO class)."""

    box: BoundingBox
    name: str = DEFAULT_CLASS


@dataclass(frozen=True)
class LabelledImage:
    """An image with its pixel size and boxes; no boxes means a background (negative) image."""

    image: Path
    width: int
    height: int
    boxes: tuple[LabelledBox, ...] = ()
    source: str = ""
    split: str = ""


def count_boxes(records: Iterable[LabelledImage]) -> int:
    """Total number of boxes in ``records``."""
    return sum(len(r.boxes) for r in records)


def parse_number(text: str | None, what: str, where: str) -> float:
    """A finite float from ``text``.

    Args:
        text: the text to parse (``None`` for a missing field).
        what: the field's name, for the error message.
        where: the file (and line) it came from, for the error message.

    Raises:
        DatasetError: ``text`` is missing, empty, not a number, NaN or infinite.
    """
    if text is None or not text.strip():
        raise DatasetError(f"{where}: {what} is missing; every box needs xmin, ymin, xmax and ymax")
    try:
        value = float(text)
    except ValueError:
        raise DatasetError(f"{where}: {what} is not a number: {text.strip()!r}") from None
    if not math.isfinite(value):
        raise DatasetError(f"{where}: {what} is not a finite number: {text.strip()!r}")
    return value


def parse_size(text: str | None, what: str, where: str) -> int:
    """A positive whole pixel count from ``text`` (``"500"`` or ``"500.0"``).

    Raises:
        DatasetError: ``text`` is missing, not a number, not whole or not positive.
    """
    value = parse_number(text, what, where)
    if value <= 0 or not value.is_integer():
        raise DatasetError(f"{where}: {what} must be a positive whole number of pixels, got {text!r}")
    return int(value)


def make_box(xmin: float, ymin: float, xmax: float, ymax: float, where: str) -> BoundingBox:
    """A box, checked to have positive width and height.

    Raises:
        DatasetError: ``xmax <= xmin`` or ``ymax <= ymin``.
    """
    if xmax <= xmin:
        raise DatasetError(f"{where}: xmax ({xmax:g}) must be greater than xmin ({xmin:g})")
    if ymax <= ymin:
        raise DatasetError(f"{where}: ymax ({ymax:g}) must be greater than ymin ({ymin:g})")
    return BoundingBox(xmin, ymin, xmax, ymax)


def parse_box(row: Mapping[str, str | None], where: str) -> BoundingBox:
    """The ``xmin, ymin, xmax, ymax`` fields of a CSV row as a box with positive width and height.

    Raises:
        DatasetError: a field is missing or not a finite number, or the box is empty.
    """
    xmin, ymin, xmax, ymax = (parse_number(row.get(c), c, where) for c in BOX_COLUMNS)
    return make_box(xmin, ymin, xmax, ymax, where)


def read_csv_rows(path: Path, columns: Sequence[str], what: str) -> list[tuple[int, dict[str, str]]]:
    """The rows of a UTF-8 CSV file with their line numbers, once its header is checked to have ``columns``
    (more are allowed).

    Raises:
        DatasetError: the file cannot be read as CSV text (the message calls it ``what``), or lacks a column.
    """
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise DatasetError(f"{path}: missing column(s) {', '.join(missing)}; the header must have "
                                   f"{','.join(columns)}")
            return [(reader.line_num, row) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DatasetError(f"{path}: cannot read {what} ({e})") from e


def default_root(csv_path: Path) -> Path:
    """The folder that image paths in a labels CSV are relative to.

    The shared ``detect/labels.csv`` names images relative to the data root (its parent's parent);
    any other labels file names them relative to its own folder.
    """
    return csv_path.parent.parent if csv_path.parent.name == "detect" else csv_path.parent


def read_labels(
    path: Path, root: Path | None = None, split: str | None = None, *, skip_conflicts: bool = False
) -> list[LabelledImage]:
    """Read a detect labels CSV (``image,width,height,xmin,ymin,xmax,ymax,source,split``).

    Rows of the same image and split are merged into one record, in order of first appearance; a row
    with empty box fields marks a background image. An image listed under two splits gives two records.

    Args:
        path: the CSV file.
        root: folder the ``image`` column is relative to; default :func:`default_root` of ``path``.
        split: keep only rows of this split (rows of other splits are not checked beyond their columns).
        skip_conflicts: leave out (with a warning) an image whose rows disagree on its size or source,
            instead of raising: the shared train split lists one replaced picture twice.

    Returns:
        One record per image and split, its ``image`` joined to ``root``.

    Raises:
        DatasetError: the file cannot be read, lacks a column, has a malformed row, or two rows of the
            same image and split disagree on width, height or source, or mix background and boxes.
    """
    root = default_root(path) if root is None else root
    rows = read_csv_rows(path, LABELS_COLUMNS, "labels CSV")

    images: dict[tuple[str, str], LabelledImage] = {}
    first_line: dict[tuple[str, str], int] = {}
    conflicts: set[tuple[str, str]] = set()
    for line, row in rows:
        where = f"{path}:{line}"
        if None in row or any(row[c] is None for c in LABELS_COLUMNS):
            raise DatasetError(f"{where}: expected {sum(k is not None for k in row)} fields; check for stray commas")
        name = row["image"].strip()
        row_split = row["split"].strip()
        if split is not None and row_split != split:
            continue
        if not name:
            raise DatasetError(f"{where}: the image column is empty")
        width = parse_size(row["width"], "width", where)
        height = parse_size(row["height"], "height", where)
        source = row["source"].strip()
        fields = [row[c].strip() for c in BOX_COLUMNS]
        boxes: tuple[LabelledBox, ...] = ()
        if all(fields):
            boxes = (LabelledBox(parse_box(row, where)),)
        elif any(fields):
            raise DatasetError(f"{where}: box fields must be all filled or all empty (background), got {fields}")

        key = (name, row_split)
        known = images.get(key)
        if key in conflicts:
            continue
        if known is None:
            images[key] = LabelledImage(root / name, width, height, boxes, source, row_split)
            first_line[key] = line
            continue
        if (known.width, known.height, known.source) != (width, height, source) and skip_conflicts:
            conflicts.add(key)
            continue
        if (known.width, known.height, known.source) != (width, height, source):
            raise DatasetError(
                f"{where}: {name} is {width}x{height} ({source}) here but {known.width}x{known.height} "
                f"({known.source}) on line {first_line[key]}; one of the rows describes another picture, fix or drop it"
            )
        if not boxes or not known.boxes:
            raise DatasetError(f"{where}: {name} has both a background row and a boxed row; keep one kind")
        images[key] = LabelledImage(known.image, width, height, known.boxes + boxes, source, row_split)
    if conflicts:
        log.warning("%s: left out %d image(s) whose rows disagree on size or source: %s", path, len(conflicts),
                    ", ".join(sorted(name for name, _ in conflicts)[:5]))
    return [record for key, record in images.items() if key not in conflicts]


def relative_name(image: Path, root: Path) -> str:
    """``image`` as a labels CSV names it: relative to ``root`` (POSIX separators) where it lies under it."""
    # abspath, not resolve(): a symlinked data folder should keep its paths
    full, base = Path(os.path.abspath(image)), Path(os.path.abspath(root))
    return (full.relative_to(base) if full.is_relative_to(base) else full).as_posix()


def write_labels(records: Iterable[LabelledImage], path: Path, root: Path | None = None) -> None:
    """Write records as a detect labels CSV: one row per box, one empty-box row per background image.

    Args:
        records: the labelled images.
        path: the CSV file to write (its folder is created).
        root: folder to write image paths relative to; default :func:`default_root` of ``path``.
            Images outside it are written as absolute paths.
    """
    root = default_root(path) if root is None else root
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(LABELS_COLUMNS)
        for r in records:
            name = relative_name(r.image, root)
            head = [name, r.width, r.height]
            if not r.boxes:
                writer.writerow([*head, "", "", "", "", r.source, r.split])
            for b in r.boxes:
                coords = [f"{v:.1f}" for v in (b.box.xmin, b.box.ymin, b.box.xmax, b.box.ymax)]
                writer.writerow([*head, *coords, r.source, r.split])
