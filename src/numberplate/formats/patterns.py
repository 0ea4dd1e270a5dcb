"""Per-country plate patterns: the pattern syntax, the shipped data, and matching plate text against it.

README
======

Pattern data lives in ``formats/data/<country>.json``, one file per ISO 3166 alpha-2 code. Each
pattern describes one plate layout, written without spaces or dashes because plate text is
compared after :func:`normalize` (upper case, separators removed, look-alike Cyrillic letters
and Arabic-Indic digits folded to their Latin/ASCII forms).

Syntax (OpenALPR style, one token per plate character)::

    @        a letter A-Z
    #        a digit 0-9
    ?        a letter or a digit
    [ABC]    one of A, B, C; ranges allowed: [A-HJ-NP-Z] is A-Z without I and O
    X        any other character is itself (a literal), e.g. the T of Tunisian plates
    \\@       a backslash makes the next character a literal
    {n}      after a token: exactly n of it, e.g. #{4}
    {m,n}    after a token: m to n of it, e.g. @{1,3}; m may be 0
    %, &     file-defined tokens: a file's "tokens" object maps a symbol to its characters
             (cn.json: % = the Chinese province characters; eg.json: & = the Arabic plate letters)

A file looks like::

    {
      "country": "gb",
      "name": "United Kingdom",
      "aliases": ["uk"],
      "tokens": {},
      "unmatched_prior": 0.01,
      "patterns": [
        {"pattern": "[A-HJ-PR-Z]{2}##[A-HJ-PR-Z]{3}", "example": "AB12CDE",
         "description": "current format since 2001", "weight": 1.0}
      ],
      "regions": {"ca": {"name": "California", "patterns": [...]}}
    }

``weight`` (0 < w <= 1, default 1) is the pattern's prior: legacy or rare layouts get less, so an
ambiguous read resolves to the common layout. ``unmatched_prior`` (0 < p <= 1, default 0.01) is the
prior of a reading that fits none of the country's patterns: low where the layouts are strict (a
Brazilian plate that fits none is almost surely misread), higher where vanity and special plates are
common, so that the correction does not force them into a standard layout. ``example`` must match
its own pattern (tested).
``regions`` are addressed as ``<country>-<region>`` (``us-ca``); a region with no patterns of its
own falls back to the country's.

A pattern may list ``lookalikes``, characters that its layout's typeface draws alike beyond the
general look-alike table (:data:`numberplate.formats.correct.CONFUSIONS`), e.g. the UK's current
layout, whose ``1`` is the glyph ``I``::

    {"pattern": "[A-HJ-PR-Z]{2}##[A-HJ-PR-Z]{3}", "lookalikes": [{"read": "I", "as": "1", "weight": 1.0}]}

Where the pattern wants ``as`` and ``read`` was read, ``as`` is tried with the read character's
probability times ``weight`` (0 < w <= 1; 1 when the glyphs are the same). They belong to the pattern,
not the country: a rare layout of one country must not rewrite reads that other countries' layouts
explain as they stand.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any, Literal

from numberplate.errors import ConfigError

CountryCode = Literal[
    "ae", "at", "be", "br", "cn", "cz", "de", "eg", "es", "fr", "gb", "in", "it", "my", "nl", "pk", "pl", "pt", "ro",
    "ru", "sg", "tn", "tr", "ua", "us", "za"
]
"""Countries with shipped pattern data (regions such as ``us-ca`` come on top)."""

Lookalikes = tuple[tuple[str, str, float], ...]
"""A layout's own look-alikes: (read, as, weight), its typeface draws ``as`` so that it is read as ``read``."""

LETTERS = frozenset(string.ascii_uppercase)
DIGITS = frozenset(string.digits)
_CLASSES: dict[str, frozenset[str]] = {"@": LETTERS, "#": DIGITS, "?": LETTERS | DIGITS}
_SYNTAX = frozenset("@#?[]{}\\")
MAX_REPEAT = 16
DEFAULT_UNMATCHED_PRIOR = 0.01

AUTO = "auto"
"""The country code of a plate from anywhere: every country's patterns at once (the reader's default hint)."""
COUNTRY_CODE_RE = re.compile(r"[a-z]{2}(-[a-z0-9]{1,3})?")
"""The shape of a lower-case country or region code (``gb``, ``us-ca``), as forms, the API and imports take them."""
# Odds that a plate seen in the wild fits none of the shipped layouts, for ``auto``: of the 1,816 plates
# that both readers agreed on in the detect train scenes (web photos of many countries, dash-cams;
# `numberplate train pseudo-label`, session 7), 221 fit no layout: 12.2 %, odds 0.14. An upper bound:
# the readers' shared misreads (a UK 1 read as I) are among them.
AUTO_UNMATCHED_PRIOR = 0.14
_MAX_SHAPES = 4096

