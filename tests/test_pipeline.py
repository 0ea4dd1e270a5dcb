"""The Reader wires detector, crops, recogniser and lookup together, for every input type."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from numberplate import Reader, load_config
from numberplate.errors import ImageDecodeError, LookupNotFound, UnsupportedImageError
from numberplate.formats import UnknownCountryError
from numberplate.types import BoundingBox, Detection, PlateRead, PlateText, VehicleInfo
from tests.fakes import EchoRecognizer, FixedDetector


@pytest.fixture
def reader() -> Reader:
    return Reader(detector=FixedDetector(), recognizer=EchoRecognizer(), config=load_config(env={}))


def _jpeg_bytes(w: int = 200, h: int = 100) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (10, 20, 30)).save(buf, format="JPEG")
    return buf.getvalue()


@pytest.mark.parametrize("kind", ["str", "path", "bytes", "array", "pil"])
def test_read_accepts_every_input_type(reader: Reader, tmp_path: Path, kind: str) -> None:
    data = _jpeg_bytes()
    path = tmp_path / "car.jpg"
    path.write_bytes(data)
    source = {"str": str(path), "path": path, "bytes": data,
              "array": np.zeros((100, 200, 3), np.uint8), "pil": Image.open(io.BytesIO(data))}[kind]
    reads = reader.read(source)
    assert [r.text.text for r in reads if r.text] == ["ABC1234"]
    assert reads[0].detection.box.to_dict() == {"xmin": 50, "ymin": 50, "xmax": 100, "ymax": 60}


def test_crop_is_padded_box_and_country_hint_is_passed(reader: Reader) -> None:
    reader.read(np.zeros((100, 200, 3), np.uint8), country="us")
    shape, country = reader.recognizer.seen[-1]  # type: ignore[attr-defined]
    # 50x10 box padded by 4% / 8% on each side -> 54x12.
    assert shape == (12, 54, 3) and country == "us"


def test_without_a_hint_every_country_s_layouts_are_checked() -> None:
    recognizer = EchoRecognizer()
    reader = Reader(FixedDetector(), recognizer, config=load_config(env={}))
    reader.read(np.zeros((100, 200, 3), np.uint8))
    assert recognizer.seen[-1][1] == "auto"
    configured = Reader(FixedDetector(), recognizer, config=load_config(env={}, country="br"))
    configured.read(np.zeros((100, 200, 3), np.uint8))
    assert recognizer.seen[-1][1] == "br"


def test_an_unknown_country_fails_even_without_a_plate() -> None:
    # It used to fail only where a plate was found: a bad hint went unnoticed on empty images.
    for detector in (FixedDetector([]), FixedDetector()):
        with pytest.raises(UnknownCountryError, match=r"^unknown country code 'zz'; known codes: ae, "):
            Reader(detector, EchoRecognizer(), config=load_config(env={})).read(np.zeros((100, 200, 3), np.uint8),
                                                                              country="zz")


def test_a_reading_below_min_read_confidence_leaves_the_plate_without_text() -> None:
    image = np.zeros((100, 200, 3), np.uint8)
    unsure = Reader(FixedDetector(), EchoRecognizer(confidence=0.07), config=load_config(env={}))
    (read,) = unsure.read(image)
    assert read.text is None and read.detection.confidence > 0  # found, but unreadable
    everything = load_config(env={}, min_read_confidence=0)
    keep_all = Reader(FixedDetector(), EchoRecognizer(confidence=0.07), config=everything)
    assert [r.text.text for r in keep_all.read(image) if r.text] == ["ABC1234"]
    sure = Reader(FixedDetector(), EchoRecognizer(confidence=0.08), config=load_config(env={}))
    assert [r.text.text for r in sure.read(image) if r.text] == ["ABC1234"]


@pytest.mark.parametrize(("image", "got"), [
    (np.zeros((100, 200, 3), np.float32), "float32 array of shape (100, 200, 3)"),  # a [0, 1] image: read no plate
    (np.zeros((100, 200, 3), np.uint16), "uint16 array of shape (100, 200, 3)"),
    (np.zeros((100, 200), np.uint8), "uint8 array of shape (100, 200)"),
    (np.zeros((100, 200, 4), np.uint8), "uint8 array of shape (100, 200, 4)"),
    (np.zeros((0, 200, 3), np.uint8), "uint8 array of shape (0, 200, 3)"),  # failed in cv2.resize
    (Image.new("RGB", (200, 100)), "Image"),
], ids=["float", "uint16", "grey", "rgba", "empty", "pil"])
def test_read_array_refuses_what_is_not_a_decoded_rgb_image(image: object, got: str) -> None:
    # A float or 16-bit array went to the detector as it was: the shipped one then found no plate, silently.
    detector = FixedDetector()
    reader = Reader(detector, EchoRecognizer(), config=load_config(env={}))
    expected = (f"read_array takes a non-empty RGB uint8 (H, W, 3) array, got a {got}; "
                "pass other images to read(), which converts them")
    for method in (reader.read_array, reader.read_with_crops):
        with pytest.raises(UnsupportedImageError, match=f"^{re.escape(expected)}$"):
            method(image)  # type: ignore[arg-type]
    assert detector.calls == 0
    if got != "uint8 array of shape (0, 200, 3)":  # read() converts the others, as the message says
        assert [r.text.text for r in reader.read(image) if r.text] == ["ABC1234"]  # type: ignore[arg-type]


class _Countries:
    """A lookup that remembers the country it was asked for."""

    name = "countries"

    def __init__(self) -> None:
        self.asked: list[str | None] = []

    def lookup(self, plate: str, country: str | None = None) -> VehicleInfo:
        self.asked.append(country)
        return VehicleInfo(plate=plate, source=self.name)


@pytest.mark.parametrize(("hint", "read_country", "asked"), [
    (None, "gb", "gb"),  # no hint: the country the read's layout says
    ("auto", None, None),  # a layout many countries share: no country
    ("nl", "de", "nl"),  # the user's hint wins
])
def test_lookup_country_comes_from_the_hint_else_the_read(hint: str | None, read_country: str | None,
                                                          asked: str | None) -> None:
    lookup = _Countries()
    reader = Reader(FixedDetector(), EchoRecognizer(), lookup, load_config(env={}))
    read = PlateRead(FixedDetector().detect(np.zeros((10, 10, 3), np.uint8))[0],
                     PlateText("AB12CDE", 0.9, country=read_country))
    reader.look_up(read, hint)
    assert lookup.asked == [asked]


def test_read_with_crops_gives_each_read_the_crop_the_recogniser_saw(reader: Reader) -> None:
    image = np.random.default_rng(0).integers(0, 255, (100, 200, 3), np.uint8)
    pairs = reader.read_with_crops(image, country="us")
    assert [read for read, _ in pairs] == reader.read_array(image, country="us")
    (_, crop), = pairs
    assert crop.shape == reader.recognizer.seen[-1][0] == (12, 54, 3)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(crop, reader.crops(image, [pairs[0][0]])[0])


class _Upright:
    """Reads sure only a crop whose top-left pixel is bright (the plate's right way up)."""

    name = "upright"

    def __init__(self) -> None:
        self.seen: list[tuple[int, ...]] = []

    def read(self, crop: np.ndarray, country: str | None = None) -> PlateText | None:
        self.seen.append(crop.shape)
        return PlateText("96T8557", 0.9 if crop[0, 0, 0] > 0 else 0.01)


def test_a_crop_on_its_side_is_read_turned_the_way_that_reads_surest() -> None:
    image = np.zeros((200, 100, 3), np.uint8)
    image[140:, :50] = 255  # the bottom-left corner of a vertical plate at x 40-60, y 50-170
    tall = FixedDetector([(0.4, 0.25, 0.6, 0.85)])
    upright = _Upright()
    (read, crop), = Reader(tall, upright, config=load_config(env={})).read_with_crops(image)
    assert read.text is not None and read.text.confidence == 0.9
    # Turned a quarter clockwise, the plate's bottom-left corner is its top-left: that reading won.
    assert crop.shape[0] < crop.shape[1] and len(upright.seen) == 3
    # A crop the right way up is read once, as it is.
    wide = Reader(FixedDetector(), upright, config=load_config(env={}))
    wide.read(np.zeros((100, 200, 3), np.uint8))
    assert upright.seen[3:] == [(12, 54, 3)]


def test_read_image_reports_size_and_time(reader: Reader) -> None:
    result = reader.read_image(_jpeg_bytes(320, 240))
    assert (result.width, result.height) == (320, 240)
    assert result.processing_time_ms > 0
    assert result.to_dict()["plates"][0]["text"] == "ABC1234"


def test_bad_input_raises_specific_error(reader: Reader) -> None:
    with pytest.raises(ImageDecodeError, match="is empty"):
        reader.read(b"")


class _Registry:
    name = "registry"

    def lookup(self, plate: str, country: str | None = None) -> VehicleInfo:
        if plate == "ABC1234":
            return VehicleInfo(plate=plate, source=self.name, make="Volvo", model="V70")
        raise LookupNotFound(f"no vehicle registered as {plate}")


def test_lookup_attaches_vehicle() -> None:
    r = Reader(FixedDetector(), EchoRecognizer(), _Registry(), load_config(env={}))
    (read,) = r.read(np.zeros((100, 200, 3), np.uint8))
    assert read.vehicle is not None and read.vehicle.make == "Volvo"
    assert read.to_dict()["vehicle"]["model"] == "V70"


def test_failed_lookup_keeps_the_read() -> None:
    r = Reader(FixedDetector(), EchoRecognizer("ZZZ9999"), _Registry(), load_config(env={}))
    (read,) = r.read(np.zeros((100, 200, 3), np.uint8))
    assert read.text is not None and read.text.text == "ZZZ9999"
    assert read.vehicle is None
    assert read.lookup_error == "LookupNotFound: no vehicle registered as ZZZ9999"


class _Broken:
    """A custom lookup with a bug: it raises what it is given, or returns something that is not a VehicleInfo."""

    name = "broken"

    def __init__(self, outcome: object):
        self.outcome = outcome

    def lookup(self, plate: str, country: str | None = None) -> VehicleInfo:
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("outcome", "error"),
    [
        (RuntimeError("boom"), "lookup failed unexpectedly (RuntimeError: boom); see the log"),
        (KeyError("make"), "lookup failed unexpectedly (KeyError: 'make'); see the log"),
        (TimeoutError("slow"), "lookup failed unexpectedly (TimeoutError: slow); see the log"),
        (RecursionError("deep"), "lookup failed unexpectedly (RecursionError: deep); see the log"),
        (ValueError("x" * 1000), f"lookup failed unexpectedly (ValueError: {'x' * 200}); see the log"),
    ],
    ids=["runtime", "key", "timeout", "recursion", "long-message"],
)
def test_a_lookup_that_raises_anything_keeps_the_read_and_logs_the_traceback(
    outcome: Exception, error: str, caplog: pytest.LogCaptureFixture
) -> None:
    r = Reader(FixedDetector(), EchoRecognizer(), _Broken(outcome), load_config(env={}))
    (read,) = r.read(np.zeros((100, 200, 3), np.uint8))
    assert read.text is not None and read.text.text == "ABC1234"
    assert read.vehicle is None and read.lookup_error == error
    [record] = [rec for rec in caplog.records if rec.name == "numberplate.pipeline"]
    assert record.levelname == "ERROR" and record.exc_info is not None and record.exc_info[1] is outcome
    json.dumps([p.to_dict() for p in r.read(np.zeros((100, 200, 3), np.uint8))], allow_nan=False)


