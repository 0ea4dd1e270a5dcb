"""Detection zones: parsing and checking polygons, points in them, and plates outside them left out (video, read)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from numberplate.cli import main
from numberplate.config import Config
from numberplate.detection.zones import (
    MAX_ZONE_POINTS,
    MAX_ZONES,
    Zone,
    ZonedDetector,
    ZoneError,
    in_zones,
    parse_zone,
    parse_zones,
)
from numberplate.imaging import encode_jpeg, load_image
from numberplate.pipeline import Reader
from numberplate.types import BoundingBox, Detection
from numberplate.video import read_video
from tests.video.clips import CarFinder, crossing_car, write_clip
from tests.web.conftest import PLATE_TEXT, FakeRecognizer

RIGHT_HALF = "0.5,0 1,0 1,1 0.5,1"
LEFT_STRIP = "0,0 0.1,0 0.1,1 0,1"  # where the crossing car's plate never is: its centre starts at 0.17
# A U open at the top: two posts (x 0.2-0.4 and 0.6-0.8) joined by a base (y 0.6-0.8), concave at its middle.
U_SHAPE = "0.2,0.2 0.4,0.2 0.4,0.6 0.6,0.6 0.6,0.2 0.8,0.2 0.8,0.8 0.2,0.8"


# Parsing.


def test_a_zone_is_parsed_from_its_points() -> None:
    zone = parse_zone("  0.1,0.5   0.9,0.5\t0.9,1 .1,1e0 ")
    assert zone.points == ((0.1, 0.5), (0.9, 0.5), (0.9, 1.0), (0.1, 1.0))
    assert parse_zone(zone.to_text()) == zone
    assert parse_zone("0,0 1,0 0,1").points == ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0))  # a triangle, corners at 0 and 1
    many = " ".join(f"{0.5 + 0.4 * np.cos(a):.4f},{0.5 + 0.4 * np.sin(a):.4f}"
                    for a in np.linspace(0, 2 * np.pi, MAX_ZONE_POINTS, endpoint=False))
    assert len(parse_zone(many).points) == MAX_ZONE_POINTS
    assert len(parse_zones([RIGHT_HALF] * MAX_ZONES)) == MAX_ZONES and parse_zones([]) == ()


@pytest.mark.parametrize(("text", "message"), [
    ("", "has 0 point(s)"),
    ("0,0 1,0", "has 2 point(s)"),
    (" ".join(["0.5,0.5"] * (MAX_ZONE_POINTS + 1)), f"has {MAX_ZONE_POINTS + 1} point(s)"),
    ("0,0 1,0 1,1 " + "0" * 3000, "characters long"),
    ("0,0;1,0;1,1", "has 1 point(s)"),
    ("0,0 1,0 1", "'1' is not a point x,y"),
    ("0,0 1,0 1,1,0", "'1,1,0' is not a point x,y"),
    ("0,0 1,0 nan,1", "'nan' is not a number from 0 to 1"),
    ("0,0 1,0 1,NaN", "'NaN' is not a number from 0 to 1"),
    ("0,0 1,0 inf,1", "'inf' is not a number from 0 to 1"),
    ("0,0 1.5,0 1,1", "'1.5' is not a number from 0 to 1"),
    ("0,0 1,0 1,-0.1", "'-0.1' is not a number from 0 to 1"),
    ("0,0 1,0 1_0,1", "'1_0' is not a number"),
    ("0,0 1,0 \uff11,1", "is not a number"),  # a full-width 1
    ("0,0 1,0 0x1,1", "'0x1' is not a number"),
    ("0,0 1,0 1,0 0,1", "repeats a point"),
    ("0,0 1,1 1,0 0,1", "crosses itself"),  # a bow tie
    ("0.2,0.2 0.8,0.2 0.8,0.8 0.5,0.1 0.2,0.8", "crosses itself"),  # a spike through the top edge
    ("0,0 1,0 0.5,0 0.5,1", "crosses itself"),  # an edge folding back over the one before
    ("0,0 1,0 1,1 0.5,0 0,1", "crosses itself"),  # a corner touching another edge
    ("0,0 0.5,0.5 1,1", "has no area"),
    ("0,0 0.5,0 1,0 0.7,0", "has no area"),
    ("0,0 0.0001,0 0,0.0001", "has almost no area"),
])
def test_an_invalid_zone_is_refused_saying_why(text: str, message: str) -> None:
    with pytest.raises(ZoneError, match="zone") as e:
        parse_zone(text)
    assert message in str(e.value)


def test_a_zones_text_has_no_negative_zero() -> None:
    zone = parse_zone("-0,0 1,-0.0 1,1 -0e0,1")
    assert zone.to_text() == "0,0 1,0 1,1 0,1" and all(str(v) == "0.0" for p in zone.points for v in p if v == 0)
    assert Zone(((-0.0, 0.0), (1.0, -0.0), (1.0, 1.0))).to_text() == "0,0 1,0 1,1"  # built without parse_zone


def test_the_syntax_in_a_zones_message_fits_photos_and_videos() -> None:
    with pytest.raises(ZoneError) as e:
        parse_zone("0,0 1,0")
    assert "a fraction (0 to 1) of the width and height of the image (of a video, its frames)" in str(e.value)
    assert "frame's" not in str(e.value)


def test_too_many_zones_are_refused() -> None:
    with pytest.raises(ZoneError, match=f"{MAX_ZONES + 1} zones given; at most {MAX_ZONES}"):
        parse_zones([RIGHT_HALF] * (MAX_ZONES + 1))


# Points in polygons.


@pytest.mark.parametrize(("point", "inside"), [
    ((0.75, 0.5), True), ((0.25, 0.5), False), ((1.5, 0.5), False), ((0.75, -0.1), False),
    ((0.5, 0.5), True), ((1.0, 0.3), True), ((0.7, 0.0), True), ((0.7, 1.0), True),  # on the edges
    ((0.5, 0.0), True), ((1.0, 1.0), True),  # on the corners
    ((0.4999, 0.5), False), ((0.5001, 0.5), True),
])
def test_a_point_is_in_a_rectangle_on_its_edges_too(point: tuple[float, float], inside: bool) -> None:
    assert parse_zone(RIGHT_HALF).contains(*point) is inside


@pytest.mark.parametrize(("point", "inside"), [
    ((0.3, 0.4), True), ((0.7, 0.4), True), ((0.5, 0.7), True),  # the posts and the base
    ((0.5, 0.4), False), ((0.5, 0.59), False),  # the notch between the posts: inside the hull, outside the U
    ((0.5, 0.6), True), ((0.4, 0.4), True),  # on the notch's edges
    ((0.1, 0.6), False), ((0.9, 0.6), False), ((0.5, 0.9), False),
    ((0.3, 0.2), True), ((0.5, 0.2), False),  # at the height of the top corners: the ray passes through two
])
def test_a_point_is_in_a_concave_polygon_only_where_the_polygon_is(point: tuple[float, float], inside: bool) -> None:
    assert parse_zone(U_SHAPE).contains(*point) is inside


def test_a_triangle_and_a_diagonal_edge() -> None:
    zone = parse_zone("0,0 1,0 0,1")
    assert zone.contains(0.2, 0.2) and zone.contains(0.5, 0.5) and not zone.contains(0.51, 0.51)


def test_a_plate_counts_when_its_box_centre_is_in_any_zone() -> None:
    zones = parse_zones([LEFT_STRIP, RIGHT_HALF])
    assert in_zones(BoundingBox(560, 100, 640, 120), 640, 360, zones)  # centre x 0.94: the right half
    assert in_zones(BoundingBox(0, 100, 40, 120), 640, 360, zones)  # centre x 0.03: the left strip
    assert not in_zones(BoundingBox(100, 100, 200, 120), 640, 360, zones)  # centre x 0.23: neither
    assert not in_zones(BoundingBox(290, 0, 340, 20), 640, 360, zones[1:])  # reaches in, centre x 0.49: out
    assert in_zones(BoundingBox(100, 100, 200, 120), 640, 360, ())  # no zones: every plate


class FixedBoxes:
    def __init__(self, *boxes: BoundingBox):
        self.boxes = boxes

    def detect(self, image: np.ndarray) -> list[Detection]:
        return [Detection(b, 0.9) for b in self.boxes]


def test_the_zoned_detector_keeps_the_plates_in_its_zones_whatever_the_resolution() -> None:
    inner = FixedBoxes(BoundingBox(10, 10, 50, 30), BoundingBox(500, 200, 600, 230))
    zoned = ZonedDetector(inner, (parse_zone(RIGHT_HALF),))
    assert [d.box.xmin for d in zoned.detect(np.zeros((360, 640, 3), np.uint8))] == [500]
    assert [d.box.xmin for d in zoned.detect(np.zeros((360, 1280, 3), np.uint8))] == []  # x 0.43 of 1280: out


# Plates outside the zones are not reported: read_video, `numberplate video`, `numberplate read`.


@pytest.fixture(scope="module")
def crossing(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """12 frames at 10 fps: a car crossing from the left edge to the right; its plate's centre from x 0.17 to
    0.83, past the middle from the 7th frame (index 6) on."""
    photo = load_image(data_dir / "detect" / "images" / "openlpr" / "10.jpg")
    return write_clip(tmp_path_factory.mktemp("zones") / "crossing.avi", crossing_car(photo, 12))


@pytest.fixture(scope="module")
def fake_reader() -> Reader:
    return Reader(detector=CarFinder(), recognizer=FakeRecognizer(), config=Config(ocr="plateocr"))


def test_read_video_reports_only_what_passes_through_a_zone(crossing: Path, fake_reader: Reader) -> None:
    (whole,) = read_video(fake_reader, crossing, fps=None)
    assert (whole.text, whole.first_frame, whole.last_frame, whole.frames) == (PLATE_TEXT, 0, 11, 12)
    (right,) = read_video(fake_reader, crossing, fps=None, zones=[parse_zone(RIGHT_HALF)])
    assert (right.first_frame, right.last_frame, right.frames) == (6, 11, 6)
    assert list(read_video(fake_reader, crossing, fps=None, zones=[parse_zone(LEFT_STRIP)])) == []


@pytest.fixture
def cli_reader(monkeypatch: pytest.MonkeyPatch, fake_reader: Reader) -> None:
    monkeypatch.setattr("numberplate.store.cli.open_reader", lambda config, lookup=None: fake_reader)
    monkeypatch.setattr("numberplate.cli.open_reader", lambda config, lookup=None: fake_reader)


def test_the_video_command_reports_only_plates_in_its_zones(crossing: Path, cli_reader: None) -> None:
    def run(*args: str) -> list[dict]:
        result = CliRunner().invoke(main, ["video", str(crossing), "--all-frames", "--json", *args])
        assert result.exit_code == 0, result.output
        return [json.loads(line) for line in result.stdout.splitlines()]

    assert [(r["first_frame"], r["frames"]) for r in run()] == [(0, 12)]
    assert [(r["first_frame"], r["frames"]) for r in run("--zone", RIGHT_HALF)] == [(6, 6)]
    assert run("--zone", LEFT_STRIP) == []
    assert [(r["first_frame"], r["frames"]) for r in run("--zone", LEFT_STRIP, "--zone", RIGHT_HALF)] == [(6, 6)]


def test_the_video_command_reports_each_plates_direction_and_filters_on_it(crossing: Path, cli_reader: None) -> None:
    result = CliRunner().invoke(main, ["video", str(crossing), "--all-frames", "--json"])
    (record,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert record["motion"] == "crossing" and record["direction"] == 0.0  # to the right, at one height
    result = CliRunner().invoke(main, ["video", str(crossing), "--all-frames"])
    assert "crossing 0 deg" in result.stdout
    for motion, plates in (("crossing", 1), ("approaching", 0), ("leaving", 0)):
        result = CliRunner().invoke(main, ["video", str(crossing), "--all-frames", "--direction", motion])
        assert result.exit_code == 0 and f"{plates} plate(s)" in result.stderr, (motion, result.output)


@pytest.mark.parametrize(("args", "message"), [
    (["--zone", "0,0 1,0"], "Invalid value for '--zone': zone '0,0 1,0' has 2 point(s)"),
    (["--zone", "0,0 1,0 nan,1"], "Invalid value for '--zone': zone '0,0 1,0 nan,1': 'nan' is not a number"),
    (["--zone", "0,0 1,1 1,0 0,1"], "Invalid value for '--zone': zone '0,0 1,1 1,0 0,1' crosses itself"),
    (["--zone", RIGHT_HALF] * (MAX_ZONES + 1), f"Invalid value for '--zone': {MAX_ZONES + 1} zones given"),
    (["--direction", "sideways"], "Invalid value for '--direction'"),
])
def test_the_video_command_refuses_a_bad_zone_or_direction(crossing: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["video", str(crossing), *args])
    assert result.exit_code == 2 and message in result.output, result.output


def test_the_read_command_reads_only_the_plates_in_its_zones(tmp_path: Path, data_dir: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    recognizer = FakeRecognizer()
    reader = Reader(detector=FixedBoxes(BoundingBox(10, 10, 50, 30), BoundingBox(500, 200, 600, 230)),
                    recognizer=recognizer, config=Config(ocr="plateocr"))
    monkeypatch.setattr("numberplate.cli.open_reader", lambda config, lookup=None: reader)
    photo = tmp_path / "gate.jpg"
    photo.write_bytes(encode_jpeg(np.full((360, 640, 3), 90, np.uint8)))

    def boxes(*args: str) -> list[int]:
        result = CliRunner().invoke(main, ["read", str(photo), "--json", *args])
        assert result.exit_code == 0, result.output
        return [p["box"]["xmin"] for p in json.loads(result.stdout)["plates"]]

    assert boxes() == [10, 500]
    recognizer.calls.clear()
    assert boxes("--zone", RIGHT_HALF) == [500]
    assert len(recognizer.calls) == 1  # the plate outside was not even read
    assert boxes("--zone", "0.9,0.9 1,0.9 1,1") == []
    result = CliRunner().invoke(main, ["read", str(photo), "--zone", "0,0 2,0 1,1"])
    assert result.exit_code == 2 and "Invalid value for '--zone'" in result.output
    assert "of the width and height of the image" in result.output  # as the option's help says: not "frame"


# A camera's zones from the config (`zones`), used when a read comes with its camera id and no zone of its own.


@pytest.fixture
def gate_config(tmp_path: Path) -> Path:
    """A config where camera "gate" has the right half as its zone and "street" none."""
    path = tmp_path / "cameras.toml"
    path.write_text(f'[zones]\ngate = ["{RIGHT_HALF}"]\n')
    return path


def test_the_read_command_uses_its_cameras_zones_unless_given_one(tmp_path: Path, gate_config: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    reader = Reader(detector=FixedBoxes(BoundingBox(10, 10, 50, 30), BoundingBox(500, 200, 600, 230)),
                    recognizer=FakeRecognizer(), config=Config(ocr="plateocr"))
    monkeypatch.setattr("numberplate.cli.open_reader", lambda config, lookup=None: reader)
    photo = tmp_path / "gate.jpg"
    photo.write_bytes(encode_jpeg(np.full((360, 640, 3), 90, np.uint8)))

    def run(*args: str) -> tuple[list[int], str]:
        result = CliRunner().invoke(main, ["read", str(photo), "--json", "--config", str(gate_config), *args])
        assert result.exit_code == 0, result.output
        return [p["box"]["xmin"] for p in json.loads(result.stdout)["plates"]], result.stderr

    assert run()[0] == [10, 500]  # no camera: every plate
    assert run("--camera-id", "gate") == ([500], "")  # the camera's zone
    assert run("--camera-id", "gate", "--zone", LEFT_STRIP)[0] == [10]  # an explicit zone overrides it
    assert run("--zone", LEFT_STRIP)[0] == [10]
    plates, warning = run("--camera-id", "street")  # a camera without zones reads every plate, and says so
    assert plates == [10, 500] and "camera 'street' has no zones in config 'zones'; every plate counts" in warning
    result = CliRunner().invoke(main, ["read", str(photo), "--camera-id", "gate<1>"])
    assert result.exit_code == 2 and "Invalid value for '--camera-id'" in result.output


def test_the_video_command_uses_its_cameras_zones_unless_given_one(crossing: Path, gate_config: Path,
                                                                   cli_reader: None) -> None:
    def run(*args: str) -> list[tuple[int, int]]:
        result = CliRunner().invoke(main, ["video", str(crossing), "--all-frames", "--json", "--config",
                                           str(gate_config), *args])
        assert result.exit_code == 0, result.output
        return [(r["first_frame"], r["frames"]) for r in map(json.loads, result.stdout.splitlines())]

    assert run("--camera-id", "gate") == [(6, 6)]  # the right half only
    assert run("--camera-id", "gate", "--zone", LEFT_STRIP) == []  # an explicit zone overrides the camera's
    assert run("--camera-id", "street") == [(0, 12)]  # a camera without zones: the whole frame
    assert run() == [(0, 12)]


def test_a_bad_zones_setting_stops_the_commands_naming_the_camera(tmp_path: Path, crossing: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[zones]\ngate = ["0,0 1,0"]\n')
    for args in (["read", str(crossing)], ["video", str(crossing)]):
        result = CliRunner().invoke(main, [*args, "--config", str(path)])
        assert result.exit_code == 1, result.output
        assert f"config file {path}: setting 'zones': camera 'gate', zone 1: zone '0,0 1,0' has 2 point(s)" in \
            result.output


def test_zones_are_frozen_values() -> None:
    zone = parse_zone(RIGHT_HALF)
    assert zone == Zone(((0.5, 0.0), (1.0, 0.0), (1.0, 1.0), (0.5, 1.0))) and hash(zone) == hash(parse_zone(RIGHT_HALF))
