"""PASCAL VOC XML annotations to labelled-image records, and the original app's box CSV."""

from __future__ import annotations

import csv
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from xml.parsers import expat

from PIL import Image, UnidentifiedImageError

from numberplate.datasets.labels import (
    DEFAULT_CLASS,
    LabelledBox,
    LabelledImage,
    clip_to_image,
    make_box,
    parse_number,
    parse_size,
    warn_clipped,
)
from numberplate.errors import DatasetError

log = logging.getLogger(__name__)

ORIGINAL_COLUMNS = ("filepath", "xmin", "xmax", "ymin", "ymax")


def _reject_dtd(*_: object) -> None:
    raise DatasetError("DOCTYPE and ENTITY declarations are not allowed")


def _check_no_dtd(data: bytes) -> None:
    """Raise if ``data`` declares a DOCTYPE or entities (run by expat itself, so any encoding is caught)."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _reject_dtd
    parser.EntityDeclHandler = _reject_dtd
    parser.Parse(data, True)


def _parse_xml(path: Path) -> ET.Element:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DatasetError(f"{path}: cannot read annotation ({e})") from e
    try:
        _check_no_dtd(data)
        return ET.fromstring(data)
    except DatasetError as e:
        raise DatasetError(f"{path}: {e}; remove them, VOC annotations never need them") from None
    except (expat.ExpatError, ET.ParseError) as e:
        raise DatasetError(f"{path}: not well-formed XML ({e}); fix or remove the file") from e


def _image_size(image: Path, xml_path: Path) -> tuple[int, int]:
    try:
        with Image.open(image) as im:
            return im.size
    except (OSError, UnidentifiedImageError) as e:
        raise DatasetError(f"{xml_path}: has no <size> and its image {image} cannot be read ({e})") from e


def _declared(text: str | None) -> bool:
    if text is None or not text.strip():
        return False
    try:
        return float(text) != 0
    except ValueError:
        return True  # parse_size reports it


def parse_voc(xml_path: Path, images_dir: Path) -> LabelledImage:
    """Parse one VOC annotation file.

    Args:
        xml_path: the ``.xml`` file.
        images_dir: folder that ``<filename>`` is relative to.

    Returns:
        The record: image path, size from ``<size>`` (or the image header when ``<size>`` is absent or
        zero), and one box per ``<object>`` with its ``<name>`` kept (``"plate"`` when absent). A box that
        reaches outside the image is clipped to it, with a warning.

    Raises:
        DatasetError: naming ``xml_path``, if the XML is malformed or declares a DOCTYPE/entities, the
            filename is missing, absolute or escapes ``images_dir``, the image is missing, a size or
            ``<bndbox>`` field is missing or not a number, or a box has ``xmax <= xmin`` or ``ymax <= ymin``
            or lies wholly outside the image.
    """
    record, clipped = _parse_voc(xml_path, images_dir)
    if clipped:
        log.warning("%s: clipped %d box(es) that reached outside the %dx%d image to it", xml_path, clipped,
                    record.width, record.height)
    return record


def _parse_voc(xml_path: Path, images_dir: Path) -> tuple[LabelledImage, int]:
    """:func:`parse_voc`, without its warning: the record, and how many of its boxes were clipped."""
    root = _parse_xml(xml_path)
    if root.tag != "annotation":
        raise DatasetError(f"{xml_path}: root element is <{root.tag}>, expected <annotation>; is this a VOC file?")

    filename = (root.findtext("filename") or "").strip()
    if not filename:
        raise DatasetError(f"{xml_path}: <filename> is missing or empty; it must name the image")
    relative = PurePosixPath(filename.replace("\\", "/"))
    if relative.is_absolute() or ".." in relative.parts or re.match(r"^[A-Za-z]:", filename):
        raise DatasetError(f"{xml_path}: <filename> {filename!r} must be a path inside the images folder")
    image = images_dir / relative
    if not image.is_file():
        raise DatasetError(f"{xml_path}: image {image} named by <filename> does not exist; pass the images folder")

    width_text, height_text = root.findtext("size/width"), root.findtext("size/height")
    if _declared(width_text) and _declared(height_text):
        width = parse_size(width_text, "<size><width>", str(xml_path))
        height = parse_size(height_text, "<size><height>", str(xml_path))
    else:  # some exporters leave <size> out or write 0: the image header knows
        width, height = _image_size(image, xml_path)

    boxes = []
    clipped = 0
    for i, obj in enumerate(root.iter("object"), 1):
        where = f"{xml_path} (object {i})"
        bndbox = obj.find("bndbox")
        if bndbox is None:
            raise DatasetError(f"{where}: <bndbox> is missing")
        xmin, ymin, xmax, ymax = (
            parse_number(bndbox.findtext(tag), f"<bndbox><{tag}>", where) for tag in ("xmin", "ymin", "xmax", "ymax")
        )
        name = (obj.findtext("name") or "").strip() or DEFAULT_CLASS
        box, moved = clip_to_image(make_box(xmin, ymin, xmax, ymax, where), width, height, where)
        clipped += moved
        boxes.append(LabelledBox(box, name))
    return LabelledImage(image, width, height, tuple(boxes)), clipped


def _natural_key(path: Path) -> list[int | str]:
    # isdecimal, not isdigit: "²" is a digit that int() refuses, and \d matches exactly the decimal ones
    return [int(part) if part.isdecimal() else part.lower() for part in re.split(r"(\d+)", path.name)]


def resolve_voc_dirs(folder: Path, images_dir: Path | None = None) -> tuple[Path, Path]:
    """The annotations and images folders of a VOC dataset.

    Args:
        folder: a VOC folder holding ``annotations/`` (or ``Annotations/``), or the annotations folder itself.
        images_dir: the images folder; default ``images/`` (or ``JPEGImages/``) beside the annotations,
            else the annotations folder itself.

    Raises:
        DatasetError: ``folder`` is not a folder.
    """
    if not folder.is_dir():
        raise DatasetError(f"{folder}: not a folder; pass a VOC folder or its annotations folder")
    annotations = next((folder / n for n in ("annotations", "Annotations") if (folder / n).is_dir()), folder)
    if images_dir is None:
        base = annotations.parent
        images_dir = next((base / n for n in ("images", "JPEGImages") if (base / n).is_dir()), annotations)
    return annotations, images_dir


def import_voc(
    annotations_dir: Path, images_dir: Path | None = None, source: str = "voc", split: str = "train"
) -> list[LabelledImage]:
    """Parse every ``*.xml`` in a VOC dataset, in natural file-name order (Cars2 before Cars10).

    Boxes that reach outside their image are clipped to it; one warning counts them.

    Args:
        annotations_dir: the annotations folder, or a VOC folder holding ``annotations/``.
        images_dir: folder that ``<filename>`` is relative to; see :func:`resolve_voc_dirs` for the default.
        source: value of every record's ``source``.
        split: value of every record's ``split``.

    Raises:
        DatasetError: there is no ``.xml`` file, or one is malformed (see :func:`parse_voc`).
    """
    annotations_dir, images_dir = resolve_voc_dirs(annotations_dir, images_dir)
    files = sorted(annotations_dir.glob("*.xml"), key=_natural_key)
    if not files:
        raise DatasetError(f"{annotations_dir}: no .xml annotation files found; pass the VOC annotations folder")
    records = []
    clipped: list[str] = []
    for f in files:
        r, n = _parse_voc(f, images_dir)
        clipped += [f.name] * n
        records.append(LabelledImage(r.image, r.width, r.height, r.boxes, source, split))
    warn_clipped(annotations_dir, clipped)
    return records


def _number(v: float) -> str:
    text = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def write_voc_csv(records: Iterable[LabelledImage], path: Path) -> None:
    """Write the original app's CSV, ``filepath,xmin,xmax,ymin,ymax``, one row per box.

    Background images have no row; whole-pixel coordinates are written without a decimal point.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(ORIGINAL_COLUMNS)
        for r in records:
            for b in r.boxes:
                box = b.box
                writer.writerow([r.image.as_posix(), *(_number(v) for v in (box.xmin, box.xmax, box.ymin, box.ymax))])
