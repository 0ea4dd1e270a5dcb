"""OCR metrics on hand-made cases whose answers are known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from numberplate.errors import DatasetError
from numberplate.evaluation.ocr import (
    OcrSample,
    char_accuracy,
    corrected,
    evaluate_recognizer,
    label_text,
    levenshtein,
    read_corrections,
    read_ocr_labels,
)
from numberplate.types import Candidate, PlateText


class ScriptedRecognizer:
    """Answers from a table keyed by the crop's first pixel value; records the country hints it got."""

    name = "scripted"

    def __init__(self, answers: dict[int, str | None]):
        self.answers = answers
        self.countries: list[str | None] = []

    def read(self, crop: np.ndarray, country: str | None = None) -> PlateText | None:
        self.countries.append(country)
        text = self.answers[int(crop[0, 0, 0])]
        return None if text is None else PlateText(text, 0.5)


def crop(key: int) -> np.ndarray:
    return np.full((4, 8, 3), key, np.uint8)


@pytest.mark.parametrize(("a", "b", "d"), [("kitten", "sitting", 3), ("", "ABC", 3), ("ABC", "ABC", 0),
                                           ("AB12CD", "AB12DC", 2), ("沪A1", "A1", 1)])
def test_levenshtein(a: str, b: str, d: int) -> None:
    assert levenshtein(a, b) == d
    assert levenshtein(b, a) == d


def test_char_accuracy() -> None:
    assert char_accuracy("ABC124", "ABC123") == pytest.approx(5 / 6)
    assert char_accuracy("ABC1234", "ABC123") == pytest.approx(6 / 7)
    assert char_accuracy("", "AB") == 0.0
    assert char_accuracy("", "") == 1.0


def test_evaluate_per_source_and_overall() -> None:
    rows = [
        OcrSample(crop(1), "AB123", "br", "br"),  # exact
        OcrSample(crop(2), "CD456", "br", "br"),  # one substitution: char accuracy 0.8
        OcrSample(crop(3), "京A12345", "cn", "cn"),  # no read
        OcrSample(crop(4), "XYZ", "us", "us"),  # exact
    ]
    rec = ScriptedRecognizer({1: "AB123", 2: "CD457", 3: None, 4: "XYZ"})
    out = evaluate_recognizer(rec, rows, with_reads=True)
    assert out["backend"] == "scripted"
    assert rec.countries == ["br", "br", "cn", "us"]
    br, cn, us = (out["by_source"][s] for s in ("br", "cn", "us"))
    assert (br["plates"], br["exact"], br["char_accuracy"], br["no_read"]) == (2, 0.5, pytest.approx(0.9), 0.0)
    assert (cn["plates"], cn["exact"], cn["char_accuracy"], cn["no_read"]) == (1, 0.0, 0.0, 1.0)
    assert (us["exact"], us["char_accuracy"]) == (1.0, 1.0)
    overall = out["overall"]
    assert (overall["plates"], overall["exact"], overall["no_read"]) == (4, 0.5, 0.25)
    assert overall["char_accuracy"] == pytest.approx((1 + 0.8 + 0 + 1) / 4)
    assert overall["ms_per_plate"] >= 0.0
    assert [r["predicted"] for r in out["reads"]] == ["AB123", "CD457", "", "XYZ"]


def test_in_candidates_counts_the_truth_among_the_listed_candidates() -> None:
    class WithCandidates:
        name = "cands"

        def read(self, crop: np.ndarray, country: str | None = None) -> PlateText | None:
            if int(crop[0, 0, 0]) == 3:
                return None
            return PlateText("ABC123", 0.6, candidates=(Candidate("ABC123", 0.6), Candidate("A8C123", 0.3)))

    rows = [OcrSample(crop(1), "ABC123", "br"), OcrSample(crop(2), "A8C123", "br"), OcrSample(crop(2), "XYZ999", "br"),
            OcrSample(crop(3), "ABC123", "br")]
    m = evaluate_recognizer(WithCandidates(), rows)["overall"]
    assert (m["exact"], m["in_candidates"]) == (0.25, 0.5)


