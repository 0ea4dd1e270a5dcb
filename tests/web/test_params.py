"""Request-parameter helpers that have no endpoint of their own to be tested through."""

from __future__ import annotations

import pytest

from numberplate.web.params import clean_filename


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("car.jpg", "car.jpg"),
        ("rlo\u202egpj.exe", "rlogpj.exe"),  # a right-to-left override would show it as "rloexe.jpg"
        ("a\x00b\x1b[31m.jpg", "ab[31m.jpg"),
        ("zero\u200bwidth\ufeff.jpg", "zerowidth.jpg"),
        ("two\nlines\r\tand  spaces .jpg", "two lines and spaces .jpg"),
        ("  padded \u2028 ", "padded"),
        ("lone\ud800surrogate.jpg", "lonesurrogate.jpg"),
        ("Ünïcødé 車.jpg", "Ünïcødé 車.jpg"),
    ],
)
def test_clean_filename_drops_controls_and_format_characters(raw: str, clean: str) -> None:
    assert clean_filename(raw) == clean


@pytest.mark.parametrize("raw", [None, "", "\u202e\x00 \n"])
def test_clean_filename_falls_back_when_nothing_is_left(raw: str | None) -> None:
    assert clean_filename(raw) == "upload"
    assert clean_filename(raw, "video") == "video"
