"""Time for the store: timezone-aware UTC, and plate normalisation shared by searches and lookups."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time in UTC (timezone-aware)."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """``value`` as aware UTC (SQLite hands back naive datetimes; they were stored as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_iso_utc(text: str) -> datetime:
    """An ISO 8601 date or date-time (``2026-11-24``, ``2026-11-24T10:00:00Z``) as aware UTC; naive means UTC.

    Raises:
        ValueError: ``text`` is not ISO 8601.
        OverflowError: it falls outside the years 1 to 9999 in UTC (``9999-12-31T23:59:59-05:00``).
    """
    return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00")))


def normalize_plate(text: str) -> str:
    """Upper-case letters and digits only (any script): ``"ab-12 cde"`` -> ``"AB12CDE"``.

    Compatibility forms are folded first (NFKC), so the full-width ``"ＡＢ１２"`` a CJK keyboard types is
    ``"AB12"``; other scripts' letters stay as they are (``"皖A·12345"`` -> ``"皖A12345"``).
    """
    return "".join(c for c in unicodedata.normalize("NFKC", text).upper() if c.isalnum())
