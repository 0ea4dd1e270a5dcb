"""The `numberplate` command: read images, train and evaluate models, convert data, serve the web app."""

from __future__ import annotations

import glob
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from numberplate.clitypes import checked_camera_id
from numberplate.datasets.cli import data_group
from numberplate.detection.zones import Zone, zoned_reader
from numberplate.evaluation.cli import eval_group
from numberplate.lookup.cli import lookup_group
from numberplate.notify.cli import webhooks_group
from numberplate.store.cli import db_group, open_reader, token_group
from numberplate.train.cli import train_group
from numberplate.video.cli import CAMERA_ZONES_HELP, ZONE_HELP, ZoneType, checked_zones, video_command
from numberplate.web.cli import serve

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif", ".avif", ".bmp", ".tif", ".tiff",
                            ".gif"})
GLOB_CHARS = frozenset("*?[")
STDIN = "-"  # as a path: the image's bytes on standard input (`cat car.jpg | numberplate read -`)
# Folders that file systems and NAS boxes fill with their own copies of the photos (thumbnails, resource forks).
SYSTEM_FOLDERS = frozenset({"@eaDir", "__MACOSX", "$RECYCLE.BIN", "System Volume Information"})


@click.group()
@click.version_option(package_name="numberplate")
def main() -> None:
    """numberplate: find and read number plates in images."""


def expand_inputs(items: tuple[str, ...]) -> Iterator[tuple[str, Path | None]]:
    """Yield ``(name as given, path)`` for files, folders (recursively, image files only) and globs.

    In a folder, hidden files and folders (``.name``: a Mac's ``._photo.jpg`` companions) and the folders that
    systems fill with copies of the photos (:data:`SYSTEM_FOLDERS`: a Synology's ``@eaDir`` thumbnails) are
    passed over; a file named on its own is always read. A name that matches nothing (or a folder without image
    files) is yielded with ``path=None`` so the caller can report it (:func:`missing_input`).
    """
    for item in items:
        path = Path(item)
        if item == STDIN:
            yield item, None  # read from standard input by the caller
        elif path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                           and not _hidden(p.relative_to(path)))
            if not files:
                yield item, None
            for p in files:
                yield str(p), p
        elif path.exists():
            yield item, path
        elif GLOB_CHARS & set(item):
            matches = sorted(glob.glob(item, recursive=True))
            files = [Path(m) for m in matches if Path(m).is_file()]
            if not files:
                yield item, None
            for p in files:
                yield str(p), p
        else:
            yield item, None


def _hidden(relative: Path) -> bool:
    """Whether a path found in a folder is hidden or lies in a system folder (see :func:`expand_inputs`)."""
    return any(part.startswith(".") or part in SYSTEM_FOLDERS for part in relative.parts)


def missing_input(name: str) -> str:
    """Why an input of :func:`expand_inputs` has no file to read."""
    if Path(name).is_dir():
        return f"{name}: no image files in this folder ({', '.join(sorted(IMAGE_SUFFIXES))})"
    return f"{name}: no such file, folder or matching glob"


def _unique_name(stem: str, used: set[str]) -> str:
    name, n = stem, 1
    while name in used:
        n += 1
        name = f"{stem}-{n}"
    used.add(name)
    return name


def _encodable(text: str, encoding: str) -> bool:
    """Whether ``text`` can be written in ``encoding`` (a Windows cp1252 stdout has no Chinese plate or file name;
    a file name with undecodable bytes holds surrogates that no encoding has)."""
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def _table_rows(name: str, record: dict[str, Any]) -> list[str]:
    # A file name may hold a newline or a terminal escape: one row per plate, and nothing sent to the terminal.
    name = "".join(c if c.isprintable() else repr(c)[1:-1] for c in name)
    if record["error"]:
        return [f"{name}  ERROR  {record['error']}"]
    if not record["plates"]:
        return [f"{name}  (no plate found)  {record['processing_time_ms']:.0f} ms"]
    rows = []
    for p in record["plates"]:
        b = p["box"]
        text = p["text"] or "?"
        rows.append(
            f"{name}  {text:<12} {p['confidence']:>6.1%}  det {p['detection_confidence']:>6.1%}"
            f"  box ({b['xmin']},{b['ymin']})-({b['xmax']},{b['ymax']})  {record['processing_time_ms']:.0f} ms"
            + _vehicle_cell(p)
        )
    return rows


def _vehicle_cell(plate: dict[str, Any]) -> str:
    """The looked-up vehicle (make, model, colour) or the lookup's error, for the end of a table row."""
    vehicle, error = plate.get("vehicle"), plate.get("lookup_error")
    if vehicle:
        return "  " + " ".join(str(vehicle[k]) for k in ("make", "model", "colour") if vehicle.get(k))
    return f"  (lookup: {error})" if error else ""


