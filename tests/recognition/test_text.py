"""Plate text clean-up shared by the OCR backends."""

from __future__ import annotations

import pytest

from numberplate.recognition.text import clean_plate_chars, clean_plate_text, is_plate_char


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ab-12 cde", "AB12CDE"),
        ("AXK·3125", "AXK3125"),
        ("沪A·MS087", "沪AMS087"),
        ("ＡＢ１２３", "AB123"),  # full-width forms
        ("АВ123Х", "AB123X"),  # Cyrillic look-alikes
        ("١٢٣", "123"),  # Arabic-Indic digits
        ("  .-_|", ""),
        ("é$%ü", ""),
        ("تونس", ""),
    ],
)
def test_clean_plate_text(raw: str, expected: str) -> None:
    assert clean_plate_text(raw) == expected


@pytest.mark.parametrize(("ch", "ok"), [("A", True), ("9", True), ("京", True), ("a", False), ("-", False),
                                        ("AB", False), ("", False), ("ß", False)])
def test_is_plate_char(ch: str, ok: bool) -> None:
    assert is_plate_char(ch) is ok


def test_clean_plate_chars_keeps_confidences_aligned() -> None:
    text, confs = clean_plate_chars("a-b·京", [0.9, 0.1, 0.8, 0.2, 0.7])
    assert text == "AB京"
    assert confs == (0.9, 0.8, 0.7)


def test_clean_plate_chars_spreads_an_expanded_character() -> None:
    # NFKC turns the ligature "ﬁ" into two letters; both carry its confidence.
    assert clean_plate_chars("ﬁ1", [0.6, 0.9]) == ("FI1", (0.6, 0.6, 0.9))


def test_clean_plate_chars_rejects_misaligned_confidences() -> None:
    with pytest.raises(ValueError, match="2 confidences"):
        clean_plate_chars("ABC", [0.5, 0.5])
