"""Parsing request parameters: each bad value is a 422 ``invalid_parameter`` naming the parameter and the fix."""

from __future__ import annotations

import base64
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from flask import request
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from numberplate.detection.zones import DECIMAL_RE, Zone, ZoneError, parse_zones
from numberplate.formats.patterns import (
    AUTO,
    COUNTRY_CODE_RE,
    UnknownCountryError,
    check_country,
    known_countries,
)
from numberplate.store.clock import parse_iso_utc
from numberplate.store.db import MAX_ID  # the largest record id the database's id columns hold
from numberplate.store.reads import CAMERA_RULE, check_camera_id
from numberplate.web.errors import WebError

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
ID_RE = re.compile(rf"[0-9]{{1,{len(str(MAX_ID))}}}")
INT_RE = re.compile(r"[+-]?[0-9]{1,20}")  # ASCII digits only: int() would also take "1_000" and "\uff11" (full-width 1)
_ASCII_SPACE = str.maketrans("", "", " \t\n\r\f\v")


class IdConverter(IntegerConverter):
    """``<id:name>`` in a URL: a record id of ASCII digits; one beyond :data:`MAX_ID` cannot exist: 404.

    The 404 is raised here rather than by failing the match (``ValidationError``), which would make
    Werkzeug answer ``DELETE /reads/<too big>`` with 405 because the GET rule of the same path matched.
    """

    regex = r"[0-9]+"

    def to_python(self, value: str) -> int:
        if len(value) > len(str(MAX_ID)) or int(value) > MAX_ID:
            raise NotFound(f"There is no record with id {value[:40]}: ids go up to {MAX_ID}.")
        return int(value)


_INVISIBLE = frozenset({"Cc", "Cf", "Cs"})
"""Unicode categories dropped from file names: controls (NUL, ESC), formats (the bidi overrides such as U+202E,
which make ``rlo\u202egpj.exe`` show as ``rloexe.jpg``, and zero-width characters) and lone surrogates."""


def clean_filename(name: str | None, default: str = "upload") -> str:
    """An uploaded file's name as it may be stored and shown: without control, format (bidi) or surrogate
    characters, each run of white space one space, trimmed; ``default`` when nothing is left."""
    spaced = " ".join((name or "").split())  # line breaks and tabs become spaces first, so words stay apart
    kept = "".join(c for c in spaced if unicodedata.category(c) not in _INVISIBLE)
    return " ".join(kept.split()) or default


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
    text = str(value).strip()
    number = int(text) if not isinstance(value, bool) and INT_RE.fullmatch(text) else None
    if number is None or not low <= number <= high:
        raise invalid(name, f"must be a whole number from {low} to {high}, got {str(value)[:20]!r}")
    return number


def as_id(name: str, value: Any) -> int:
    """A record id: ASCII digits, at most :data:`MAX_ID` (so the database can compare it)."""
    text = str(value).strip() if value is not None else ""
    if not ID_RE.fullmatch(text) or not 1 <= int(text) <= MAX_ID:
        raise invalid(name, f"must be an id, a whole number from 1 to {MAX_ID}, got {text[:20]!r}")
    return int(text)


def as_float(name: str, value: Any, default: float, low: float, high: float) -> float:
    """A number in ``[low, high]``; missing or empty: ``default``."""
    if value is None or value == "":
        return default
    text = str(value).strip()
    number = float(text) if not isinstance(value, bool) and DECIMAL_RE.fullmatch(text) else math.nan
    if not low <= number <= high:  # NaN fails every comparison
        raise invalid(name, f"must be a number from {low:g} to {high:g}, got {str(value)[:20]!r}")
    return number