_SEPARATORS = frozenset(" \t\r\n-_.·•:/|")
# Russian and Ukrainian plates use only Cyrillic letters that look like Latin ones (Ukraine's І among them);
# Egyptian plates use Arabic-Indic digits.
_FOLD = str.maketrans(
    "АВЕКМНОРСТУХІ٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹",
    "ABEKMHOPCTYXI01234567890123456789",
)


class UnknownCountryError(ConfigError):
    """A country code has no pattern data; the message lists the codes that do."""

    def __init__(self, code: str, known: Iterable[str], hint: str = ""):
        self.code = code
        self.known = tuple(known)
        super().__init__(f"unknown country code {code!r}; known codes: {', '.join(self.known)}{hint}")


def normalize(text: str) -> str:
    """Plate text as patterns see it: upper case, no separators, look-alike characters folded.

    Example: ``normalize("ab-12 cde") == "AB12CDE"``.
    """
    return "".join(c for c in text.upper().translate(_FOLD) if c not in _SEPARATORS and not c.isspace())


@dataclass(frozen=True)
class Atom:
    """One pattern token with its repetition: the characters it accepts, ``min`` to ``max`` times."""

    chars: frozenset[str]
    min: int = 1
    max: int = 1


@dataclass(frozen=True)
class Pattern:
    """A compiled plate pattern of one country (or region, e.g. ``us-ca``)."""

    source: str
    country: str
    atoms: tuple[Atom, ...]
    regex: re.Pattern[str]
    description: str = ""
    example: str = ""
    weight: float = 1.0
    lookalikes: Lookalikes = ()

    def __repr__(self) -> str:
        return f"Pattern({self.source!r}, country={self.country!r}, weight={self.weight})"

    @property
    def min_length(self) -> int:
        return sum(a.min for a in self.atoms)

    @property
    def max_length(self) -> int:
        return sum(a.max for a in self.atoms)

    def matches(self, text: str) -> bool:
        """Whether the whole of ``text`` (normalised first) fits this pattern."""
        return self.regex.fullmatch(normalize(text)) is not None

    def expand(self, length: int) -> tuple[tuple[frozenset[str], ...], ...]:
        """Every way this pattern spells a plate of ``length`` characters, as per-position allowed sets.

        ``@{1,2}#`` at length 2 gives one shape, ``(letters, digits)``; identical shapes are merged.
        """
        return _expand(self.atoms, length)


def compile_pattern(
    source: str,
    country: str = "",
    *,
    description: str = "",
    example: str = "",
    weight: float = 1.0,
    tokens: Mapping[str, str] | None = None,
    lookalikes: Lookalikes = (),
) -> Pattern:
    """Compile one pattern written in the syntax of this module's docstring.

    Args:
        source: the pattern, e.g. ``"@@##@@@"`` or ``"@{1,3}@{1,2}#{1,4}"``.
        country: the country (or ``country-region``) code the pattern belongs to.
        description: what the layout is, for people.
        example: a plate text that fits the pattern.
        weight: the pattern's prior, 0 < weight <= 1.
        tokens: extra single-symbol tokens, mapped to the characters they accept (e.g. ``{"%": "京津沪"}``).
        lookalikes: the layout's own look-alikes, (read, as, weight) (see the module docstring).

    Raises:
        ConfigError: the pattern is malformed; the message names it and the problem.
    """
    extra = {k: frozenset(normalize(v)) for k, v in (tokens or {}).items()}
    atoms = tuple(_parse(source, extra))
    if not atoms:
        raise ConfigError(f"pattern {source!r} is empty")
    if not 0.0 < weight <= 1.0:
        raise ConfigError(f"pattern {source!r}: weight {weight} must be in (0, 1]")
    regex = re.compile("".join(_atom_regex(a) for a in atoms))
    return Pattern(source, country, atoms, regex, description, example, weight, lookalikes)


