"""Edit distance with an early exit."""

from __future__ import annotations

import pytest

from numberplate.formats.distance import levenshtein, within


@pytest.mark.parametrize(
    ("a", "b", "d"),
    [("", "", 0), ("ABC", "ABC", 0), ("ABC", "ABD", 1), ("AB12CDE", "AB12CD", 1), ("AB12CDE", "XB12CDF", 2),
     ("", "ABC", 3), ("KITTEN", "SITTING", 3), ("AB12CDE", "A812CDE", 1)],
)
def test_levenshtein(a: str, b: str, d: int) -> None:
    assert levenshtein(a, b) == d == levenshtein(b, a)


def test_limit_stops_early_with_limit_plus_one() -> None:
    assert levenshtein("AAAAAAAA", "BBBBBBBB", 2) == 3
    assert levenshtein("A", "ABCDEF", 1) == 2
    assert within("AB12CDE", "AB12CDF", 1) and not within("AB12CDE", "XB12CDF", 1)
