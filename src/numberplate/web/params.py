"""Parsing request parameters: each bad value is a 422 ``invalid_parameter`` naming the parameter and the fix."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from numberplate.formats.patterns import AUTO
from numberplate.web.errors import WebError

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
COUNTRY_RE = re.compile(r"[a-z]{2}(-[a-z0-9]{1,3})?")
CAMERA_RE = re.compile(r"[\w.:@/ -]{1,128}")


def invalid(name: str, message: str) -> WebError:
    """A 422 error for parameter ``name``."""
    return WebError(422, "invalid_parameter", f"parameter {name!r}: {message}")


def as_bool(name: str, value: Any, default: bool) -> bool:
    """true/false, 1/0, yes/no, on/off (or a JSON boolean); missing or empty: ``default``."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise invalid(name, f"must be true or false, got {str(value)[:20]!r}")


def as_int(name: str, value: Any, default: int, low: int, high: int) -> int:
    """A whole number in ``[low, high]``; missing or empty: ``default``."""
    if value is None or value == "":
        return default
    try:
        number = int(str(value).strip()) if not isinstance(value, bool) else None
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise invalid(name, f"must be a whole number from {low} to {high}, got {str(value)[:20]!r}")
    return number


def as_float(name: str, value: Any, default: float, low: float, high: float) -> float:
    """A number in ``[low, high]``; missing or empty: ``default``."""
    if value is None or value == "":
        return default
    try:
        number = float(str(value).strip()) if not isinstance(value, bool) else math.nan
    except ValueError:
        number = math.nan
    if not low <= number <= high:  # NaN fails every comparison
        raise invalid(name, f"must be a number from {low:g} to {high:g}, got {str(value)[:20]!r}")
    return number


def as_datetime(name: str, value: Any) -> datetime | None:
    """An ISO 8601 date or date-time (``2026-11-24``, ``2026-11-24T10:00:00Z``); naive means UTC."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as e:
        raise invalid(name, f"must be an ISO 8601 date or time such as 2026-11-24T10:00:00Z, got {text[:40]!r}") from e
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def as_country(name: str, value: Any) -> str | None:
    """A lower-case country or region code (``gb``, ``us-ca``); missing, empty or ``auto``: None (every country)."""
    if value is None or value == "":
        return None
    text = str(value).strip().lower()
    if text == AUTO:
        return None
    if not COUNTRY_RE.fullmatch(text):
        raise invalid(name, f"must be a country code such as gb, br or us-ca, got {text[:20]!r}")
    return text


def as_camera(name: str, value: Any) -> str | None:
    """A camera id: up to 128 letters, digits and ``_ . : @ / -`` or spaces."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if not CAMERA_RE.fullmatch(text):
        raise invalid(name, "must be 1-128 letters, digits, spaces or _ . : @ / -")
    return text


def as_choice(name: str, value: Any, choices: tuple[str, ...] | list[str], default: str | None) -> str | None:
    """One of ``choices`` (case-insensitive); missing or empty: ``default``."""
    if value is None or value == "":
        return default
    text = str(value).strip().lower()
    if text not in choices:
        raise invalid(name, f"must be one of {', '.join(choices)}, got {text[:20]!r}")
    return text
