"""Time for the store: timezone-aware UTC, and plate normalisation shared by searches and lookups."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time in UTC (timezone-aware)."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """``value`` as aware UTC (SQLite hands back naive datetimes; they were stored as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def normalize_plate(text: str) -> str:
    """Upper-case letters and digits only (any script): ``"ab-12 cde"`` -> ``"AB12CDE"``."""
    return "".join(c for c in text.upper() if c.isalnum())
