"""Per-country plate patterns and the clean-up that turns raw recogniser output into trustworthy reads.

``patterns`` holds the pattern syntax (documented in its module docstring), the shipped data in
``formats/data/*.json`` and matching; ``correct`` ranks readings and fixes look-alike characters
(``0``/``O``, ``8``/``B``...) only where a country's layout demands the other class.

    >>> from numberplate.formats import match, postprocess_text
    >>> match("AB12CDE", "gb").source
    '[A-HK-PR-SV-Y][A-HJ-PR-Y]##[A-HJ-PR-Z]{3}'
    >>> postprocess_text("0BC1234", 0.9, "br").text
    'OBC1234'
"""

from numberplate.formats.correct import (
    CONFUSIONS,
    Alternatives,
    ConfidenceKind,
    postprocess,
    postprocess_text,
)
from numberplate.formats.patterns import (
    AUTO,
    CountryCode,
    Pattern,
    UnknownCountryError,
    check_country,
    compile_pattern,
    is_auto,
    known_countries,
    match,
    match_all,
    normalize,
    patterns_for,
    unmatched_prior_for,
)

__all__ = [
    "AUTO",
    "CONFUSIONS",
    "Alternatives",
    "ConfidenceKind",
    "CountryCode",
    "Pattern",
    "UnknownCountryError",
    "check_country",
    "compile_pattern",
    "is_auto",
    "known_countries",
    "match",
    "match_all",
    "normalize",
    "patterns_for",
    "postprocess",
    "postprocess_text",
    "unmatched_prior_for",
]
