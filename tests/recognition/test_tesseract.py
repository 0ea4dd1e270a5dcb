"""Tesseract backend: the real binary on rendered plates and val crops, and what happens without it."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import numpy as np
import pytest

from numberplate.errors import BackendUnavailableError
from numberplate.evaluation.ocr import read_ocr_labels
from numberplate.imaging import load_image
from numberplate.recognition import Recognizer, create_recognizer
from numberplate.recognition.tesseract import (
    TesseractRecognizer,
    count_text_rows,
    parse_tsv,
    preprocess,
    words_to_plate,
)
from tests.fakes import render_text_crop as render

TSV_HEADER = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"


@pytest.fixture(scope="module")
def recognizer() -> TesseractRecognizer:
    return TesseractRecognizer()


def fake_binary(folder: Path, script: str) -> None:
    path = folder / "tesseract"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_reads_rendered_plate_exactly(recognizer: TesseractRecognizer) -> None:
    read = recognizer.read(render("ABC1234"))
    assert read is not None
    assert read.text == "ABC1234"
    assert 0.0 < read.confidence <= 1.0
    assert len(read.char_confidences) == len(read.text)
    assert read.candidates[0].text == "ABC1234"


def test_reads_light_on_dark_and_two_line_plates(recognizer: TesseractRecognizer) -> None:
    inverted = recognizer.read(255 - render("7XYZ890"))
    assert inverted is not None and inverted.text == "7XYZ890"
    two_lines = recognizer.read(render("AB12", "CD345"))
    assert two_lines is not None and two_lines.text == "AB12CD345"


def test_blank_crops_read_as_none(recognizer: TesseractRecognizer) -> None:
    assert recognizer.read(np.full((40, 120, 3), 200, np.uint8)) is None
    assert recognizer.read(np.zeros((1, 1, 3), np.uint8)) is None


def test_val_crops_give_only_plate_characters(recognizer: TesseractRecognizer, data_dir: Path) -> None:
    samples = [s for s in read_ocr_labels(data_dir / "ocr" / "labels.csv", split="val") if s.source == "us"][:6]
    reads = [recognizer.read(load_image(s.image), s.country) for s in samples]
    assert sum(r is not None for r in reads) >= 5
    assert all(r is None or re.fullmatch(r"[A-Z0-9]+", r.text) for r in reads)
    # Measured 3 of these 6 read exactly.
    assert sum(r is not None and r.text == s.text for r, s in zip(reads, samples)) >= 2


def test_preprocess_gives_black_characters_on_white() -> None:
    image = preprocess(255 - render("ABC1234"), height=80)
    assert image is not None
    assert image.dtype == np.uint8 and image.ndim == 2
    assert set(np.unique(image)) <= {0, 255}
    assert image.shape[0] == 80 + 2 * 16
    assert (image[:16] == 255).all()  # the white border
    assert 0.05 < (image == 0).mean() < 0.5  # some ink, mostly paper
    assert count_text_rows(image) == 1
    two_lines = preprocess(render("AB12", "CD345"))
    assert two_lines is not None and count_text_rows(two_lines) == 2
    assert preprocess(np.full((30, 90), 128, np.uint8)) is None


def test_parse_tsv_and_join_words_line_by_line() -> None:
    tsv = "\n".join([
        TSV_HEADER,
        "1\t1\t0\t0\t0\t0\t0\t0\t300\t120\t-1\t",
        "5\t1\t1\t1\t2\t1\t10\t70\t60\t40\t80.0\tCD",
        "5\t1\t1\t1\t2\t2\t80\t70\t60\t40\t60.0\t3-4",
        "5\t1\t1\t1\t1\t1\t10\t10\t100\t38\t90.0\tAB",
        "5\t1\t1\t1\t3\t1\t10\t110\t100\t8\t95.0\tSMALLPRINT",
    ])
    words = parse_tsv(tsv)
    assert [w.text for w in words] == ["CD", "3-4", "AB", "SMALLPRINT"]
    assert words[0].confidence == pytest.approx(0.8)
    read = words_to_plate(words)
    assert read is not None
    assert read.text == "ABCD34"
    assert read.char_confidences == pytest.approx((0.9, 0.9, 0.8, 0.8, 0.6, 0.6))
    assert read.confidence == pytest.approx(0.7)  # the weaker line's mean
    assert words_to_plate(parse_tsv(TSV_HEADER)) is None
    with pytest.raises(BackendUnavailableError):
        parse_tsv("Error: not a table")


def test_missing_binary_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackendUnavailableError, match="apt-get install tesseract-ocr"):
        TesseractRecognizer()
    with pytest.raises(BackendUnavailableError, match="make test"):
        create_recognizer("tesseract")


def test_binary_that_is_not_tesseract(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_binary(tmp_path, "echo hello")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackendUnavailableError, match="no tesseract version"):
        TesseractRecognizer()


def test_hanging_binary_times_out(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_binary(tmp_path, "exec sleep 5")
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    with pytest.raises(BackendUnavailableError, match="took more than"):
        TesseractRecognizer(timeout_s=0.3)


def test_created_by_name() -> None:
    recognizer = create_recognizer("tesseract")
    assert isinstance(recognizer, TesseractRecognizer)
    assert isinstance(recognizer, Recognizer)
    assert recognizer.name == "tesseract"