@main.command("read")
@click.argument("paths", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="one JSON object per image per line (JSON Lines)")
@click.option("--annotate", type=click.Path(file_okay=False, path_type=Path), help="write annotated images here")
@click.option("--crops", type=click.Path(file_okay=False, path_type=Path), help="write each plate crop here")
@click.option("--ocr", help="OCR backend (rapidocr, tesseract, ...); default from config")
@click.option("--country", help="country hint, ISO 3166 alpha-2 (e.g. us, gb, br); default: every country's layouts")
@click.option("--lookup/--no-lookup", "with_lookup", default=None,
              help="look up each plate's vehicle (providers from config 'lookup'; default: lookup_on_read)")
@click.option("--zone", "zones", type=ZoneType(), multiple=True, callback=checked_zones,
              help=ZONE_HELP.replace("frame", "image"))
@click.option("--camera-id", callback=checked_camera_id,
              help=f"the fixed camera that took the photos: {CAMERA_ZONES_HELP}")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TOML config file")
def read_command(
    paths: tuple[str, ...], as_json: bool, annotate: Path | None, crops: Path | None, ocr: str | None,
    country: str | None, with_lookup: bool | None, zones: tuple[Zone, ...], camera_id: str | None,
    config_path: Path | None,
) -> None:
    """Find and read the plates in PATHS (files, folders searched recursively, glob patterns; - for stdin)."""
    from numberplate.config import load_config
    from numberplate.errors import ConfigError, ModelLoadError, NumberplateError
    from numberplate.imaging import encode_jpeg, load_image
    from numberplate.render import annotate as draw

    if any(not p.strip() for p in paths):
        # An unset shell variable ("$FILE") must not read the whole working folder as "." would.
        raise click.BadParameter("an empty path was given", param_hint="PATHS")
    try:
        config = load_config(config_path, ocr=ocr, country=country.lower() if country else None)
        zones = config.zones.zones_for(camera_id, zones)
        reader = zoned_reader(open_reader(config, with_lookup), zones)  # plates outside are neither read nor looked up
    except (ConfigError, ModelLoadError, NumberplateError) as e:
        raise click.ClickException(str(e)) from e
    if camera_id is not None and not zones:
        # --camera-id does nothing else here: a misspelt id would silently read the whole photos.
        click.echo(f"warning: camera {camera_id!r} has no zones in config 'zones'; every plate counts", err=True)
    for option, folder in (("--annotate", annotate), ("--crops", crops)):
        if folder:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise click.BadParameter(f"cannot create the folder {folder}: {e.strerror or e}",
                                         param_hint=option) from e

    inputs = list(expand_inputs(paths))
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    failed = 0
    used_names: set[str] = set()
    # A bar only on a terminal: elsewhere click would still write its label, a stray "reading" line in logs.
    bar_shown = sys.stderr.isatty()
    # With the rows on the same terminal, each row first wipes the bar's line (it is drawn again below the row).
    wipe_bar = bar_shown and sys.stdout.isatty()
    with click.progressbar(inputs, label="reading", file=sys.stderr, show_pos=True, hidden=not bar_shown) as bar:
        for name, path in bar:
            record: dict[str, Any] = {"file": name, "width": None, "height": None, "processing_time_ms": None,
                                      "plates": [], "error": None}
            t0 = time.perf_counter()
            try:
                if name == STDIN:
                    image = load_image(sys.stdin.buffer.read(), config.max_image_pixels)
                elif path is None:
                    raise FileNotFoundError(missing_input(name))
                else:
                    image = load_image(path, config.max_image_pixels)
                pairs = reader.read_with_crops(image)
                reads = [read for read, _ in pairs]
                record.update(
                    width=int(image.shape[1]), height=int(image.shape[0]),
                    processing_time_ms=round((time.perf_counter() - t0) * 1000, 1),
                    plates=[r.to_dict() for r in reads],
                )
                if annotate or crops:
                    stem = _unique_name("stdin" if name == STDIN else Path(name).stem, used_names)
                    if annotate:
                        (annotate / f"{stem}.jpg").write_bytes(encode_jpeg(draw(image, reads)))
                    if crops:
                        for i, (_, crop) in enumerate(pairs, 1):
                            (crops / f"{stem}-plate{i}.jpg").write_bytes(encode_jpeg(crop))
            except (OSError, NumberplateError) as e:
                failed += 1
                record["error"] = str(e)
            if wipe_bar:
                click.echo("\r\x1b[2K", file=sys.stderr, nl=False)
            # What stdout cannot encode is escaped (JSON's own \u escapes), instead of failing the whole run.
            if as_json:
                line = json.dumps(record, ensure_ascii=False)
                click.echo(line if _encodable(line, encoding) else json.dumps(record))
            else:
                for row in _table_rows(name, record):
                    click.echo(row.encode(encoding, "backslashreplace").decode(encoding))
    if failed:
        click.echo(f"{failed} of {len(inputs)} input(s) failed", err=True)
        sys.exit(1)


main.add_command(train_group)
main.add_command(serve)
main.add_command(data_group)
main.add_command(eval_group)
main.add_command(token_group)
main.add_command(db_group)
main.add_command(lookup_group)
main.add_command(video_command)
main.add_command(webhooks_group)
