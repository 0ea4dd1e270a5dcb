"""`numberplate video SOURCE`: the plates passing in a video file, stream or camera, one line each."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from numberplate.clitypes import FiniteFloatRange, checked_camera_id
from numberplate.detection.zones import MAX_ZONES, Zone, ZoneError, parse_zone
from numberplate.video.motion import MOTIONS
from numberplate.video.source import RECONNECT_GIVE_UP_S, clock_text
from numberplate.video.tracker import PlateEvent

ZONE_HELP = ("only plates whose box centre lies in this polygon count: points 'x,y x,y x,y ...' as fractions "
             f"(0-1) of the frame's width and height, x to the right, y down; repeat for up to {MAX_ZONES} zones; "
             "overrides the zones of --camera-id in config 'zones'")
CAMERA_ZONES_HELP = "its zones in config 'zones' apply when no --zone is given"


class ZoneType(click.ParamType):
    """A ``--zone`` value: a polygon ``x,y x,y x,y ...`` in fractions of the frame (:func:`parse_zone`)."""

    name = "ZONE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Zone:
        if isinstance(value, Zone):
            return value
        try:
            return parse_zone(str(value))
        except ZoneError as e:
            self.fail(str(e), param, ctx)


def checked_zones(ctx: click.Context, param: click.Parameter, value: tuple[Zone, ...]) -> tuple[Zone, ...]:
    """A repeated ``--zone``: at most :data:`MAX_ZONES` of them."""
    if len(value) > MAX_ZONES:
        raise click.BadParameter(f"{len(value)} zones given; at most {MAX_ZONES}", ctx, param)
    return value


def _vehicle(event: PlateEvent) -> str:
    vehicle, error = event.best.vehicle, event.best.lookup_error
    if vehicle:
        return "  " + " ".join(str(v) for v in (vehicle.make, vehicle.model, vehicle.colour) if v)
    return f"  (lookup: {error})" if error else ""


def _travel(event: PlateEvent) -> str:
    if event.motion is None:
        return ""
    return f"  {event.motion}" + (f" {event.direction:.0f} deg" if event.direction is not None else "")


@click.command("video")
@click.argument("source")
@click.option("--fps", type=FiniteFloatRange(0, 240, min_open=True), default=5.0, show_default=True,
              help="frames per second to read; the others are skipped")
@click.option("--all-frames", is_flag=True, help="read every frame (overrides --fps)")
@click.option("--min-frames", type=click.IntRange(1), default=2, show_default=True,
              help="frames a plate must be seen in to be reported")
@click.option("--max-gap", type=FiniteFloatRange(0), default=1.0, show_default=True,
              help="seconds a plate may go unseen and still be the same plate")
@click.option("--max-seconds", type=FiniteFloatRange(0, min_open=True), default=None,
              help="stop after this much video; for a stream or camera, after this many seconds of wall-clock "
                   "time, waits to reconnect a dropped stream included (for endless streams)")
@click.option("--give-up-after", type=FiniteFloatRange(0, min_open=True), default=RECONNECT_GIVE_UP_S,
              show_default=True,
              help="seconds a stream or camera may deliver no frame, attempts to reconnect included, before the "
                   "read ends with an error (exit 1): the stream is gone")
@click.option("--zone", "zones", type=ZoneType(), multiple=True, callback=checked_zones, help=ZONE_HELP)
@click.option("--direction", "motion", type=click.Choice(MOTIONS),
              help="only plates moving so: approaching or leaving the camera (their box grows or shrinks by a "
                   "quarter), crossing the picture, or stationary")
@click.option("--country", help="country hint, ISO 3166 alpha-2 (e.g. us, gb, br); default: every country's layouts")
@click.option("--ocr", help="OCR backend (default from config)")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per plate (JSON Lines)")
@click.option("--store", is_flag=True,
              help="keep each plate in the history (database of config) as a read of its best frame; "
                   "watchlist entries match it like any read")
@click.option("--camera-id", callback=checked_camera_id,
              help="camera name stored with the reads (with --store); " + CAMERA_ZONES_HELP
                   + ": 1-128 letters, digits, spaces or _ . : @ / -")
@click.option("--lookup/--no-lookup", "with_lookup", default=None,
              help="look up each plate's vehicle once (providers from config 'lookup'; default: lookup_on_read)")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TOML config file")
def video_command(
    source: str, fps: float, all_frames: bool, min_frames: int, max_gap: float, max_seconds: float | None,
    give_up_after: float, zones: tuple[Zone, ...], motion: str | None, country: str | None, ocr: str | None,
    as_json: bool, store: bool, camera_id: str | None,
    with_lookup: bool | None, config_path: Path | None,
) -> None:
    """Report each plate in SOURCE once, with its text voted over the frames it was seen in.

    SOURCE is a video file, a stream URL (rtsp://, http(s)://) or a camera (0, /dev/video0). A
    plate is printed when it has left the picture (or at the end).

    A stream that drops is reconnected (pauses of 1 s, 2 s, 4 s ... up to 30 s) until --give-up-after
    seconds pass without a frame, or --max-seconds ends the read. A damaged file is read as far as it
    can be decoded, past damage where possible: a warning on stderr says where frames are missing or
    where the file ends early, and the exit status stays 0 (the plates before the damage are real).

    Each plate's direction (degrees: 0 right, 90 up; null when it barely moved) and motion (approaching,
    leaving, crossing, stationary) come from its box over the frames it was seen in.
    """
    from numberplate.config import load_config
    from numberplate.errors import NumberplateError
    from numberplate.store.cli import open_read_store, open_reader
    from numberplate.video import PlateTracker, read_video, store_event
    from numberplate.video.source import describe

    count = 0
    try:
        config = load_config(config_path, ocr=ocr, country=country.lower() if country else None)
        reader = open_reader(config, with_lookup)
        reads = open_read_store(config) if store else None
        name = Path(source).name if Path(source).is_file() else describe(source)
        tracker = PlateTracker(max_gap_s=max_gap, min_frames=min_frames, keep_images=store)
        for event in read_video(reader, source, fps=None if all_frames else fps, tracker=tracker,
                                max_seconds=max_seconds, reconnect_give_up_s=give_up_after,
                                on_warning=lambda message: click.echo(f"warning: {message}", err=True),
                                zones=config.zones.zones_for(camera_id, zones)):
            if motion and event.motion != motion:
                continue
            count += 1
            stored = reads and store_event(reads, event, reader, camera_id=camera_id, filename=name[:255],
                                           country=config.country)
            record = {**event.to_dict(), "read_id": stored.id if stored else None}
            if as_json:
                click.echo(json.dumps(record, ensure_ascii=False))
            else:
                click.echo(f"{clock_text(event.first_seen_s)}-{clock_text(event.last_seen_s)}  {event.text or '-':<12} "
                           f"{event.confidence:.2f}  ({event.frames} frames)" + _travel(event) + _vehicle(event)
                           + (f"  stored as read {stored.id}" if stored else ""))
    except (NumberplateError, ValueError) as e:
        raise click.ClickException(str(e)) from e
    if tracker.frames < min_frames:
        click.echo(f"warning: only {tracker.frames} frame(s) read, and a plate is reported once seen in"
                   f" --min-frames {min_frames}: use --min-frames 1 for a clip this short", err=True)
    click.echo(f"{count} plate(s)", err=True)
    sys.stdout.flush()
