"""Request-parameter helpers that have no endpoint of their own to be tested through."""

from __future__ import annotations

import pytest

from numberplate.store import db
from numberplate.web.errors import WebError
from numberplate.web.params import MAX_ID, as_id, clean_filename


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


def test_ids_go_as_far_as_the_stores_id_columns() -> None:
    assert MAX_ID == db.MAX_ID == 2**63 - 1
    assert as_id("id", str(db.MAX_ID)) == db.MAX_ID and db.id_fits(as_id("id", "2147483648"))
    with pytest.raises(WebError, match=f"from 1 to {db.MAX_ID}"):
        as_id("id", str(db.MAX_ID + 1))