def patterns_for(country: str | None) -> list[Pattern]:
    """The patterns of a country code (``"gb"``, ``"uk"``, ``"us-ca"``), best-known layouts first.

    A region code (``us-ca``) gives the region's own patterns, or the country's when the data has
    none for that region. ``None`` and :data:`AUTO` give every pattern of every country and region.

    Raises:
        UnknownCountryError: no data for this code; the message lists the known codes.
    """
    return list(_patterns(None if country is None or is_auto(country) else _key(country)))


def check_country(code: str) -> str:
    """``code`` in its canonical form (``" US_CA "`` -> ``"us-ca"``) when it has pattern data, or is :data:`AUTO`.

    For checking a country hint where it comes in (a CLI option, a request parameter), before any
    plate is read. Aliases stay as given (``uk``); every function here accepts them.

    Raises:
        UnknownCountryError: no data for this code; the message lists the known codes.
    """
    key = _key(code)
    if key != AUTO:
        _patterns(key)
    return key


def is_auto(country: str | None) -> bool:
    """Whether ``country`` names no one country: ``None`` or :data:`AUTO`."""
    return country is None or _key(country) == AUTO


def unmatched_prior_for(country: str | None) -> float:
    """Prior of a reading that fits none of a country's patterns (its data's ``unmatched_prior``).

    A region code uses its country's value; ``None`` gives the default, 0.01; :data:`AUTO`,
    :data:`AUTO_UNMATCHED_PRIOR`.

    Raises:
        UnknownCountryError: no data for this code.
    """
    if country is None:
        return DEFAULT_UNMATCHED_PRIOR
    if is_auto(country):
        return AUTO_UNMATCHED_PRIOR
    _patterns(_key(country))  # validates the code, region included
    base = _key(country).partition("-")[0]
    return _registry()[_aliases().get(base, base)].unmatched_prior


def match(text: str, country: str | None = None) -> Pattern | None:
    """The pattern ``text`` fits best (highest weight, then data order), or ``None``.

    Args:
        text: plate text; normalised first, so ``"ab-12 cde"`` is fine.
        country: restrict to this country's patterns; ``None`` tries every country.

    Raises:
        UnknownCountryError: ``country`` has no pattern data.
    """
    found = match_all(text, country)
    return max(found, key=lambda p: p.weight) if found else None


def match_all(text: str, country: str | None = None) -> list[Pattern]:
    """Every pattern ``text`` fits, in data order (``country=None``: across all countries).

    Raises:
        UnknownCountryError: ``country`` has no pattern data.
    """
    plate = normalize(text)
    return [p for p in patterns_for(country) if p.regex.fullmatch(plate)]


def known_countries(include_regions: bool = False) -> dict[str, str]:
    """Country codes with pattern data, mapped to their names (``{"br": "Brazil", ...}``).

    Args:
        include_regions: also list region codes such as ``us-ca`` (``"California, United States"``).
    """
    out: dict[str, str] = {}
    for code, data in sorted(_registry().items()):
        out[code] = data.name
        if include_regions:
            for region, (name, _) in sorted(data.regions.items()):
                out[f"{code}-{region}"] = f"{name}, {data.name}"
    return out


# --- parsing -------------------------------------------------------------------------------------


def _parse(source: str, tokens: Mapping[str, frozenset[str]]) -> list[Atom]:
    atoms: list[Atom] = []
    i = 0
    while i < len(source):
        c = source[i]
        if c in _CLASSES:
            chars, i = _CLASSES[c], i + 1
        elif c in tokens:
            chars, i = tokens[c], i + 1
        elif c == "[":
            end = source.find("]", i + 1)
            if end < 0:
                raise ConfigError(f"pattern {source!r}: '[' at position {i} is never closed")
            chars, i = _parse_set(source, source[i + 1 : end]), end + 1
        elif c == "\\":
            if i + 1 >= len(source):
                raise ConfigError(f"pattern {source!r}: trailing backslash escapes nothing")
            chars, i = _literal(source, source[i + 1]), i + 2
        elif c in "{]}":
            raise ConfigError(f"pattern {source!r}: unexpected {c!r} at position {i}; repetition follows a token")
        else:
            chars, i = _literal(source, c), i + 1
        low = high = 1
        if i < len(source) and source[i] == "{":
            end = source.find("}", i)
            if end < 0:
                raise ConfigError(f"pattern {source!r}: '{{' at position {i} is never closed")
            low, high = _parse_repeat(source, source[i + 1 : end])
            i = end + 1
        atoms.append(Atom(chars, low, high))
    return atoms


