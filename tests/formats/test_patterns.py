"""Pattern syntax, the shipped per-country data, matching and country-code resolution."""

from __future__ import annotations

import csv
import doctest
import re
from pathlib import Path
from typing import get_args

import pytest

import numberplate.formats
from numberplate.errors import ConfigError
from numberplate.formats import (
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
from numberplate.formats.patterns import AUTO_UNMATCHED_PRIOR, DEFAULT_UNMATCHED_PRIOR, DIGITS, LETTERS, _load_country


def test_country_code_literal_lists_exactly_the_shipped_data() -> None:
    assert set(get_args(CountryCode)) == set(known_countries())
    assert known_countries()["br"] == "Brazil"
    assert known_countries(include_regions=True)["us-ca"] == "California, United States"


@pytest.mark.parametrize("pattern", patterns_for(None), ids=lambda p: f"{p.country}:{p.source}")
def test_every_shipped_pattern_matches_its_own_example(pattern: Pattern) -> None:
    assert pattern.example, f"{pattern.country} pattern {pattern.source} has no example"
    assert pattern.matches(pattern.example)
    assert pattern.example in {normalize(p.example) for p in match_all(pattern.example, pattern.country)}


@pytest.mark.parametrize(
    ("country", "text", "fits"),
    [
        ("br", "ABC1234", True),
        ("br", "ABC1D23", True),
        ("br", "AB12345", False),
        ("br", "ABCD123", False),
        ("gb", "AB12CDE", True),
        ("gb", "ab12 cde", True),
        ("gb", "AI12CDE", False),  # no I on current plates
        ("gb", "TA12CDE", False),  # no region has T, U, J or Z as its memory tag's letter
        ("gb", "ZA12CDE", False),
        ("gb", "AZ12CDE", False),  # nor Z as the office letter
        ("gb", "YG60OZC", True),
        ("gb", "XA12CDE", True),  # personal export
        ("gb", "AB12CD", False),
        ("de", "MAB1234", True),
        ("de", "BXY123E", True),
        ("de", "B1", False),
        ("de", "M1234AB", False),
        ("fr", "AB123CD", True),
        ("fr", "AB123CO", False),  # SIV has no O
        ("it", "AB123CD", True),
        ("it", "AB123CU", False),
        ("es", "1234BCD", True),
        ("es", "1234BCA", False),  # vowels are never used
        ("nl", "12BDF3", True),
        ("nl", "1234567", False),
        ("pl", "WA12345", True),
        ("pl", "WA-123AC", True),
        ("pl", "WA-123AB", False),  # no B, D, I, O or Z after the county code
        ("ro", "B123ABC", True),
        ("ro", "CJ12ABC", True),
        ("ro", "C123ABC", False),  # only Bucharest has a one-letter code
        ("ru", "A123BC77", True),
        ("ru", "A123BC777", True),
        ("ru", "А123ВС77", True),  # Cyrillic look-alikes
        ("ru", "D123BC77", False),
        ("ua", "AA1234BC", True),
        ("ua", "ВС1234АІ", True),  # Cyrillic look-alikes, the Ukrainian І included
        ("ua", "AD1234BC", False),
        ("tr", "34A1234", True),
        ("tr", "34ABC12", True),
        ("tr", "3AB123", False),
        ("tn", "123T4567", True),
        ("tn", "12T3456", True),
        ("tn", "123X4567", False),
        ("cn", "京A12345", True),
        ("cn", "皖AD12345", True),
        ("cn", "京AO1234", False),  # no O on Chinese plates
        ("cn", "XA12345", False),
        ("in", "MH12AB1234", True),
        ("in", "22BH1234AB", True),
        ("in", "MH20BQ20", True),  # the number without leading zeros, as many plates show it
        ("in", "MH12AB12345", False),
        ("pk", "LEA1234", True),
        ("my", "WXY1234", True),
        ("my", "WIO1234", False),  # no I or O in Malaysian series
        ("sg", "SBA1234A", True),
        ("sg", "SBA1234", False),  # the check letter
        ("za", "CA123456", True),
        ("za", "BC12DFGP", True),
        ("za", "BC12DEXX", False),
        ("eg", "1234صنق", True),
        ("eg", "١٢٣٤صنق", True),  # Arabic-Indic digits
        ("eg", "1234ABC", False),
        ("us", "7ABC123", True),
        ("us", "ABC1234", True),
        ("us-ca", "7ABC123", True),
        ("us-ca", "ABC1234", False),  # a state's own layouts replace the generic ones
        ("us-tx", "BH8G151", True),
    ],
)
def test_match_per_country(country: str, text: str, fits: bool) -> None:
    found = match(text, country)
    assert (found is not None) is fits, (country, text, found)


@pytest.mark.parametrize(
    ("country", "text", "fits"),
    [
        # Poland: the vehicle part leaves out B, D, I, O and Z (they look like 8, 0, 1, 0, 2).
        ("pl", "KR610JL", True),
        ("pl", "WOR516K", True),
        ("pl", "KR610JO", False),
        ("pl", "WA1234Z", False),
        ("pl", "WPI1IC2", False),
        # Germany: the number runs from 1 to 9999, never with a leading 0; E and H suffixes.
        ("de", "BAB1234", True),
        ("de", "MXY99H", True),
        ("de", "MAB0123", False),
        ("de", "KX0E", False),
        # Romania: no Q, and the letter group never starts with I or O; temporary red plates.
        ("ro", "IF09DAA", True),
        ("ro", "SB90TZI", True),
        ("ro", "B01XEN", True),
        ("ro", "CJ12OAB", False),
        ("ro", "B123IAB", False),
        ("ro", "CJ12AQB", False),
        ("ro", "B089414", True),  # temporary: county code, then 0 and a non-zero digit
        ("ro", "SB014882", True),
        ("ro", "B189414", False),
        ("ro", "B009414", False),
        # US states' current passenger series.
        ("us-al", "1A23BCD", True),  # county-coded since 2014
        ("us-al", "10A1B23", True),
        ("us-al", "10A12B3", True),
        ("us-al", "1ABCDEF", False),
        ("us-ar", "ABC12D", True),  # since 2021, after 999 ZZZ
        ("us-ar", "123ABC", True),
        ("us-ky", "ABC123", True),  # since 2020
        ("us-ky", "123ABC", True),
        ("us-tn", "ABC1234", True),  # since 2022
        ("us-tn", "123ABCD", True),  # since 2022, In God We Trust
        ("us-tn", "ABCD123", False),
        ("us-ct", "1ABCD2", True),  # 2013-2015
        ("us-ne", "RJL946", True),  # Douglas, Lancaster, Sarpy
        ("us-mt", "404148A", True),  # county 4 (or 40), serial, letter
        ("us-mt", "4048A", False),
        ("us", "123ABCD", True),  # a country hint alone allows every state's layouts
        # Belgium: 1-ABC-123 since 2010, ABC-123 before (and 123-ABC in 2008-2010).
        ("be", "1-ABC-123", True),
        ("be", "2-XKM-047", True),
        ("be", "ABC-123", True),
        ("be", "0-ABC-123", False),  # the series digit starts at 1
        ("be", "1-AB-123", False),
        ("be", "1-ABC-1234", False),
        # Portugal: AA-00-AA since 2020, 00-AA-00, 00-00-AA and AA-00-00 before.
        ("pt", "AA-12-BC", True),
        ("pt", "45-ZR-18", True),
        ("pt", "12-34-XZ", True),
        ("pt", "LX-12-34", True),
        ("pt", "12-34-56", False),
        ("pt", "AB-CD-12", False),
        ("pt", "A1-23-BC", False),
        # Austria: district code, then 1-5 digits (never a leading 0) and 1-3 letters, 3 to 6 characters.
        ("at", "W 12345 A", True),
        ("at", "G 123 AB", True),
        ("at", "L 1234 B", True),
        ("at", "BN 12 ABC", True),
        ("at", "GU 7 XY", True),
        ("at", "X 123 AB", False),  # no district X
        ("at", "VU 12 ABC", False),  # nor VU
        ("at", "W 0123 A", False),
        ("at", "W 1 A", False),  # fewer than 3 characters after the district code
        ("at", "W 12345 AB", False),  # more than 6
        ("at", "W AB 123", False),  # letters first: personalised plates, not listed
        # Czechia: serial digit, region letter, a digit or a letter, four digits.
        ("cz", "1A2 3456", True),
        ("cz", "5T7 1234", True),
        ("cz", "2AB 1234", True),
        ("cz", "1D2 3456", False),  # no region D
        ("cz", "0A2 3456", False),
        ("cz", "1AO 3456", False),  # no O
        ("cz", "1A2 345", False),
        # United Kingdom: Northern Ireland (county code with I or Z) and Q plates; the 1963-2001 letter
        # groups have no I, Q or Z, and their numbers no leading 0.
        ("gb", "AIB 1234", True),
        ("gb", "BUI 1234", True),
        ("gb", "LAZ 1234", True),
        ("gb", "Q123 ABC", True),
        ("gb", "A123 BQD", False),
        ("gb", "A012 BCD", False),
        ("gb", "ABZ 12D", False),
        # Netherlands: since sidecode 4 (1978) only B D F G H J K L M N P R S T V X Z.
        ("nl", "GV-542-D", True),
        ("nl", "1-KBB-00", True),
        ("nl", "87-GZK-9", True),
        ("nl", "87-GAK-9", False),  # a vowel
        ("nl", "GC-542-D", False),  # C
        ("nl", "1-QBB-00", False),  # Q
        # France: FNI (before 2009) numbers never start with 0, at most six characters before the departement.
        ("fr", "6000 RG 55", True),
        ("fr", "123 ABC 2B", True),
        ("fr", "12 AB 974", True),
        ("fr", "0123 AB 75", False),
        ("fr", "1234 ABC 75", False),
        ("fr", "12 AB 981", False),
        # Spain: type letter before the national format; provincial series with a real province code.
        ("es", "C1234BCD", True),
        ("es", "R1234BCD", True),
        ("es", "GC-1234-AB", True),
        ("es", "M-123456", True),
        ("es", "Q1234BCD", False),
        ("es", "XY-1234-AB", False),  # no province XY
        ("es", "K-1234-AB", False),
        # Italy: motorcycles since 1999.
        ("it", "AB12345", True),
        ("it", "AU12345", False),
        # Russia: taxis, transit, trailers, motorcycles and tractors, police; three-digit regions start 1, 2, 7, 9.
        ("ru", "AB12377", True),
        ("ru", "MX548T77", True),
        ("ru", "AB123477", True),
        ("ru", "1234AB77", True),
        ("ru", "A123477", True),
        ("ru", "A123BC577", False),
        ("ru", "AD12377", False),
        # Ukraine: the 1995-2004 format.
        ("ua", "12345KA", True),
        ("ua", "12345KD", False),
        # Turkey: province codes 01-81, no Q, W or X.
        ("tr", "06ABC12", True),
        ("tr", "81A12345", True),
        ("tr", "00A1234", False),
        ("tr", "82A1234", False),
        ("tr", "34AW123", False),
        # India: real state codes; BH series letters without I or O.
        ("in", "KL65K7111", True),
        ("in", "TN57BZ7443", True),
        ("in", "XY12AB1234", False),
        ("in", "22BH1234AO", False),
        # South Africa: provincial series letters have no vowels or Q; Northern Province plates.
        ("za", "BCD123N", True),
        ("za", "BC12DEGP", False),
        ("za", "ABC123MP", False),
        # United Arab Emirates: Abu Dhabi and Sharjah (category number, number); no leading 0.
        ("ae", "5 12345", True),
        ("ae", "I 7000", True),
        ("ae", "I 07000", False),
        # Malaysia: a real state letter, numbers 1-9999; Singapore numbers 1-9999.
        ("my", "WMY9051", True),
        ("my", "EAB1234", False),
        ("my", "WA0123", False),
        ("sg", "SBA0123A", False),
        # China: new-energy series beyond D and F.
        ("cn", "粤BA12345", True),
        ("cn", "粤BL12345", False),
        # Tunisia: series and serial numbers never start with 0.
        ("tn", "104T489", True),
        ("tn", "123456N", True),
        ("tn", "012T3456", False),
        ("tn", "123T0456", False),
    ],
)
def test_current_formats_fit_and_impossible_ones_do_not(country: str, text: str, fits: bool) -> None:
    found = match(text, country)
    assert (found is not None) is fits, (country, text, found)


def matched(text: str, country: str | None = None) -> Pattern:
    found = match(text, country)
    assert found is not None, (text, country)
    return found


def test_match_without_country_tries_every_country() -> None:
    assert matched("123T4567").country == "tn"
    assert matched("京A12345").country == "cn"
    assert match("HELLO WORLD") is None
    assert {p.country for p in match_all("ABC1234")} >= {"br", "us", "us-ny", "gb"}
    # Belgium's current layout is California's: no single country for it without a hint.
    assert {p.country for p in match_all("1ABC123")} >= {"be", "us", "us-ca"}


def test_auto_is_every_country_at_once() -> None:
    assert patterns_for(AUTO) == patterns_for(" Auto ") == patterns_for(None)
    assert {p.country for p in match_all("ABC1234", "auto")} == {p.country for p in match_all("ABC1234")}
    assert is_auto(None) and is_auto("AUTO") and not is_auto("gb") and not is_auto("us-ca")
    assert unmatched_prior_for(AUTO) == AUTO_UNMATCHED_PRIOR > unmatched_prior_for("gb")
    assert AUTO not in known_countries()


def test_match_prefers_the_heaviest_pattern() -> None:
    # A812CDE is a valid 1983-2001 prefix plate but not a current-format one.
    assert matched("A812CDE", "gb").source == "[A-HJ-NPR-TV-Y][1-9]#{0,2}[A-HJ-PR-Y]{3}"
    assert matched("AB12CDE", "gb").weight == 1.0
    assert matched("ABC1234", "gb").source == "@{1,3}#{1,4}"


def test_northern_ireland_and_q_plates_have_their_own_layouts() -> None:
    # Northern Ireland's current plates used to fit only the dateless catch-all (weight 0.02).
    for plate in ("AIB1234", "BUI1234", "LAZ1234"):
        assert matched(plate, "gb").description.startswith("Northern Ireland"), plate
    assert matched("ABC1234", "gb").description.startswith("dateless")
    assert matched("Q123ABC", "gb").description.startswith("Q plates")


def test_region_codes_resolve_to_state_patterns_then_fall_back_to_the_country() -> None:
    assert {p.country for p in patterns_for("us-ca")} == {"us-ca"}
    assert patterns_for("US_CA") == patterns_for("us-ca")
    # Puerto Rico is a known region without layouts of its own: generic US ones apply.
    assert {p.country for p in patterns_for("us-pr")} == {"us"}
    assert matched("ABC1234", "us-pr").country == "us"


def test_a_country_hint_alone_allows_every_regions_layouts() -> None:
    us = patterns_for("us")
    assert {p.country for p in us} > {"us", "us-ne"}
    assert len({p.regex.pattern for p in us}) == len(us)  # each layout once
    # A Nebraska layout is a valid US plate: the "us" hint must not force it into another shape.
    ne = patterns_for("us-ne")
    assert all(any(q.regex.pattern == p.regex.pattern for q in us) for p in ne)


def test_aliases_and_case() -> None:
    assert patterns_for("uk") == patterns_for("gb") == patterns_for(" GB ")


def test_unknown_country_error_lists_known_codes() -> None:
    with pytest.raises(UnknownCountryError) as info:
        patterns_for("xx")
    assert str(info.value) == (
        "unknown country code 'xx'; known codes: ae, at, be, br, cn, cz, de, eg, es, fr, gb, in, it, my, nl, pk, pl,"
        " pt, ro, ru, sg, tn, tr, ua, uk, us, za; regions as us-<region> (e.g. us-ak)"
    )
    assert isinstance(info.value, ConfigError)
    assert info.value.code == "xx"
    assert "gb" in info.value.known


def test_unknown_region_error_lists_the_country_regions() -> None:
    with pytest.raises(UnknownCountryError, match=r"^unknown country code 'us-zz'; known codes: us-ak, us-al, "):
        match("ABC1234", "us-zz")
    with pytest.raises(UnknownCountryError) as info:
        patterns_for("de-by")
    assert str(info.value) == "unknown country code 'de-by'; known codes: de"


def test_check_country_gives_the_canonical_code_or_lists_the_known_ones() -> None:
    assert [check_country(c) for c in (" GB ", "us_CA", "uk", "Auto")] == ["gb", "us-ca", "uk", AUTO]
    for code, listed in (("zz", "known codes: ae, at,"), ("us-zz", "known codes: us-ak,"), ("gb-1", "known codes: gb")):
        with pytest.raises(UnknownCountryError, match=f"^unknown country code '{code}'; {listed}"):
            check_country(code)


def test_repetition_syntax() -> None:
    pattern = compile_pattern("@{1,3}#{2}")
    assert [pattern.matches(t) for t in ("A12", "ABC12", "ABCD12", "A1", "A123")] == [True, True, False, False, False]
    assert (pattern.min_length, pattern.max_length) == (3, 5)
    optional = compile_pattern("@@#{0,1}")
    assert optional.matches("AB") and optional.matches("AB1") and not optional.matches("AB12")


def test_expand_spells_each_length_once() -> None:
    pattern = compile_pattern("@{1,3}@{1,2}#{1,4}")
    assert pattern.expand(3) == ((LETTERS, LETTERS, DIGITS),)
    # Seven characters are 3, 4 or 5 letters then digits; the several ways to split the letters
    # over the two letter tokens give the same shape, so each appears once.
    assert [sum(s is LETTERS for s in shape) for shape in pattern.expand(7)] == [3, 4, 5]
    assert compile_pattern("@{1,2}#").expand(4) == ()
    assert compile_pattern("@{1,2}#").expand(2) == ((LETTERS, DIGITS),)


def test_sets_ranges_escapes_and_tokens() -> None:
    assert compile_pattern("[A-C]").matches("B") and not compile_pattern("[A-C]").matches("D")
    assert compile_pattern("[A-HJ-NP-Z]").atoms[0].chars == LETTERS - {"I", "O"}
    assert compile_pattern("\\@#").matches("@1")
    assert compile_pattern("%#", tokens={"%": "京沪"}).matches("沪1")
    assert compile_pattern("###T####").matches("123T4567")


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("[AB", "never closed"),
        ("@{3,1}", "needs 0 <= m <= n"),
        ("@{20}", "needs 0 <= m <= n"),
        ("@{x}", "must be {n} or {m,n}"),
        ("{2}", "repetition follows a token"),
        ("ab", "can never match"),
        ("AB-12", "can never match"),
        ("[C-A]", "runs backwards"),
        ("", "is empty"),
        ("@\\", "trailing backslash"),
    ],
)
def test_malformed_patterns_are_config_errors(source: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        compile_pattern(source)


def test_weight_must_be_a_probability() -> None:
    with pytest.raises(ConfigError, match=r"weight 0 must be in \(0, 1\]"):
        compile_pattern("@", weight=0)


def test_malformed_data_file_names_the_file() -> None:
    with pytest.raises(ConfigError, match=r"^formats/data/zz.json is not valid JSON"):
        _load_country("zz.json", "{")
    with pytest.raises(ConfigError, match=re.escape("formats/data/zz.json: pattern '@{2': '{' at position 1 is never")):
        _load_country("zz.json", '{"country": "zz", "patterns": [{"pattern": "@{2"}]}')
    with pytest.raises(ConfigError, match="expected an object with"):
        _load_country("zz.json", '{"country": "yy", "patterns": []}')


@pytest.mark.parametrize("lookalikes", [
    '{"read": "I", "as": "1"}', '{"read": "I", "as": "I", "weight": 1}', '{"read": "IL", "as": "1", "weight": 1}',
    '{"read": "I", "as": "1", "weight": 1.5}', '{"read": "I", "as": "1", "weight": true}', '"I1"',
])
def test_malformed_lookalikes_are_config_errors(lookalikes: str) -> None:
    with pytest.raises(ConfigError, match=r"^formats/data/zz.json: each look-alike must be"):
        _load_country("zz.json", f'{{"country": "zz", "patterns": [{{"pattern": "@", "lookalikes": [{lookalikes}]}}]}}')


def test_lookalikes_belong_to_their_pattern() -> None:
    data = _load_country("zz.json", '{"country": "zz", "patterns": [{"pattern": "@#", "lookalikes": [{"read": "i", '
                                    '"as": "1", "weight": 0.5}]}, {"pattern": "#@"}]}')
    assert [p.lookalikes for p in data.patterns] == [(("I", "1", 0.5),), ()]


def test_unmatched_prior_comes_from_the_country_data() -> None:
    assert unmatched_prior_for(None) == unmatched_prior_for("br") == DEFAULT_UNMATCHED_PRIOR
    assert unmatched_prior_for("us") == unmatched_prior_for("US-CA") == 0.23  # a region uses its country's
    with pytest.raises(UnknownCountryError):
        unmatched_prior_for("atlantis")
    with pytest.raises(UnknownCountryError):
        unmatched_prior_for("us-zz")


@pytest.mark.parametrize("value", ["0", "1.5", "-0.1", '"high"', "true"])
def test_unmatched_prior_must_be_a_probability(value: str) -> None:
    with pytest.raises(ConfigError, match=r'formats/data/zz.json: "unmatched_prior" must be a number in \(0, 1\]'):
        _load_country("zz.json", f'{{"country": "zz", "unmatched_prior": {value}, "patterns": []}}')


def test_normalize() -> None:
    assert normalize("ab-12 cde") == "AB12CDE"
    assert normalize("М 123 ВС·77") == "M123BC77"
    assert normalize("٣٤٥") == "345"


def test_shipped_patterns_cover_the_labelled_plates(data_dir: Path) -> None:
    with open(data_dir / "ocr" / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    covered: dict[str, list[bool]] = {}
    for row in rows:
        group = "us" if row["country"].startswith("us-") else row["country"]
        covered.setdefault(group, []).append(match(row["text"], row["country"]) is not None)
    rate = {group: sum(hits) / len(hits) for group, hits in covered.items()}
    assert rate["br"] == rate["cn"] == rate["tn"] == 1.0
    # Vanity and specialty plates follow no layout; most US plates do.
    assert rate["us"] > 0.65


def test_us_unmatched_prior_is_the_odds_of_a_train_plate_fitting_no_pattern(data_dir: Path) -> None:
    with open(data_dir / "ocr" / "labels.csv", newline="") as fh:
        texts = [r["text"] for r in csv.DictReader(fh) if r["split"] == "train" and r["country"].startswith("us")]
    outside = sum(match(t, "us") is None for t in texts) / len(texts)
    assert unmatched_prior_for("us") == pytest.approx(outside / (1 - outside), abs=0.02)


def test_package_docstring_examples_run() -> None:
    assert doctest.testmod(numberplate.formats).failed == 0
