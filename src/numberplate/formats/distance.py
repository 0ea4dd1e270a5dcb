"""Edit distance between plate strings: OCR metrics, fuzzy history search, watchlist matching."""

from __future__ import annotations


def levenshtein(a: str, b: str, limit: int | None = None) -> int:
    """Insertions, deletions and substitutions turning ``a`` into ``b``.

    With ``limit``, stops early and returns ``limit + 1`` once the distance must exceed it.
    """
    if a == b:
        return 0
    if len(a) < len(b):
        a, b = b, a
    if limit is not None and len(a) - len(b) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if limit is not None and min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def within(a: str, b: str, distance: int) -> bool:
    """Whether ``a`` and ``b`` are at most ``distance`` edits apart."""
    return levenshtein(a, b, distance) <= distance