def _literal(source: str, c: str) -> frozenset[str]:
    if normalize(c) != c:
        raise ConfigError(f"pattern {source!r}: {c!r} can never match, plate text is upper case without separators")
    return frozenset(c)


def _parse_set(source: str, body: str) -> frozenset[str]:
    chars: set[str] = set()
    j = 0
    while j < len(body):
        if j + 2 < len(body) and body[j + 1] == "-":
            lo, hi = body[j], body[j + 2]
            if ord(lo) > ord(hi):
                raise ConfigError(f"pattern {source!r}: range {lo}-{hi} runs backwards")
            chars.update(chr(k) for k in range(ord(lo), ord(hi) + 1))
            j += 3
        else:
            chars.add(body[j])
            j += 1
    if not chars:
        raise ConfigError(f"pattern {source!r}: empty set []")
    for c in chars:
        _literal(source, c)
    return frozenset(chars)


def _parse_repeat(source: str, body: str) -> tuple[int, int]:
    parts = body.split(",")
    if len(parts) > 2 or not all(p.strip().isdigit() for p in parts):
        raise ConfigError(f"pattern {source!r}: repetition {{{body}}} must be {{n}} or {{m,n}}")
    low, high = int(parts[0]), int(parts[-1])
    if high < low or high == 0 or high > MAX_REPEAT:
        raise ConfigError(f"pattern {source!r}: repetition {{{body}}} needs 0 <= m <= n, 1 <= n <= {MAX_REPEAT}")
    return low, high


def _atom_regex(atom: Atom) -> str:
    chars = "".join(re.escape(c) for c in sorted(atom.chars))
    body = re.escape(next(iter(atom.chars))) if len(atom.chars) == 1 else f"[{chars}]"
    if (atom.min, atom.max) == (1, 1):
        return body
    return f"{body}{{{atom.min}}}" if atom.min == atom.max else f"{body}{{{atom.min},{atom.max}}}"


@lru_cache(maxsize=8192)
def _expand(atoms: tuple[Atom, ...], length: int) -> tuple[tuple[frozenset[str], ...], ...]:
    rest_min = [sum(a.min for a in atoms[i:]) for i in range(len(atoms) + 1)]
    rest_max = [sum(a.max for a in atoms[i:]) for i in range(len(atoms) + 1)]
    shapes: dict[tuple[frozenset[str], ...], None] = {}

    def walk(i: int, prefix: tuple[frozenset[str], ...]) -> None:
        if i == len(atoms):
            shapes[prefix] = None
            return
        atom = atoms[i]
        for count in range(atom.min, atom.max + 1):
            size = len(prefix) + count
            if size + rest_min[i + 1] <= length <= size + rest_max[i + 1]:
                walk(i + 1, prefix + (atom.chars,) * count)
        if len(shapes) > _MAX_SHAPES:
            raise ConfigError(f"a pattern spells more than {_MAX_SHAPES} shapes of length {length}; simplify it")

    if rest_min[0] <= length <= rest_max[0]:
        walk(0, ())
    return tuple(shapes)


# --- data ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Country:
    code: str
    name: str
    patterns: tuple[Pattern, ...]
    regions: Mapping[str, tuple[str, tuple[Pattern, ...]]]
    aliases: tuple[str, ...]
    unmatched_prior: float = DEFAULT_UNMATCHED_PRIOR


@cache
def _registry() -> dict[str, _Country]:
    folder = resources.files("numberplate.formats") / "data"
    countries: dict[str, _Country] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            data = _load_country(entry.name, entry.read_text(encoding="utf-8"))
            countries[data.code] = data
    return countries


@cache
def _aliases() -> dict[str, str]:
    aliases: dict[str, str] = {}
    for code, data in _registry().items():
        for alias in data.aliases:
            if alias in _registry() or alias in aliases:
                raise ConfigError(f"formats/data/{code}.json: alias {alias!r} is already a country code or alias")
            aliases[alias] = code
    return aliases