@pytest.mark.parametrize("result", [{"make": "Volvo"}, None, "Volvo"], ids=["dict", "none", "str"])
def test_a_lookup_that_returns_no_vehicle_info_keeps_the_read(result: object) -> None:
    r = Reader(FixedDetector(), EchoRecognizer(), _Broken(result), load_config(env={}))
    (read,) = r.read(np.zeros((100, 200, 3), np.uint8))
    assert read.text is not None and read.vehicle is None
    assert read.lookup_error == f"lookup returned a {type(result).__name__}, not a VehicleInfo; fix the lookup"
    assert read.to_dict()["vehicle"] is None


def test_no_plates_gives_empty_list() -> None:
    r = Reader(FixedDetector(boxes=[]), EchoRecognizer(), config=load_config(env={}))
    assert r.read(np.zeros((50, 50, 3), np.uint8)) == []


class _NaNDetector:
    def detect(self, image: np.ndarray) -> list[Detection]:
        good = Detection(BoundingBox(50, 50, 100, 60), 0.9)
        return [Detection(BoundingBox(float("nan"), 50, 100, 60), 0.9), Detection(BoundingBox(50, 50, 100, 60),
                float("nan")), Detection(good.box, 0.9, ((50, 50), (100, 50), (100, float("inf")), (50, 60))), good]


def test_non_finite_detections_are_skipped_and_the_answer_is_valid_json() -> None:
    reads = Reader(_NaNDetector(), EchoRecognizer(), config=load_config(env={})).read(np.zeros((100, 200, 3), np.uint8))
    assert len(reads) == 1
    json.dumps([r.to_dict() for r in reads], allow_nan=False)


def test_a_non_finite_reading_confidence_leaves_the_plate_unread() -> None:
    reader = Reader(FixedDetector(), EchoRecognizer(confidence=float("nan")), config=load_config(env={}))
    (read,) = reader.read(np.zeros((100, 200, 3), np.uint8))
    assert read.text is None
    json.dumps(read.to_dict(), allow_nan=False)


def test_a_country_that_is_not_a_string_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"^country must be a country code such as 'gb' or 'us-ca', got 5$"):
        Reader(FixedDetector(), EchoRecognizer(), config=load_config(env={})).read(
            np.zeros((100, 200, 3), np.uint8), country=5)  # type: ignore[arg-type]
