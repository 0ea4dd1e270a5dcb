"""Pseudo-labelled OCR crops from the detect scenes: agreement, leaks kept out, the CSV written."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from numberplate.train.ocr.data import load_crops
from numberplate.train.ocr.pseudo import Blindspot, Referee, agreed_text, pseudo_label, repair_layout
from numberplate.types import BoundingBox, Detection, PlateText


class Fixed:
    """A reader that always answers the same text with a fixed confidence."""

    name = "fixed"

    def __init__(self, text: str | None, confidence: float = 0.9):
        self.text, self.confidence, self.calls = text, confidence, 0

    def read(self, crop: np.ndarray, country: str | None = None) -> PlateText | None:
        self.calls += 1
        return None if self.text is None else PlateText(self.text, self.confidence)


def test_agreed_text_needs_every_reader_sure_and_equal() -> None:
    crop = np.zeros((20, 60, 3), np.uint8)
    assert agreed_text([Fixed("AB123"), Fixed("AB123")], crop, 0.5) == "AB123"
    assert agreed_text([Fixed("AB123"), Fixed("AB128")], crop, 0.5) is None
    assert agreed_text([Fixed("AB123"), Fixed("AB123", 0.3)], crop, 0.5) is None
    unsure = Fixed(None)
    second = Fixed("AB123")
    assert agreed_text([unsure, second], crop, 0.5) is None
    assert second.calls == 0  # stops at the first reader that gives up


def test_pseudo_label_writes_agreed_crops_as_an_ocr_csv(tmp_path: Path, data_dir: Path) -> None:
    labels = data_dir / "detect" / "labels.csv"
    stats = pseudo_label(labels, tmp_path, [Fixed("XY1234"), Fixed("XY1234")], limit=3)
    with open(tmp_path / "labels.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and len(rows) == sum(stats.written.values())
    assert all(r["text"] == "XY1234" and r["split"] == "train" and r["source"].startswith("pseudo-") for r in rows)
    for r in rows:
        img = cv2.imread(str(tmp_path / r["image"]))
        assert img is not None and img.shape[0] >= 12
    # The CSV is what `train ocr --extra-data` reads.
    assert len(load_crops(tmp_path / "labels.csv", "train", (64, 160))) == len(rows)
    assert "all" in stats.table()


def test_pseudo_label_keeps_val_texts_and_disagreements_out(tmp_path: Path, data_dir: Path) -> None:
    labels = data_dir / "detect" / "labels.csv"
    excluded = pseudo_label(labels, tmp_path / "a", [Fixed("XY1234"), Fixed("XY1234")], limit=3,
                            exclude_texts={"XY1234"})
    assert sum(excluded.agreed.values()) > 0 and sum(excluded.written.values()) == 0
    split = pseudo_label(labels, tmp_path / "b", [Fixed("XY1234"), Fixed("XY1235")], limit=3)
    assert sum(split.agreed.values()) == 0
    with pytest.raises(ValueError, match="at least two"):
        pseudo_label(labels, tmp_path / "c", [Fixed("XY1234")], limit=3)


def test_agreed_look_alike_misreads_are_repaired_to_the_layout_and_the_rest_dropped(tmp_path: Path,
                                                                                    data_dir: Path) -> None:
    labels = data_dir / "detect" / "labels.csv"
    # Two readers agreeing on a UK plate's bare 1 read as I: FNI2PZX fits no layout; FN12PZX does.
    shared_blind_spot = [Fixed("FNI2PZX"), Fixed("FNI2PZX")]
    repaired = pseudo_label(labels, tmp_path / "a", shared_blind_spot, limit=3)
    with open(tmp_path / "a" / "labels.csv", newline="", encoding="utf-8") as fh:
        texts = {r["text"] for r in csv.DictReader(fh)}
    assert texts == {"FN12PZX"}
    assert sum(repaired.repaired.values()) == sum(repaired.written.values()) == sum(repaired.agreed.values()) > 0
    assert "repaired" in repaired.table()
    nonsense = pseudo_label(labels, tmp_path / "b", [Fixed("ZZZZZZZZZ"), Fixed("ZZZZZZZZZ")], limit=3)
    assert sum(nonsense.agreed.values()) > 0 and sum(nonsense.written.values()) == 0
    kept = pseudo_label(labels, tmp_path / "c", shared_blind_spot, limit=3, known_layouts_only=False)
    assert sum(kept.written.values()) == sum(kept.agreed.values()) and sum(kept.repaired.values()) == 0
    # A repair onto a val text is kept out like the val text itself.
    leak = pseudo_label(labels, tmp_path / "d", shared_blind_spot, limit=3, exclude_texts={"FN12PZX"})
    assert sum(leak.written.values()) == 0


@pytest.mark.parametrize(("read", "fixed"), [
    ("AB12CDE", "AB12CDE"),  # fits: unchanged
    ("PKI6XZT", "PK16XZT"),  # the UK's bare 1
    ("ABIICDE", "AB11CDE"),  # two bare ones
    ("HEMI6T8", None),  # a vanity plate: no UK layout with the I turned into a 1
    ("QX134799", None),  # no I to turn; other look-alike repairs are not made (LE134799 is now Spanish, León)
    ("ZZZZZZZZZ", None),
])
def test_repair_layout_turns_bare_ones_read_as_i_into_a_uk_layout(read: str, fixed: str | None) -> None:
    assert repair_layout(read) == fixed


def test_cli_refuses_a_single_reader(tmp_path: Path, data_dir: Path) -> None:
    from click.testing import CliRunner

    from numberplate.train.cli import train_group

    result = CliRunner().invoke(train_group, [
        "pseudo-label", "--data", str(data_dir / "detect" / "labels.csv"),
        "--ocr-data", str(data_dir / "ocr" / "labels.csv"), "--out", str(tmp_path), "--reader", "plateocr"])
    assert result.exit_code == 2 and "at least two different --reader" in result.output


def test_referee_settles_near_agreements_only_when_very_sure() -> None:
    crop = np.zeros((20, 60, 3), np.uint8)
    judge = Referee(index=1, min_confidence=0.9, max_distance=2)
    ours, theirs = Fixed("VX58WVF", 0.8), Fixed("VX58HVF", 0.95)
    assert agreed_text([ours, theirs], crop, 0.5) is None
    assert agreed_text([ours, theirs], crop, 0.5, judge) == "VX58HVF"
    assert agreed_text([ours, Fixed("VX58HVF", 0.85)], crop, 0.5, judge) is None  # referee not sure enough
    assert agreed_text([Fixed("XQQ6K8"), Fixed("YX09CRJ", 0.99)], crop, 0.5, judge) is None  # too far apart
    assert agreed_text([Fixed("AB123"), Fixed("AB123")], crop, 0.5, judge) == "AB123"  # plain agreement still wins
    # O/0, I/1 ... disagreements are ambiguous glyphs: no reader's confidence settles them
    assert agreed_text([Fixed("B152FTO"), Fixed("B152FT0", 0.99)], crop, 0.5, judge) is None
    assert agreed_text([Fixed("M666YOB"), Fixed("M666Y08", 0.99)], crop, 0.5, judge) is None


def test_a_reader_without_arabic_confirms_the_digits_of_tunisian_plates() -> None:
    crop = np.zeros((20, 60, 3), np.uint8)
    blind = Blindspot(index=1)
    # RapidOCR reads 123 4567 around the word for Tunisia that our labels write as T (N: the NT series)
    assert agreed_text([Fixed("123T4567"), Fixed("1234567")], crop, 0.5, blindspot=blind) == "123T4567"
    assert agreed_text([Fixed("4567N123456"), Fixed("4567123456")], crop, 0.5, blindspot=blind) == "4567N123456"
    assert agreed_text([Fixed("123T4567"), Fixed("1234561")], crop, 0.5, blindspot=blind) is None  # digits differ
    assert agreed_text([Fixed("123T4567"), Fixed("12304567")], crop, 0.5, blindspot=blind) is None  # word read as 0
    assert agreed_text([Fixed("123T4567"), Fixed("1234567", 0.3)], crop, 0.5, blindspot=blind) is None  # unsure
    # the sighted reader must have seen the word: equal texts without it are not a Tunisian reading
    assert agreed_text([Fixed("1234567"), Fixed("1234567")], crop, 0.5, blindspot=blind) is None
    # and without the blind spot the two readings are simply different
    assert agreed_text([Fixed("123T4567"), Fixed("1234567")], crop, 0.5) is None


def test_pseudo_label_checks_the_blind_reader_only_on_its_sources(tmp_path: Path, data_dir: Path) -> None:
    labels = data_dir / "detect" / "labels.csv"
    blind = Blindspot(index=1, sources=frozenset({"tunisia"}))
    stats = pseudo_label(labels, tmp_path / "a", [Fixed("123T4567"), Fixed("1234567")], blindspot=blind,
                         known_layouts_only=False)
    with open(tmp_path / "a" / "labels.csv", newline="") as fh:
        written = {row["source"] for row in csv.DictReader(fh)}
    assert written == {"pseudo-tunisia"}
    assert stats.written["tunisia"] > 0 and stats.agreed["openlpr"] == 0 < stats.readable["openlpr"]


class Shifted:
    """A detector that boxes every plate of the scene at a fixed offset from the label (and one stray box)."""

    def __init__(self, labels: list[tuple[float, float, float, float]], dx: float):
        self.labels, self.dx, self.calls = labels, dx, 0

    def detect(self, image: np.ndarray) -> list[Detection]:
        self.calls += 1
        found = [Detection(BoundingBox(x0 + self.dx, y0, x1 + self.dx, y1), 0.9) for x0, y0, x1, y1 in self.labels]
        return [*found, Detection(BoundingBox(0, 0, 5, 5), 0.9)]


def test_pseudo_label_can_cut_where_the_detector_boxes_the_plate(tmp_path: Path, data_dir: Path) -> None:
    from numberplate.train.detect.data import iter_scenes

    labels = data_dir / "detect" / "labels.csv"
    scene = next(s for s in iter_scenes(labels, "train", max_side=None, limit=1) if len(s.boxes))
    x0, y0, x1, y1 = scene.boxes[0].tolist()
    readers = [Fixed("AB12CDE"), Fixed("AB12CDE")]
    by_label = pseudo_label(labels, tmp_path / "label", readers, limit=1)
    near = Shifted([(x0, y0, x1, y1)], dx=0.1 * (x1 - x0))
    by_detector = pseudo_label(labels, tmp_path / "det", readers, limit=1, detector=near)
    assert near.calls == 1 and by_detector.written == by_label.written
    cut_label = cv2.imread(str(next((tmp_path / "label" / "crops").rglob("*.jpg"))))
    cut_detector = cv2.imread(str(next((tmp_path / "det" / "crops").rglob("*.jpg"))))
    assert abs(cut_label.shape[1] - cut_detector.shape[1]) <= 1  # the same size, shifted
    cut_detector = cv2.resize(cut_detector, cut_label.shape[1::-1])
    assert np.abs(cut_label.astype(int) - cut_detector).mean() > 5
    # a plate the detector misses (best IoU under 0.5) is not written
    far = Shifted([(x0, y0, x1, y1)], dx=0.9 * (x1 - x0))
    missed = pseudo_label(labels, tmp_path / "far", readers, limit=1, detector=far)
    assert sum(missed.written.values()) == 0 and sum(missed.readable.values()) > 0
