"""Labelled-image records shared by the dataset converters, and the detect ``labels.csv`` format."""

from __future__ import annotations

import csv
import logging
import math
import os
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from numberplate.errors import DatasetError
from numberplate.types import BoundingBox

log = logging.getLogger(__name__)

LABELS_COLUMNS = ("image", "width", "height", "xmin", "ymin", "xmax", "ymax", "source", "split")
BOX_COLUMNS = ("xmin", "ymin", "xmax", "ymax")
DEFAULT_CLASS = "plate"
# The largest side a labelled image may have (JPEG's limit): a larger width or height in a labels file is a typo.
MAX_IMAGE_SIDE = 65_535
# A box that reaches this far outside its image is clipped without a warning (rounding in another tool).
CLIP_TOLERANCE_PX = 1.0
# EXIF orientations that turn the picture a quarter: its width and height swap when it is decoded.
_QUARTER_TURNS = frozenset({5, 6, 7, 8})


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
    line: int = field(default=0, compare=False)  # its first row in a labels CSV (0: not from one), for messages


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
    """A positive whole pixel count from ``text`` (``"500"`` or ``"500.0"``), at most ``MAX_IMAGE_SIDE``.

    Raises:
        DatasetError: ``text`` is missing, not a number, not whole, not positive or implausibly large.
    """
    value = parse_number(text, what, where)
    if value <= 0 or not value.is_integer():
        raise DatasetError(f"{where}: {what} must be a positive whole number of pixels, got {text!r}")
    if value > MAX_IMAGE_SIDE:
        raise DatasetError(f"{where}: {what} {text.strip() if text else text} is not a plausible image size (at most "
                           f"{MAX_IMAGE_SIDE} pixels); fix the row")
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


def clip_to_image(box: BoundingBox, width: int, height: int, where: str) -> tuple[BoundingBox, bool]:
    """``box`` clipped to a ``width`` x ``height`` image (as ``to-yolo`` clips), and whether that moved a side by
    more than ``CLIP_TOLERANCE_PX`` (less is rounding in the tool that wrote it, not worth a warning).

    Raises:
        DatasetError: the box lies wholly outside the image.
    """
    clipped = box.clamp(width, height)
    if clipped.width <= 0 or clipped.height <= 0:
        raise DatasetError(f"{where}: box {box.to_dict()} lies outside the {width}x{height} image; fix or drop it")
    moved = max(abs(a - b) for a, b in zip((box.xmin, box.ymin, box.xmax, box.ymax),
                                           (clipped.xmin, clipped.ymin, clipped.xmax, clipped.ymax), strict=True))
    return clipped, moved > CLIP_TOLERANCE_PX


def check_image(path: Path, where: str) -> tuple[int, int]:
    """``(width, height)`` of an image file as it decodes (EXIF orientation applied), from its header only.

    For checking every image a labels file names before any work is done.

    Raises:
        DatasetError: naming ``where`` (the labels file and line) and the image, if it does not exist, is a
            folder, or is not an image.
    """
    if not path.exists():
        raise DatasetError(f"{where}: image {path} does not exist; fix the path or remove the row")
    if not path.is_file():
        raise DatasetError(f"{where}: {path} is a folder, not an image file; fix the path or remove the row")
    try:
        with Image.open(path) as im:
            return oriented_size(im)
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as e:
        raise DatasetError(f"{where}: {path} is not an image ({e}); fix the path or remove the row") from e


def oriented_size(im: Image.Image) -> tuple[int, int]:
    """``(width, height)`` of an opened image as it decodes (EXIF orientation applied), from its header only."""
    width, height = im.size
    return (height, width) if im.getexif().get(0x0112) in _QUARTER_TURNS else (width, height)


def parse_box(row: Mapping[str, str | None], where: str) -> BoundingBox:
    """The ``xmin, ymin, xmax, ymax`` fields of a CSV row as a box with positive width and height.

    Raises:
        DatasetError: a field is missing or not a finite number, or the box is empty.
    """
    xmin, ymin, xmax, ymax = (parse_number(row.get(c), c, where) for c in BOX_COLUMNS)
    return make_box(xmin, ymin, xmax, ymax, where)


def read_csv_rows(path: Path, columns: Sequence[str], what: str) -> list[tuple[int, dict[str, str]]]:
    """The rows of a UTF-8 CSV file (a byte-order mark, as spreadsheets write, is allowed) with their line numbers,
    once its header is checked to have ``columns`` (more are allowed).

    Raises:
        DatasetError: the file cannot be read as CSV text (the message calls it ``what``), or lacks a column.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise DatasetError(f"{path}: missing column(s) {', '.join(missing)}; the header must have "
                                   f"{','.join(columns)}")
            return [(reader.line_num, row) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DatasetError(f"{path}: cannot read {what} ({e})") from e


def line_list(items: Sequence[object], most: int = 10) -> str:
    """Line numbers (or names) for a message: ``"3, 7, 9"``, the first ``most`` of them and ``...`` when there are
    more."""
    return ", ".join(map(str, items[:most])) + (" ..." if len(items) > most else "")


class RepeatedRows:
    """The rows of a labels file that repeat an earlier one, to drop with one warning (a repeated plate would
    count twice)."""

    def __init__(self) -> None:
        self._seen: set[Hashable] = set()
        self.lines: list[int] = []

    def repeated(self, fingerprint: Hashable, line: int) -> bool:
        """Whether a row with this ``fingerprint`` came before (``line`` is then noted); else it is remembered."""
        if fingerprint in self._seen:
            self.lines.append(line)
            return True
        self._seen.add(fingerprint)
        return False

    def warn(self, path: Path, same: str) -> None:
        """Log the dropped rows, if any; ``same`` says what they share with an earlier row."""
        if self.lines:
            log.warning("%s: dropped %d duplicate row(s) (%s as an earlier row): line(s) %s", path, len(self.lines),
                        same, line_list(self.lines))


def warn_clipped(where: object, names: Sequence[str]) -> None:
    """Log, once for a whole dataset, the boxes clipped to their image: ``names`` has a file's name per box."""
    if names:
        log.warning("%s: clipped %d box(es) that reached outside their image to it (in %s)", where, len(names),
                    line_list(sorted(set(names)), 5))


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
    A row that repeats an earlier one (the same image, split and box) is dropped with a warning: it would
    count its plate twice.

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
    repeats = RepeatedRows()
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
        fingerprint = (name, row_split, str(width), str(height), source,
                       *(f"{b.box.xmin!r} {b.box.ymin!r} {b.box.xmax!r} {b.box.ymax!r}" for b in boxes))
        if repeats.repeated(fingerprint, line):
            continue
        if known is None:
            images[key] = LabelledImage(root / name, width, height, boxes, source, row_split, line)
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
        images[key] = LabelledImage(known.image, width, height, known.boxes + boxes, source, row_split, known.line)
    repeats.warn(path, "the same image, split and box")
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
