"""Plate text clean-up shared by every OCR backend: upper case, only A-Z, 0-9 and CJK ideographs kept."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from numberplate.formats.patterns import normalize

# CJK Unified Ideographs and Extension A: the province characters of Chinese plates live here.
_CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF))


def is_china(country: str | None) -> bool:
    """Whether a country hint names China (``cn`` or a ``cn-`` region)."""
    return country is not None and country.lower().split("-")[0] == "cn"


def is_cjk(ch: str) -> bool:
    """Whether ``ch`` is a CJK ideograph (a Chinese plate's province, or a Chinese word's character)."""
    return len(ch) == 1 and any(lo <= ord(ch) <= hi for lo, hi in _CJK_RANGES)


def is_plate_char(ch: str) -> bool:
    """Whether ``ch`` (one character, already upper case) may appear in cleaned plate text."""
    if len(ch) != 1:
        return False
    return "A" <= ch <= "Z" or "0" <= ch <= "9" or is_cjk(ch)


def clean_plate_text(raw: str) -> str:
    """Plate text as backends report it: upper case, letters A-Z, digits 0-9 and CJK ideographs only.

    Full-width forms are folded to ASCII (NFKC), then :func:`numberplate.formats.patterns.normalize`
    folds look-alike Cyrillic letters and Arabic-Indic digits; spaces, dashes, dots and anything
    else a plate does not carry are dropped.

    Example: ``clean_plate_text("ab-12 cde") == "AB12CDE"``, ``clean_plate_text("沪A·MS087") == "沪AMS087"``.
    """
    return "".join(c for c in normalize(unicodedata.normalize("NFKC", raw)) if is_plate_char(c))


def clean_plate_chars(raw: str, confidences: Sequence[float]) -> tuple[str, tuple[float, ...]]:
    """:func:`clean_plate_text` that keeps per-character confidences aligned with the cleaned text.

    Args:
        raw: the backend's text.
        confidences: one confidence per character of ``raw``.

    Returns:
        The cleaned text and one confidence per character of it (a character that cleaning expands,
        such as a full-width ligature, passes its confidence to every character it becomes).

    Raises:
        ValueError: ``confidences`` is not as long as ``raw``.
    """
    if len(confidences) != len(raw):
        raise ValueError(f"{len(confidences)} confidences given for the {len(raw)} characters of {raw!r}")
    text: list[str] = []
    confs: list[float] = []
    for ch, conf in zip(raw, confidences):
        kept = clean_plate_text(ch)
        text.append(kept)
        confs.extend([float(conf)] * len(kept))
    return "".join(text), tuple(confs)