def test_evaluate_reports_mean_confidence_and_calibration_error() -> None:
    # ScriptedRecognizer says 0.5 for every read: 1 of 2 right is calibrated, 2 of 2 right is 0.5 off.
    rows = [OcrSample(crop(1), "AB123", "a"), OcrSample(crop(2), "XX", "a"), OcrSample(crop(1), "AB123", "b"),
            OcrSample(crop(1), "AB123", "b"), OcrSample(crop(3), "CD456", "c")]
    out = evaluate_recognizer(ScriptedRecognizer({1: "AB123", 2: "CD457", 3: None}), rows)
    a, b, c = (out["by_source"][s] for s in "abc")
    assert (a["mean_confidence"], a["calibration_error"]) == (0.5, 0.0)
    assert (b["mean_confidence"], b["calibration_error"]) == (0.5, 0.5)
    assert (c["mean_confidence"], c["calibration_error"]) == (0.0, 0.0)  # no read: confidence 0, wrong


def test_evaluate_loads_image_paths(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "plate.png"
    Image.fromarray(crop(7)).save(path)
    out = evaluate_recognizer(ScriptedRecognizer({7: "OK1"}), [OcrSample(path, "OK1", "x")])
    assert out["overall"]["exact"] == 1.0


def test_evaluate_nothing_gives_nan() -> None:
    out = evaluate_recognizer(ScriptedRecognizer({}), [])
    assert out["by_source"] == {}
    assert np.isnan(out["overall"]["exact"])


def test_read_ocr_labels(tmp_path: Path) -> None:
    (tmp_path / "ocr").mkdir()
    labels = tmp_path / "ocr" / "labels.csv"
    labels.write_text(
        "image,text,country,source,split\n"
        "ocr/crops/us/ca1.jpg,5UMH719,us-ca,us,val\n"
        "ocr/crops/br/a.jpg,AXK3125,br,br,train\n"
        "ocr/crops/cn/b.jpg,京A12345,cn,cn,val\n",
        encoding="utf-8",
    )
    val = read_ocr_labels(labels, split="val")
    assert [(s.text, s.country, s.source) for s in val] == [("5UMH719", "us", "us"), ("京A12345", "cn", "cn")]
    assert val[0].image == tmp_path / "ocr" / "crops" / "us" / "ca1.jpg"
    assert len(read_ocr_labels(labels)) == 3
    assert read_ocr_labels(labels, root=Path("/data"))[1].image == Path("/data/ocr/crops/br/a.jpg")


@pytest.mark.parametrize(
    ("content", "message"),
    [("image,text,source\nx.jpg,AB,br\n", "missing column"), ("image,text,country,source,split\nx.jpg,,br,br,val\n",
                                                              "image and its text")],
)
def test_read_ocr_labels_rejects_malformed_files(tmp_path: Path, content: str, message: str) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text(content)
    with pytest.raises(DatasetError, match=message):
        read_ocr_labels(labels)
    with pytest.raises(DatasetError, match="cannot read"):
        read_ocr_labels(tmp_path / "missing.csv")


def test_synthetic_samples_cover_every_layout_at_its_aspect_with_known_hints_only() -> None:
    from numberplate.evaluation.ocr import synthetic_ocr_samples
    from numberplate.formats.patterns import known_countries
    from numberplate.train.synth import LAYOUTS

    samples = synthetic_ocr_samples(2, seed=3)
    assert [s.source for s in samples] == [layout.name for layout in LAYOUTS for _ in range(2)]
    by_name = {layout.name: layout for layout in LAYOUTS}
    for s in samples:
        layout = by_name[s.source]
        assert isinstance(s.image, np.ndarray) and s.image.shape[0] == 64 and s.text
        assert s.image.shape[1] == pytest.approx(64 * layout.size_mm[0] / layout.size_mm[1], abs=1)
        assert s.country == (layout.country if layout.country in known_countries() else None)
    assert {s.country for s in samples if s.source == "moto_eu"} == {None}  # "eu" has no pattern data
    assert {s.country for s in samples if s.source == "eu_be"} == {"be"}
    again = synthetic_ocr_samples(2, seed=3)
    assert all(np.array_equal(a.image, b.image) and a.text == b.text for a, b in zip(samples, again))


def test_a_crop_on_its_side_is_read_turned_as_the_reader_reads_it() -> None:
    class UprightOnly:
        """Reads the plate surely only from a crop wider than tall, with its left column marked 9."""

        name = "upright"

        def read(self, crop: np.ndarray, country: str | None = None) -> PlateText | None:
            h, w = crop.shape[:2]
            upright = w > h and crop[h // 2, 0, 0] == 9
            return PlateText("AB123" if upright else "XX", 0.9 if upright else 0.1)

    sideways = np.zeros((30, 10, 3), np.uint8)
    sideways[-1, 5] = 9  # the bottom row becomes the left column when turned a quarter clockwise
    out = evaluate_recognizer(UprightOnly(), [OcrSample(sideways, "AB123", "s"),
                                              OcrSample(np.zeros((10, 30, 3), np.uint8), "AB123", "s")])
    assert out["by_source"]["s"]["exact"] == 0.5  # the sideways crop turned and read; the blank one not


def test_corrections_relabel_or_leave_out_named_crops(tmp_path: Path) -> None:
    path = tmp_path / "corrections.csv"
    path.write_text("image,text,note\nocr/a.jpg,ab12 cde,seen\nocr/b.jpg,,a sign\n", encoding="utf-8")
    corrections = read_corrections(path)
    assert corrections == {"ocr/a.jpg": "AB12CDE", "ocr/b.jpg": None}  # as readers write it: no space
    samples = [OcrSample(tmp_path / "ocr" / name, "X1", "s") for name in ("a.jpg", "b.jpg", "c.jpg")]
    assert [(s.image.name, s.text) for s in corrected(samples, corrections, tmp_path)] == [
        ("a.jpg", "AB12CDE"), ("c.jpg", "X1")]
    (tmp_path / "bad.csv").write_text("image,text\n,AB1\n")
    with pytest.raises(DatasetError, match="needs an image"):
        read_corrections(tmp_path / "bad.csv")


def test_label_texts_are_compared_in_the_form_readers_write_them(tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text("image,text,country,source,split\na.png,117t 3989,tn,tn,val\nb.png,ab-12,,x,val\n")
    first, second = read_ocr_labels(labels)
    assert (first.text, second.text, second.country) == ("117T3989", "AB12", None)
    assert label_text(" 117t 3989 ") == "117T3989" == read_ocr_labels(labels)[0].text
    # A sample made in code (not read from a CSV) is normalised when scored: it used to score 0.
    out = evaluate_recognizer(ScriptedRecognizer({7: "117T3989"}), [OcrSample(crop(7), "117t 3989", "tn")])
    assert out["overall"]["exact"] == 1.0


def test_ocr_labels_name_the_row_of_an_unknown_country_and_drop_duplicates(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text("image,text,country,source,split\na.png,AB1,br,br,val\na.png,AB1,br,br,val\nb.png,CD2,br,br,val\n")
    assert [(s.image.name, s.line) for s in read_ocr_labels(labels)] == [("a.png", 2), ("b.png", 4)]
    assert f"{labels}: dropped 1 duplicate row(s) (the same crop and text as an earlier row): line(s) 3" in caplog.text
    labels.write_text("image,text,country,source,split\na.png,AB1,br,br,val\nb.png,CD2,xx,br,val\n")
    with pytest.raises(DatasetError, match=rf"^{labels}:3: unknown country code 'xx'; known codes: .*; fix the country "
                                           "column or leave it empty$"):
        read_ocr_labels(labels)
    assert len(read_ocr_labels(labels, split="train")) == 0  # rows of other splits are not checked
