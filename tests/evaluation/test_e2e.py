"""End-to-end metrics on hand-made scenes with known answers: matching, reads, misses and false reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from numberplate.config import Config
from numberplate.errors import DatasetError
from numberplate.evaluation.e2e import evaluate_e2e, match, read_e2e_labels
from numberplate.pipeline import Reader
from numberplate.types import BoundingBox, Detection, PlateText

HEADER = "image,xmin,ymin,xmax,ymax,text,legible,source\n"


class ScriptedDetector:
    """Returns fixed boxes per image width (each test image has its own width)."""

    def __init__(self, boxes: dict[int, list[BoundingBox]]):
        self.boxes = boxes

    def detect(self, image: np.ndarray) -> list[Detection]:
        return [Detection(b, 0.9) for b in self.boxes.get(image.shape[1], [])]


class ByPosition:
    """Reads a crop as the text registered for its left edge."""

    name = "scripted"

    def __init__(self, texts: dict[int, str]):
        self.texts = texts
        self.calls = 0

    def read(self, crop: np.ndarray, country: str | None = None) -> PlateText | None:
        text = self.texts[self.calls]
        self.calls += 1
        return PlateText(text, 0.9) if text else None


def test_match_is_one_to_one_best_iou_first() -> None:
    a, b = BoundingBox(0, 0, 10, 10), BoundingBox(20, 0, 30, 10)
    assert match([a, b], [BoundingBox(21, 0, 31, 10), BoundingBox(0, 0, 10, 10)]) == {0: 1, 1: 0}
    assert match([a], [BoundingBox(5, 5, 15, 15)]) == {}  # IoU 1/7 < 0.5
    assert match([a, BoundingBox(0, 0, 10, 11)], [a]) == {0: 0}


def test_labels_parse_and_reject_bad_rows(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "s/a.jpg,1,2,30,12,ab12cde,yes,x\ns/a.jpg,40,2,60,12,,no,x\n")
    labels = read_e2e_labels(good)
    assert labels[0].text == "AB12CDE" and labels[1].text is None and labels[0].box.xmax == 30
    for body, message in (("s,1,2,3,4,A,maybe,x\n", "legible"), ("s,1,2,x,4,A,yes,x\n", "xmax is not a number"),
                          ("s,1,2,1,4,A,yes,x\n", "must be greater than xmin"),
                          ("s,1,2,3,4,,yes,x\n", "needs its text")):
        bad = tmp_path / "bad.csv"
        bad.write_text(HEADER + body)
        with pytest.raises(DatasetError, match=message):
            read_e2e_labels(bad)
    (tmp_path / "cols.csv").write_text("image,text\n")
    with pytest.raises(DatasetError, match="missing column"):
        read_e2e_labels(tmp_path / "cols.csv")


def test_reads_misses_wrong_texts_and_false_reads(tmp_path: Path) -> None:
    for name, width in (("one.png", 200), ("two.png", 300)):
        Image.fromarray(np.full((100, width, 3), 128, np.uint8)).save(tmp_path / name)
    labels = tmp_path / "labels.csv"
    labels.write_text(HEADER + "\n".join([
        "one.png,10,10,60,30,AAA111,yes,s1",   # read right
        "one.png,100,10,150,30,BBB222,yes,s1",  # detected, read wrong
        "two.png,10,10,60,30,CCC333,yes,s2",   # not detected
        "two.png,100,60,150,80,,no,s2",        # illegible: not scored, reading it is not false
    ]) + "\n")
    detector = ScriptedDetector({
        200: [BoundingBox(11, 10, 61, 30), BoundingBox(100, 11, 150, 31)],
        300: [BoundingBox(100, 60, 150, 80), BoundingBox(200, 10, 250, 30), BoundingBox(250, 60, 290, 80)],
    })
    recognizer = ByPosition({0: "AAA111", 1: "BBB223", 2: "ZZZ", 3: "FALSE1", 4: "KNOWN1"})
    reader = Reader(detector, recognizer, config=Config())
    known = {"two.png": [BoundingBox(250, 60, 290, 80)]}  # boxed in the detect labels, no text label
    table, records = evaluate_e2e(reader, read_e2e_labels(labels), tmp_path, known)
    assert table["s1"]["plates"] == 2 and table["s1"]["read"] == 0.5 and table["s1"]["detected"] == 1.0
    assert table["s2"]["plates"] == 1 and table["s2"]["detected"] == 0.0 and table["s2"]["false_reads"] == 1
    assert table["all"]["plates"] == 3 and table["all"]["read"] == pytest.approx(1 / 3)
    assert table["all"]["read_if_detected"] == 0.5 and table["all"]["false_reads"] == 1
    assert list(table) == ["s1", "s2", "all"]
    scored = [r for r in records if not r["false_read"]]
    assert {r["truth"]: r["read"] for r in scored} == {"AAA111": "AAA111", "BBB222": "BBB223", "CCC333": None}
    # The false read is listed too, with where it was; the read of the boxed plate without text is not.
    assert [(r["image"], r["truth"], r["read"], r["box"]) for r in records if r["false_read"]] == [
        ("two.png", None, "FALSE1", [200, 10, 250, 30])]
    # Calibration over the detected plates only: both read at 0.9, one right (CCC333, never found, is not scored).
    assert table["s1"]["calibration_error"] == pytest.approx(0.4) and np.isnan(table["s2"]["calibration_error"])
    assert table["all"]["calibration_error"] == pytest.approx(0.4)
    assert [r["confidence"] for r in scored] == [0.9, 0.9, None]


class ByWidth:
    """Reads right only a crop of exactly ``width`` px (the detected box, padded), else a neighbour's text."""

    name = "by-width"

    def __init__(self, width: int):
        self.width = width

    def read(self, crop: np.ndarray, country: str | None = None) -> PlateText | None:
        return PlateText("AAA111" if crop.shape[1] == self.width else "AAA11I", 0.9)


