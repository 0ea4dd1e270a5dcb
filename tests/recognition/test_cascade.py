"""The cascade reader: when the fallback reads, which reading wins, and what happens when the fallback is missing."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pytest

from numberplate.calibration import Calibration
from numberplate.config import Config
from numberplate.errors import BackendUnavailableError, ConfigError
from numberplate.imaging import load_image
from numberplate.pipeline import Reader
from numberplate.recognition import DEFAULT_CASCADE, available_backends, create_recognizer, recognizer_for
from numberplate.recognition.cascade import PROVINCE_BELOW, CascadeRecognizer, choose, settle_province
from numberplate.types import Candidate, PlateText

CROP = np.full((20, 80, 3), 200, np.uint8)


class Scripted:
    """A recogniser that answers a fixed reading and counts its calls."""

    def __init__(self, name: str, answer: PlateText | None):
        self.name = name
        self.answer = answer
        self.calls: list[str | None] = []

    def read(self, crop: np.ndarray, country: str | None = None) -> PlateText | None:
        self.calls.append(country)
        return self.answer


def text(value: str, confidence: float, matched: bool | None = None) -> PlateText:
    return PlateText(value, confidence, (confidence,) * len(value), (Candidate(value, confidence),),
                     pattern_matched=matched)


def cascade(primary: PlateText | None, fallback: PlateText | None, below: float = 0.5
            ) -> tuple[CascadeRecognizer, Scripted, list[Scripted]]:
    first, built = Scripted("first", primary), []

    def factory() -> Scripted:
        built.append(Scripted("second", fallback))
        return built[-1]

    return CascadeRecognizer(first, "second", below, factory=factory), first, built


def test_a_sure_primary_reading_never_loads_the_fallback() -> None:
    reader, first, built = cascade(text("AB12CDE", 0.93), text("AB12CDF", 0.99))
    assert reader.read(CROP, "gb") == text("AB12CDE", 0.93)
    assert first.calls == ["gb"] and built == []
    assert reader.name == "first+second"


def test_an_unsure_primary_is_replaced_by_a_surer_fallback_and_kept_as_candidate() -> None:
    reader, _, built = cascade(text("B01XEEN", 0.31), text("B01XEN", 0.94))
    got = reader.read(CROP)
    assert got is not None and got.text == "B01XEN"
    # Re-scored with its look-alikes (0/O, B/8 ...) as candidates: below the raw score, above the primary's.
    assert 0.31 < got.confidence < 0.94
    assert "B01XEEN" in [c.text for c in got.candidates]
    # Loaded once, on the first unsure plate, and reused.
    reader.read(CROP)
    assert len(built) == 1 and built[0].calls == [None, None]


def test_the_surer_of_two_unsure_readings_wins() -> None:
    reader, _, _ = cascade(text("AGB434", 0.45), text("AGB43A", 0.30))
    got = reader.read(CROP)
    assert got is not None and got.text == "AGB434"
    assert [c.text for c in got.candidates] == ["AGB434", "AGB43A"]


def test_with_a_country_a_reading_that_fits_is_not_replaced_by_one_that_does_not() -> None:
    first = text("ABC1234", 0.40, matched=True)
    assert choose(first, text("ABC12345", 0.99), "br").text == "ABC1234"
    # Without the hint nothing rules the longer reading out.
    assert choose(first, text("ABC12345", 0.99), None).text == "ABC12345"


def test_the_fallback_reading_gets_the_country_look_alike_fixes() -> None:
    got = choose(text("0BC1234", 0.1), text("0BC1234", 0.95), "br")
    assert got is not None and got.text == "OBC1234" and got.pattern_matched


def test_a_chinese_character_only_the_fallback_saw_is_dropped_unless_the_hint_is_china() -> None:
    # RapidOCR's Chinese-trained recogniser puts a province in front of a Latin plate.
    got = choose(text("IKHAN91", 0.3), text("粤KHAN91", 0.9))
    assert got is not None and got.text == "KHAN91"
    # ... or any Chinese character: the German DA JG 1749, its D beside the blue band (seen on val).
    assert choose(text("AJG1749", 0.1), text("招AJG1749", 0.26)).text == "AJG1749"
    assert choose(text("IKHAN91", 0.3), text("粤KHAN91", 0.9), "gb").text == "KHAN91"
    # With the China hint, or when our model read a province too, the fallback's province stands.
    assert choose(text("1A12345", 0.3), text("粤A12345", 0.9), "cn").text == "粤A12345"
    assert choose(text("琼N908M3", 0.3), text("京N908M3", 0.9)).text == "京N908M3"
    # Nothing left once the province is dropped: the first reading stands.
    assert choose(text("AB", 0.3), text("粤", 0.9)).text == "AB"


def province_reading(value: str, province: float, rest: float = 0.97, confidence: float = 0.7) -> PlateText:
    """A sure Chinese reading but for its province character."""
    return PlateText(value, confidence, (province, *(rest,) * (len(value) - 1)),
                     (Candidate(value, confidence), Candidate("X" + value[1:], 0.05)), pattern_matched=True)


def test_an_unsure_province_is_taken_from_the_fallback_when_the_rest_agrees() -> None:
    # Seen on val: 苏A57NT9 read as the common 皖 (province 0.89, the reading 0.69 overall).
    reader, _, built = cascade(province_reading("皖A57NT9", 0.89, confidence=0.69), text("苏A·57NT9", 1.0))
    got = reader.read(CROP, "cn")
    assert got is not None and got.text == "苏A57NT9"
    assert built[0].calls == ["cn"]  # sure enough overall (0.69 >= 0.5), asked for the province alone
    assert got.char_confidences[0] == 1.0 and got.char_confidences[1:] == (0.97,) * 6
    assert got.confidence == pytest.approx(min(0.69 / 0.89, 1.0))
    # Our own province stays a candidate, with what the fallback leaves it.
    assert [c.text for c in got.candidates][:2] == ["苏A57NT9", "皖A57NT9"]
    assert got.candidates[1].confidence == pytest.approx(0.0)


def test_a_province_is_not_settled_when_sure_or_when_the_readers_disagree_elsewhere() -> None:
    # A sure province never asks the fallback.
    reader, _, built = cascade(province_reading("皖A57NT9", PROVINCE_BELOW), text("苏A57NT9", 1.0))
    assert reader.read(CROP, "cn").text == "皖A57NT9" and built == []
    unsure = province_reading("皖AW9V20", 0.6)
    for other in ("鲁AW9V2O", "鲁AW9V201", "AW9V20", "皖AW9V20", "1AW9V20"):
        assert settle_province(unsure, text(other, 0.99)) is unsure, other
    assert settle_province(unsure, None) is unsure
    # Not a Chinese reading at all: nothing to settle.
    latin = text("AW9V20", 0.6)
    assert settle_province(latin, text("鲁AW9V20", 0.99)) is latin
    # A reading that fits the country's layout keeps its province against one that does not.
    fitted = dataclasses.replace(province_reading("皖A57NT9", 0.5), country="cn")
    assert settle_province(fitted, text("人A57NT9", 0.99)) is fitted


def test_no_primary_reading_takes_the_fallback_and_no_readings_give_none() -> None:
    got = choose(None, text("KA05MM5991", 0.9))
    assert got is not None and got.text == "KA05MM5991"
    assert choose(None, None) is None
    assert choose(text("X1", 0.1), PlateText("", 0.0)) == text("X1", 0.1)


def test_a_missing_fallback_backend_leaves_the_primary_working(caplog: pytest.LogCaptureFixture) -> None:
    calls = []

    def unavailable() -> Scripted:
        calls.append(1)
        raise BackendUnavailableError("rapidocr-onnxruntime is not installed")

    reader = CascadeRecognizer(Scripted("first", text("AB1", 0.2)), "rapidocr", factory=unavailable)
    with caplog.at_level(logging.WARNING):
        assert reader.read(CROP) == text("AB1", 0.2)
        assert reader.read(CROP) == text("AB1", 0.2)
    assert calls == [1]
    assert "OCR fallback rapidocr unavailable" in caplog.text


@pytest.mark.parametrize("below", [0.0, -0.1, 1.5])
def test_threshold_out_of_range_is_refused(below: float) -> None:
    with pytest.raises(ValueError, match="below="):
        CascadeRecognizer(Scripted("first", None), "second", below)
    with pytest.raises(ConfigError, match="ocr_fallback_below"):
        Config().replace(ocr_fallback_below=below)


@pytest.mark.parametrize("spec", ["plateocr+plateocr", "plateocr+nope", "plateocr+rapidocr+tesseract", "+rapidocr"])
def test_malformed_cascades_are_config_errors(spec: str) -> None:
    with pytest.raises(ConfigError, match="two different backends"):
        create_recognizer(spec)


def test_the_default_reader_is_the_cascade_and_reads_a_real_photo(data_dir: Path) -> None:
    assert DEFAULT_CASCADE in available_backends() and Config().ocr == DEFAULT_CASCADE
    recognizer = recognizer_for(Config(ocr_fallback_below=0.7))
    assert isinstance(recognizer, CascadeRecognizer) and recognizer.below == 0.7
    reader = Reader(config=Config())
    plates = reader.read(load_image(data_dir / "detect" / "images" / "openlpr" / "10.jpg"))
    assert [p.text.text for p in plates if p.text] == ["CV58VP"]


class Calibrated(Scripted):
    """A primary with its own scores (``read_uncalibrated``) and calibrations, like PlateOcrRecognizer."""

    calibration = Calibration(1.0, 2.0)
    fallback_calibration = Calibration(0.5, 0.0)

    def read_uncalibrated(self, crop: np.ndarray, country: str | None = None) -> PlateText | None:
        return self.read(crop, country)


def test_the_cascade_decides_on_the_primary_s_own_scores_and_calibrates_what_it_returns() -> None:
    sure = Calibrated("first", text("AB12CDE", 0.6))
    reader = CascadeRecognizer(sure, "second", 0.5, factory=lambda: Scripted("second", text("AB12CDF", 0.99)))
    out = reader.read(CROP, "gb")
    assert out is not None and out.text == "AB12CDE"  # 0.6 is sure enough: the fallback is not asked
    assert out.confidence == pytest.approx(Calibration(1.0, 2.0)(0.6))
    # Unsure (0.3 < 0.5, though calibrated it would be 0.76): the fallback reads, wins, gets its own calibration.
    unsure = Calibrated("first", text("B01XEEN", 0.3))
    reader = CascadeRecognizer(unsure, "second", 0.5, factory=lambda: Scripted("second", text("B01XEN", 0.94)))
    out = reader.read(CROP)
    rescored = choose(text("B01XEEN", 0.3), text("B01XEN", 0.94))
    assert out is not None and rescored is not None and out.text == rescored.text == "B01XEN"
    assert out.confidence == pytest.approx(Calibration(0.5, 0.0)(rescored.confidence))