def _load_country(filename: str, text: str) -> _Country:
    where = f"formats/data/{filename}"
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{where} is not valid JSON: {e}") from e
    code = filename.removesuffix(".json")
    if not isinstance(raw, dict) or raw.get("country") != code:
        raise ConfigError(f'{where}: expected an object with "country": {code!r}')
    tokens = raw.get("tokens", {})
    if not isinstance(tokens, dict) or not all(
        isinstance(k, str) and len(k) == 1 and k not in _SYNTAX and not k.isalnum() and isinstance(v, str) and v
        for k, v in tokens.items()
    ):
        raise ConfigError(f'{where}: "tokens" must map single non-alphanumeric symbols to their characters')
    patterns = _load_patterns(where, raw.get("patterns"), code, tokens)
    regions: dict[str, tuple[str, tuple[Pattern, ...]]] = {}
    for region, body in (raw.get("regions") or {}).items():
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            raise ConfigError(f'{where}: region {region!r} needs a "name" and a "patterns" list')
        regions[region.lower()] = (
            body["name"],
            _load_patterns(f"{where} region {region!r}", body.get("patterns"), f"{code}-{region.lower()}", tokens),
        )
    aliases = raw.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise ConfigError(f'{where}: "aliases" must be a list of codes')
    prior = raw.get("unmatched_prior", DEFAULT_UNMATCHED_PRIOR)
    if isinstance(prior, bool) or not isinstance(prior, (int, float)) or not 0.0 < prior <= 1.0:
        raise ConfigError(f'{where}: "unmatched_prior" must be a number in (0, 1], got {prior!r}')
    return _Country(
        code, str(raw.get("name", code)), patterns, regions, tuple(a.lower() for a in aliases), float(prior)
    )


def _load_lookalikes(where: str, items: Any) -> Lookalikes:
    if not isinstance(items, list):
        raise ConfigError(f'{where}: "lookalikes" must be a list')
    out = []
    for item in items:
        read, means, weight = (item.get(k) for k in ("read", "as", "weight")) if isinstance(item, dict) else (None,) * 3
        if not (isinstance(read, str) and isinstance(means, str) and len(read) == len(means) == 1 and read != means
                and isinstance(weight, (int, float)) and not isinstance(weight, bool) and 0.0 < weight <= 1.0):
            raise ConfigError(f'{where}: each look-alike must be {{"read": one character, "as": another, '
                              f'"weight": a number in (0, 1]}}, got {item!r}')
        out.append((normalize(read), normalize(means), float(weight)))
    return tuple(out)


def _load_patterns(where: str, items: Any, code: str, tokens: Mapping[str, str]) -> tuple[Pattern, ...]:
    if not isinstance(items, list):
        raise ConfigError(f'{where}: "patterns" must be a list')
    out = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("pattern"), str):
            raise ConfigError(f'{where}: each pattern must be an object with a "pattern" string, got {item!r}')
        lookalikes = _load_lookalikes(where, item.get("lookalikes", []))
        try:
            out.append(
                compile_pattern(
                    item["pattern"],
                    code,
                    description=str(item.get("description", "")),
                    example=str(item.get("example", "")),
                    weight=float(item.get("weight", 1.0)),
                    tokens=tokens,
                    lookalikes=lookalikes,
                )
            )
        except (ConfigError, TypeError, ValueError) as e:
            raise ConfigError(f"{where}: {e}") from e
    return tuple(out)


def _key(country: str) -> str:
    return country.strip().lower().replace("_", "-")


@lru_cache(maxsize=256)
def _patterns(key: str | None) -> tuple[Pattern, ...]:
    registry = _registry()
    if key is None:
        return tuple(
            p
            for data in registry.values()
            for p in (*data.patterns, *(q for _, pats in data.regions.values() for q in pats))
        )
    base, _, region = key.partition("-")
    base = _aliases().get(base, base)
    if base not in registry:
        with_regions = [f"{c}-<region> (e.g. {c}-{next(iter(d.regions))})" for c, d in registry.items() if d.regions]
        hint = f"; regions as {', '.join(with_regions)}" if with_regions else ""
        raise UnknownCountryError(key, sorted([*registry, *_aliases()]), hint)
    data = registry[base]
    if not region:
        # A country hint alone (``us``) allows every region's layouts too: a plate from any state is
        # a valid US plate, and a fix that only the national patterns call for would break it.
        seen = {p.regex.pattern for p in data.patterns}
        extra = []
        for _, pats in data.regions.values():
            for q in pats:
                if q.regex.pattern not in seen:
                    seen.add(q.regex.pattern)
                    extra.append(q)
        return (*data.patterns, *extra)
    if region not in data.regions:
        known = [f"{base}-{r}" for r in sorted(data.regions)] or [base]
        raise UnknownCountryError(key, known)
    return data.regions[region][1] or data.patterns