def test_jitter_tells_reads_that_hang_on_the_box_edges_from_stable_ones(tmp_path: Path) -> None:
    Image.fromarray(np.full((100, 200, 3), 128, np.uint8)).save(tmp_path / "one.png")
    labels = tmp_path / "labels.csv"
    labels.write_text(HEADER + "one.png,10,10,60,30,AAA111,yes,s1\n")
    detector = ScriptedDetector({200: [BoundingBox(10, 10, 60, 30)]})
    rows = read_e2e_labels(labels)
    # Right from the detected box (54 px wide once padded) only: not stable under a 3-px jitter.
    brittle = Reader(detector, ByWidth(54), config=Config())
    table, _ = evaluate_e2e(brittle, rows, tmp_path)
    assert table["all"]["read"] == table["all"]["stable"] == 1.0  # without jitter every right read is stable
    assert table["all"]["soft"] == 1.0
    table, _ = evaluate_e2e(brittle, rows, tmp_path, jitter=3, jitter_reads=8)
    assert table["all"]["read"] == 1.0 and table["all"]["stable"] == 0.0
    # soft: the box and the moved boxes that keep the width (each side moved alike) read right, the rest not.
    assert 1 / 9 <= table["all"]["soft"] < 1.0
    steady = Reader(detector, ByPosition(dict.fromkeys(range(5), "AAA111")), config=Config())
    table, _ = evaluate_e2e(steady, rows, tmp_path, jitter=3)
    assert table["all"]["read"] == table["all"]["stable"] == table["all"]["soft"] == 1.0


class WithCorners(ScriptedDetector):
    """Like ScriptedDetector, with each box's corners (the Reader then reads the rectified quadrilateral)."""

    def detect(self, image: np.ndarray) -> list[Detection]:
        return [Detection(d.box, d.confidence, ((d.box.xmin, d.box.ymin), (d.box.xmax, d.box.ymin),
                                                (d.box.xmax, d.box.ymax), (d.box.xmin, d.box.ymax)))
                for d in super().detect(image)]