def as_datetime(name: str, value: Any) -> datetime | None:
    """An ISO 8601 date or date-time (``2026-11-24``, ``2026-11-24T10:00:00Z``); naive means UTC."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    try:
        return parse_iso_utc(text)
    except ValueError as e:
        raise invalid(name, f"must be an ISO 8601 date or time such as 2026-11-24T10:00:00Z, got {text[:40]!r}") from e
    except OverflowError as e:  # 9999-12-31T23:59:59-05:00 is in the year 10000 in UTC
        raise invalid(name, f"{text[:40]!r} is out of range: in UTC it must fall in the years 1 to 9999") from e


def as_country(name: str, value: Any) -> str | None:
    """A lower-case country or region code (``gb``, ``us-ca``); missing, empty or ``auto``: None (every country)."""
    if value is None or value == "":
        return None
    text = str(value).strip().lower()
    if text == AUTO:
        return None
    if not COUNTRY_CODE_RE.fullmatch(text):
        raise invalid(name, f"must be a country code such as gb, br or us-ca, got {text[:20]!r}")
    return text


def as_country_hint(name: str, value: Any) -> str | None:
    """A country hint for reading plates: a code with pattern data (``gb``, ``uk``, ``us-ca``), in lower case;
    missing, empty or ``auto``: None (every country).

    An unknown code is refused here, before any image is read, whether or not a plate would be found.
    """
    text = "" if value is None else str(value).strip().lower()
    if not text or text == AUTO:
        return None
    if not COUNTRY_CODE_RE.fullmatch(text):
        known = ", ".join(known_countries())
        raise invalid(name, f"{text[:20]!r} is not a country code; known codes: {known}; regions such as us-ca")
    try:
        return check_country(text)
    except UnknownCountryError as e:
        raise invalid(name, str(e)) from e


def as_camera(name: str, value: Any) -> str | None:
    """A camera id (:func:`check_camera_id`), a string; missing or empty: None."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):  # a JSON number or boolean would be stored as "5" or "True"
        raise invalid(name, f"must be a string: {CAMERA_RULE}")
    try:
        return check_camera_id(str(value))
    except ValueError as e:
        raise invalid(name, CAMERA_RULE) from e


def as_choice(name: str, value: Any, choices: tuple[str, ...] | list[str], default: str | None) -> str | None:
    """One of ``choices`` (case-insensitive); missing or empty: ``default``."""
    if value is None or value == "":
        return default
    text = str(value).strip().lower()
    if text not in choices:
        raise invalid(name, f"must be one of {', '.join(choices)}, got {text[:20]!r}")
    return text


def as_string(name: str, value: Any) -> str | None:
    """A text field of a JSON body: a string, or None when missing or null."""
    if value is None or isinstance(value, str):
        return value
    raise invalid(name, f"must be a string, got {type(value).__name__}")


def as_zones(name: str, values: Any) -> tuple[Zone, ...]:
    """Detection zones: a list of polygon texts ``"x,y x,y x,y ..."`` in fractions of the image (a repeated form
    field, or a JSON array of strings); missing, null or empty: none (the zones configured for the request's
    camera apply, else every plate counts)."""
    if values is None:
        return ()
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise invalid(name, "must be a list of polygons, each a string of points such as \"0,0.5 1,0.5 1,1 0,1\"")
    try:
        return parse_zones(v for v in values if v.strip())
    except ZoneError as e:
        raise invalid(name, str(e)) from e


def check_names(values: Mapping[str, Any], allowed: Iterable[str], kind: str = "parameter",
                repeatable: Iterable[str] = ()) -> None:
    """Refuse (422 ``invalid_parameter``) a parameter an endpoint does not take, or one sent more than once.

    A misspelt option (``contry=gb``) would otherwise be ignored without a word, and of a repeated one
    (``page=1&page=2``) only the first would count.

    Args:
        values: the parameters: a Werkzeug ``MultiDict`` (query string, form) or a JSON object.
        allowed: the names the endpoint takes.
        kind: what to call them in the message: parameter, field, ...
        repeatable: the names that may be given more than once (a list, such as ``zone``).
    """
    names = tuple(allowed)
    unknown = sorted(str(k)[:40] for k in values if k not in names)
    if unknown:
        takes = f"the {kind}s are {', '.join(names)}" if names else f"it takes no {kind}s"
        raise WebError(422, "invalid_parameter", f"unknown {kind}{'s' if len(unknown) > 1 else ''} "
                       f"{', '.join(map(repr, unknown[:5]))}; {takes}")
    getlist = getattr(values, "getlist", None)
    for name in names:
        if name in repeatable:
            continue
        count = len(getlist(name)) if getlist else 0
        if count > 1:
            raise invalid(name, f"is given {count} times; send it once")


def json_object() -> dict[str, Any]:
    """The request body as a JSON object.

    Raises:
        WebError: 400 ``bad_json`` when the body is not JSON, is JSON but not an object, or nests too deeply
            to parse (``[[[...]]]`` 100,000 levels deep would otherwise exhaust the stack).
    """
    try:
        body = request.get_json(silent=True)
    except RecursionError as e:
        raise WebError(400, "bad_json", "the request body nests too deeply to be read as JSON") from e
    if not isinstance(body, dict):
        raise WebError(400, "bad_json", "the request body must be a JSON object")
    return body


def decode_base64(text: str) -> bytes:
    """Base64 text (or a ``data:`` URI of it) as bytes; ASCII whitespace, such as ``base64``'s line wraps, is
    ignored.

    Raises:
        ValueError: (``binascii.Error``) any other character outside the base64 alphabet, or bad padding.
    """
    if text.startswith("data:"):
        text = text.partition(",")[2]
    return base64.b64decode(text.translate(_ASCII_SPACE), validate=True)
