"""`numberplate video SOURCE`: the plates passing in a video file, stream or camera, one line each."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


def _clock(seconds: float) -> str:
    minutes, s = divmod(seconds, 60.0)
    return f"{int(minutes):02d}:{s:04.1f}"


@click.command("video")
@click.argument("source")
@click.option("--fps", type=click.FloatRange(0, 240, min_open=True), default=5.0, show_default=True,
              help="frames per second to read; the others are skipped")
@click.option("--all-frames", is_flag=True, help="read every frame (overrides --fps)")
@click.option("--min-frames", type=click.IntRange(1), default=2, show_default=True,
              help="frames a plate must be seen in to be reported")
@click.option("--max-gap", type=click.FloatRange(0), default=1.0, show_default=True,
              help="seconds a plate may go unseen and still be the same plate")
@click.option("--max-seconds", type=click.FloatRange(0, min_open=True), default=None,
              help="stop after this much video (for endless streams)")
@click.option("--country", help="country hint, ISO 3166 alpha-2 (e.g. us, gb, br)")
@click.option("--ocr", help="OCR backend (default from config)")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per plate (JSON Lines)")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TOML config file")
def video_command(
    source: str, fps: float, all_frames: bool, min_frames: int, max_gap: float, max_seconds: float | None,
    country: str | None, ocr: str | None, as_json: bool, config_path: Path | None,
) -> None:
    """Report each plate in SOURCE once, with its text voted over the frames it was seen in.

    SOURCE is a video file, a stream URL (rtsp://, http(s)://) or a camera (0, /dev/video0). A
    plate is printed when it has left the picture (or at the end).
    """
    from numberplate.config import load_config
    from numberplate.errors import NumberplateError
    from numberplate.pipeline import Reader
    from numberplate.video import PlateTracker, read_video

    count = 0
    try:
        config = load_config(config_path, ocr=ocr, country=country.lower() if country else None)
        reader = Reader(config=config)
        tracker = PlateTracker(max_gap_s=max_gap, min_frames=min_frames)
        for event in read_video(reader, source, fps=None if all_frames else fps, tracker=tracker,
                                max_seconds=max_seconds):
            count += 1
            if as_json:
                click.echo(json.dumps(event.to_dict(), ensure_ascii=False))
            else:
                click.echo(f"{_clock(event.first_seen_s)}-{_clock(event.last_seen_s)}  {event.text or '-':<12} "
                           f"{event.confidence:.2f}  ({event.frames} frames)")
    except (NumberplateError, ValueError) as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"{count} plate(s)", err=True)
    sys.stdout.flush()
