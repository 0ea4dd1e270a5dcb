"""`numberplate data ...` sub-commands: convert between VOC XML, YOLO label files and labels CSVs."""

from __future__ import annotations

from pathlib import Path

import click

from numberplate.datasets.labels import LabelledImage, count_boxes, read_labels, write_labels
from numberplate.datasets.voc import import_voc, write_voc_csv
from numberplate.datasets.yolo import read_yolo, write_yolo
from numberplate.errors import DatasetError


def _summary(records: list[LabelledImage], out: Path) -> str:
    return f"wrote {len(records)} images, {count_boxes(records)} boxes to {out}"


@click.group("data")
def data_group() -> None:
    """Convert plate datasets between PASCAL VOC, YOLO and labels CSV."""


@data_group.command("import-voc")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="CSV file to write")
@click.option("--images", "images_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="folder <filename> is relative to  [default: images/ beside the annotations]")
@click.option("--format", "fmt", type=click.Choice(["original", "detect"]), default="original", show_default=True,
              help="original: filepath,xmin,xmax,ymin,ymax (one row per box); detect: the shared labels.csv columns")
@click.option("--source", default="voc", show_default=True, help="source column (detect format)")
@click.option("--split", default="train", show_default=True, help="split column (detect format)")
def import_voc_command(folder: Path, out: Path, images_dir: Path | None, fmt: str, source: str, split: str) -> None:
    """Convert the VOC XML annotations in FOLDER (holding annotations/ and images/, or the annotations itself)."""
    try:
        records = import_voc(folder, images_dir, source=source, split=split)
        if fmt == "original":
            write_voc_csv(records, out)
        else:
            write_labels(records, out)
    except (DatasetError, OSError) as e:
        raise click.ClickException(str(e)) from e
    click.echo(_summary(records, out))


@data_group.command("to-yolo")
@click.argument("labels_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="folder for the YOLO label files and classes.txt")
@click.option("--split", default=None, help="keep only rows of this split (e.g. train, val)  [default: all rows]")
def to_yolo_command(labels_csv: Path, out: Path, split: str | None) -> None:
    """Write YOLO label files for the images in LABELS_CSV (images are not copied)."""
    try:
        records = read_labels(labels_csv, split=split)
        if not records:
            raise DatasetError(f"{labels_csv}: no rows" + (f" with split {split!r}" if split is not None else ""))
        write_yolo(records, out)
    except (DatasetError, OSError) as e:
        raise click.ClickException(str(e)) from e
    click.echo(_summary(records, out))


@data_group.command("from-yolo")
@click.argument("labels_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--images", "images_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True,
              help="folder of the images the label files describe")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="labels CSV to write")
@click.option("--source", default="yolo", show_default=True, help="source column")
@click.option("--split", default="train", show_default=True, help="split column")
def from_yolo_command(labels_dir: Path, images_dir: Path, out: Path, source: str, split: str) -> None:
    """Convert the YOLO label files in LABELS_DIR into a labels CSV (image sizes read from the images)."""
    try:
        records = read_yolo(labels_dir, images_dir, source=source, split=split)
        write_labels(records, out)
    except (DatasetError, OSError) as e:
        raise click.ClickException(str(e)) from e
    click.echo(_summary(records, out))