def test_jitter_moves_the_corners_of_a_detection_that_has_them(tmp_path: Path) -> None:
    Image.fromarray(np.full((100, 200, 3), 128, np.uint8)).save(tmp_path / "one.png")
    labels = tmp_path / "labels.csv"
    labels.write_text(HEADER + "one.png,10,10,60,30,AAA111,yes,s1\n")
    rows = read_e2e_labels(labels)
    # Rectified from its corners the plate is 50x20, warped to 64 px high: 160 px wide. Moved corners change it.
    brittle = Reader(WithCorners({200: [BoundingBox(10, 10, 60, 30)]}), ByWidth(160), config=Config())
    table, _ = evaluate_e2e(brittle, rows, tmp_path)
    assert table["all"]["read"] == 1.0
    table, _ = evaluate_e2e(brittle, rows, tmp_path, jitter=3, jitter_reads=8)
    assert table["all"]["read"] == 1.0 and table["all"]["stable"] == 0.0 and table["all"]["soft"] < 1.0


def test_soft_credits_moved_boxes_that_read_right_where_the_box_reads_wrong(tmp_path: Path) -> None:
    Image.fromarray(np.full((100, 200, 3), 128, np.uint8)).save(tmp_path / "one.png")
    labels = tmp_path / "labels.csv"
    labels.write_text(HEADER + "one.png,10,10,60,30,AAA11I,yes,s1\n" + "one.png,100,60,150,80,BBB222,yes,s1\n")
    detector = ScriptedDetector({200: [BoundingBox(10, 10, 60, 30)]})  # the second plate is missed
    rows = read_e2e_labels(labels)
    # Wrong (AAA111) from the detected box, 54 px wide once padded; right (AAA11I) from a box of another width.
    unlucky = Reader(detector, ByWidth(54), config=Config())
    table, _ = evaluate_e2e(unlucky, rows, tmp_path, jitter=3, jitter_reads=8)
    row = table["all"]
    assert row["read"] == 0.0 and row["stable"] == 0.0
    # The missed plate counts 0; the found one the share of right reads among its box and 8 moved ones.
    assert 0.0 < row["soft"] <= 0.5 * 8 / 9


def test_duplicate_rows_are_dropped_and_do_not_halve_detected(tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    Image.fromarray(np.full((100, 200, 3), 128, np.uint8)).save(tmp_path / "one.png")
    labels = tmp_path / "labels.csv"
    labels.write_text(HEADER + "one.png,10,10,60,30,aaa 111,yes,s1\none.png,10,10,60,30,AAA111,yes,s1\n")
    rows = read_e2e_labels(labels)
    assert len(rows) == 1 and rows[0].text == "AAA111" and rows[0].where == f"{labels}:2"
    assert f"{labels}: dropped 1 duplicate row(s) (the same image, box and text as an earlier row): line(s) 3" \
        in caplog.text
    reader = Reader(ScriptedDetector({200: [BoundingBox(10, 10, 60, 30)]}), ByPosition({0: "AAA111"}), config=Config())
    table, _ = evaluate_e2e(reader, rows, tmp_path)
    assert table["all"]["plates"] == 1 and table["all"]["detected"] == 1.0  # was 0.5: the same plate twice


def test_an_image_that_cannot_be_read_names_its_labels_row(tmp_path: Path) -> None:
    (tmp_path / "notes.png").write_text("not a picture")
    labels = tmp_path / "labels.csv"
    labels.write_text(HEADER + "notes.png,10,10,60,30,AAA111,yes,s1\n")
    reader = Reader(ScriptedDetector({}), ByPosition({}), config=Config())
    with pytest.raises(DatasetError, match=rf"^{labels}:2: {tmp_path / 'notes.png'} is not an image"):
        evaluate_e2e(reader, read_e2e_labels(labels), tmp_path)
