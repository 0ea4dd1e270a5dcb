"""The plate OCR alphabet, shared by training and inference: characters, pad symbol, slots, encode/decode.

The recogniser predicts a fixed number of character slots; a plate's text fills the first slots
left to right (two-line plates: top line, then bottom line) and the rest hold the pad symbol.
"""

from __future__ import annotations

from collections.abc import Iterable

DIGITS = "0123456789"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Province abbreviations that start every Chinese registration (as in formats/data/cn.json).
CN_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PAD = "_"
# Pad last, so that the character indices stay the same if characters are ever appended before it.
ALPHABET = DIGITS + LETTERS + CN_PROVINCES + PAD
PAD_INDEX = ALPHABET.index(PAD)
MAX_SLOTS = 10

_INDEX = {c: i for i, c in enumerate(ALPHABET)}


def encode(text: str, max_slots: int = MAX_SLOTS, alphabet: str = ALPHABET) -> list[int]:
    """Slot targets of a plate text: one index per character, then the pad index up to ``max_slots``.

    Args:
        text: upper-case plate text without separators (as in the OCR labels CSV).
        max_slots: number of slots the model predicts.
        alphabet: characters by index, the pad symbol last.

    Raises:
        ValueError: ``text`` is longer than ``max_slots``, or has a character outside the alphabet.
    """
    if len(text) > max_slots:
        raise ValueError(f"plate text {text!r} has {len(text)} characters; the model reads at most {max_slots}")
    index = _INDEX if alphabet is ALPHABET else {c: i for i, c in enumerate(alphabet)}
    pad = len(alphabet) - 1
    try:
        return [index[c] for c in text] + [pad] * (max_slots - len(text))
    except KeyError as e:
        raise ValueError(f"plate text {text!r}: character {e.args[0]!r} is not in the OCR alphabet") from e


def decode(indices: Iterable[int], alphabet: str = ALPHABET) -> str:
    """Text of slot indices, pad slots dropped (wherever they are)."""
    pad = len(alphabet) - 1
    return "".join(alphabet[i] for i in indices if i != pad)


def in_alphabet(text: str, max_slots: int = MAX_SLOTS) -> bool:
    """Whether ``text`` can be a training target: short enough and made of alphabet characters only."""
    return len(text) <= max_slots and all(c in _INDEX and c != PAD for c in text)
