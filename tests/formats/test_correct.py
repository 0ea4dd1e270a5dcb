"""Candidate generation, look-alike correction against country patterns, and confidence calibration."""

from __future__ import annotations

import dataclasses
import json
import math
import random

import pytest

from numberplate.formats import CONFUSIONS, UnknownCountryError, match_all, postprocess, postprocess_text
from numberplate.types import PlateText


def certain(text: str, p: float = 0.95) -> list[list[tuple[str, float]]]:
    """Alternatives of a recogniser that reads ``text`` with probability ``p`` per character, nothing else."""
    return [[(c, p)] for c in text]


def with_position(text: str, index: int, pairs: list[tuple[str, float]], p: float = 0.95) -> list:
    alternatives = certain(text, p)
    alternatives[index] = pairs
    return alternatives


def check_invariants(result: PlateText) -> None:
    confidences = [c.confidence for c in result.candidates]
    assert confidences == sorted(confidences, reverse=True)
    assert sum(confidences) <= 1.0 + 1e-9
    assert all(0.0 <= c <= 1.0 for c in confidences)
    assert len({c.text for c in result.candidates}) == len(result.candidates)
    assert len(result.char_confidences) == len(result.text)
    assert result.candidates[0].text == result.text
    assert result.candidates[0].confidence == result.confidence
    json.dumps(result.to_dict())


def texts(result: PlateText) -> list[str]:
    return [c.text for c in result.candidates]


# --- no country: rank, never correct -------------------------------------------------------------


def test_without_country_nothing_is_corrected() -> None:
    result = postprocess_text("0BC1234", 0.9)
    assert result.text == "0BC1234"
    assert (result.country, result.pattern_matched) == (None, None)
    assert result.confidence == pytest.approx(0.9)  # a sequence score survives unchanged
    # ... but the look-alike reading is offered as a candidate.
    assert "OBC1234" in texts(result)
    check_invariants(result)


def test_without_country_confidences_are_the_recogniser_probabilities() -> None:
    result = postprocess([[("A", 0.7), ("B", 0.3)], [("1", 0.6), ("I", 0.4)]])
    expected = {"A1": 0.42, "AI": 0.28, "B1": 0.18, "BI": 0.12}
    assert {c.text: round(c.confidence, 6) for c in result.candidates} == expected
    assert result.char_confidences == (0.7, 0.6)
    check_invariants(result)


def test_unreached_probability_mass_keeps_confidences_honest() -> None:
    # Each position lists only 60% of its mass: the best reading is 36% likely, not 100%.
    result = postprocess([[("A", 0.6)], [("1", 0.6)]])
    assert result.confidence == pytest.approx(0.36)


# --- with a country: correct where the layout demands it ------------------------------------------


def test_br_letter_position_read_as_digit_is_corrected() -> None:
    result = postprocess_text("0BC1234", 0.9, "br")
    assert result.text == "OBC1234"
    assert (result.country, result.pattern_matched) == ("br", True)
    assert result.char_confidences[0] < result.char_confidences[1]  # the swapped character pays for it
    check_invariants(result)


def test_br_valid_mercosul_reading_is_kept() -> None:
    # ABC1O34 is a valid Mercosul plate (letter in 5th place) and ABC1034 a valid grey plate:
    # a plain string read is kept, and the other reading is offered.
    result = postprocess_text("ABC1O34", 0.9, "br")
    assert result.text == "ABC1O34"
    assert result.pattern_matched is True
    assert "ABC1034" in texts(result)
    check_invariants(result)


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        ([("0", 0.6), ("O", 0.4)], "ABC1034"),
        ([("O", 0.6), ("0", 0.4)], "ABC1O34"),
        ([("O", 0.99)], "ABC1O34"),
        ([("0", 0.99)], "ABC1034"),
    ],
)
def test_br_ambiguous_position_is_decided_by_the_recogniser(pairs: list[tuple[str, float]], expected: str) -> None:
    result = postprocess(with_position("ABC1O34", 4, pairs), "br")
    assert result.text == expected
    assert result.pattern_matched is True
    assert {"ABC1034", "ABC1O34"} <= set(texts(result))
    check_invariants(result)


def test_gb_current_plate_stays() -> None:
    result = postprocess_text("AB12CDE", 0.9, "gb")
    assert result.text == "AB12CDE"
    assert (result.country, result.pattern_matched) == ("gb", True)


def test_gb_digit_in_letter_place_is_corrected_when_the_recogniser_hesitates() -> None:
    result = postprocess(with_position("A812CDE", 1, [("8", 0.6), ("B", 0.3)]), "gb")
    assert result.text == "AB12CDE"
    # A generic backend's per-character 0.9 is not enough doubt to overrule a valid prefix plate
    # (A 812 CDE): a model reads 8 for B about 12 % as readily as for 8 (CONFUSION_PAIRS); the
    # current-style reading stays a candidate.
    generic = postprocess_text("A812CDE", 0.9, "gb", confidence_kind="char")
    assert generic.text == "A812CDE" and "AB12CDE" in texts(generic)


def test_gb_confident_read_of_a_valid_prefix_plate_is_kept() -> None:
    # A812 CDE is a legal 1983-2001 plate; a near-certain read of it is not forced into today's format,
    # though the current-format reading stays a candidate.
    result = postprocess_text("A812CDE", 0.99, "gb")
    assert result.text == "A812CDE"
    assert result.pattern_matched is True
    assert "AB12CDE" in texts(result)


def test_tn_literal_t_is_restored() -> None:
    result = postprocess_text("1274567", 0.9, "tn")
    assert result.text == "12T4567"
    assert result.country == "tn"


def test_ru_series_beside_the_standard_one_are_corrected_in_their_own_layout() -> None:
    # A taxi plate (two letters, three digits, region) and a motorcycle or tractor plate (four digits, two letters,
    # region): neither fits the standard layout, so without their own patterns nothing was corrected.
    taxi = postprocess_text("0B12377", 0.9, "ru")
    assert (taxi.text, taxi.country, taxi.pattern_matched) == ("OB12377", "ru", True)
    assert postprocess_text("1234A877", 0.9, "ru").text == "1234AB77"


def test_nl_zero_in_a_letter_place_is_a_d_as_dutch_plates_have_no_o() -> None:
    # Since 1978 Dutch series use consonants only: the look-alike the layout allows is D, not O.
    result = postprocess_text("87G0K9", 0.9, "nl")
    assert result.text == "87GDK9"
    assert match_all("87GOK9", "nl") == []


def test_ae_abu_dhabi_number_is_not_forced_into_a_dubai_code_letter() -> None:
    # 5 12345: Abu Dhabi's category 5 and the number; Dubai's layout alone used to turn the 5 into an S.
    result = postprocess_text("512345", 0.9, "ae")
    assert (result.text, result.pattern_matched) == ("512345", True)
    assert postprocess_text("S12345", 0.9, "ae").text == "S12345"


def test_it_motorcycle_plate_is_corrected_in_its_digit_block() -> None:
    assert postprocess_text("AB1Z345", 0.9, "it").text == "AB12345"


def test_cn_letter_o_is_never_on_a_chinese_plate() -> None:
    assert postprocess_text("京AB1O34", 0.9, "cn").text == "京AB1034"
    # Letters and digits are both allowed there: a B stays a B.
    assert postprocess_text("京A8B123", 0.9, "cn").text == "京A8B123"


def test_ru_cyrillic_output_is_folded_to_latin() -> None:
    result = postprocess([[(c, 0.95)] for c in "А123ВС77"], "ru")
    assert result.text == "A123BC77"
    assert result.pattern_matched is True


def test_swaps_happen_only_where_the_layout_demands_the_other_class() -> None:
    rng = random.Random(7)
    letters, digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789"
    for _ in range(200):
        grey = "".join(rng.choice(letters) for _ in range(3)) + "".join(rng.choice(digits) for _ in range(4))
        assert postprocess_text(grey, 0.9, "br").text == grey
    for a, b, _ in _pairs():
        assert a.isalpha() != b.isalpha(), f"{a}<->{b} is not a letter/digit confusion"


def _pairs() -> list[tuple[str, str, float]]:
    return [(a, b, w) for a, looks in CONFUSIONS.items() for b, w in looks]


def test_confusion_table_is_symmetric() -> None:
    pairs = {(a, b): w for a, b, w in _pairs()}
    assert all(pairs[(b, a)] == w for (a, b), w in pairs.items())
    assert pairs[("O", "0")] > pairs[("D", "0")]  # O is the likeliest letter behind a 0


def test_nothing_fits_keeps_the_raw_reading() -> None:
    result = postprocess_text("HELLO", 0.8, "br")
    assert result.text == "HELLO"
    assert (result.country, result.pattern_matched) == (None, False)
    assert result.confidence == pytest.approx(0.8)
    check_invariants(result)


def test_vanity_plate_is_not_forced_into_a_state_layout() -> None:
    result = postprocess_text("P0W9999", 0.9, "us-ca")
    assert result.text == "P0W9999"
    assert result.pattern_matched is False


def test_max_swaps_bounds_corrections() -> None:
    assert postprocess_text("0BC1234", 0.9, "br", max_swaps=0).text == "0BC1234"
    assert postprocess_text("0BC12B4", 0.9, "br", max_swaps=1).pattern_matched is False
    assert postprocess_text("0BC12B4", 0.9, "br", max_swaps=2).text == "OBC1284"


def test_unmatched_readings_are_down_weighted() -> None:
    result = postprocess(with_position("ABC1234", 0, [("0", 0.55), ("O", 0.45)]), "br")
    assert result.text == "OBC1234"
    assert {c.text: c.confidence for c in result.candidates}.get("0BC1234", 0.0) < 0.05


@pytest.mark.parametrize(
    ("truth", "country"),
    [("AB12CDE", None), ("AB12CDE", "gb"), ("ABC1234", "br"), ("123T4567", "tn"), ("7ABC123", "us-ca")],
)
def test_the_truth_is_among_the_candidates_for_one_character_confusions(truth: str, country: str | None) -> None:
    for i, ch in enumerate(truth):
        # The typical look-alikes (O/0, I/1, B/8, S/5, Z/2), not the rarer ones.
        for look, _ in [(look, w) for look, w in CONFUSIONS.get(ch, ()) if w >= 0.7][:1]:
            misread = truth[:i] + look + truth[i + 1 :]
            result = postprocess_text(misread, 0.8, country)
            assert truth in texts(result), (misread, texts(result))
            check_invariants(result)


@pytest.mark.parametrize(
    "alternatives",
    [
        certain("AB12CDE"),
        [[("A", 0.5), ("4", 0.4), ("H", 0.1)], [("8", 0.7), ("B", 0.2)], [("1", 1.0)], [("2", 0.9), ("Z", 0.1)]],
        with_position("京A12345", 3, [("B", 0.5), ("8", 0.5)]),
    ],
)
@pytest.mark.parametrize("country", [None, "gb", "cn", "us"])
def test_result_invariants(alternatives: list, country: str | None) -> None:
    check_invariants(postprocess(alternatives, country, max_candidates=3))


# --- input handling ------------------------------------------------------------------------------


def test_separators_and_case_are_normalised() -> None:
    alternatives = [[("a", 0.9)], [("b", 0.9)], [("-", 0.8), ("1", 0.2)], [("1", 0.9)], [("2", 0.9)]]
    alternatives += [[("c", 0.9)], [("d", 0.9)], [("e", 0.9)]]
    result = postprocess(alternatives, "gb")
    assert result.text == "AB12CDE"
    assert len(result.char_confidences) == 7


def test_empty_input() -> None:
    assert postprocess([], None) == PlateText("", 0.0, pattern_matched=None)
    assert postprocess_text(" - ", 0.9, "gb") == PlateText("", 0.0, pattern_matched=False)


def test_zero_confidence_does_not_break() -> None:
    result = postprocess_text("ABC1234", 0.0, "br")
    assert result.text == "ABC1234"
    assert result.confidence == 0.0


@pytest.mark.parametrize(
    ("alternatives", "message"),
    [
        ([[("A", 0.9)], []], "position 1 has no alternatives"),
        ([[("AB", 0.9)]], "'AB' is not a single character"),
        ([[("A", 1.5)]], "probability 1.5 of 'A' is not in"),
        ([[("A", math.nan)]], "probability nan of 'A' is not in"),
    ],
)
def test_malformed_alternatives_are_rejected(alternatives: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        postprocess(alternatives)


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(ValueError, match="must be in \\[0, 1\\]"):
        postprocess_text("ABC1234", 1.2)
    with pytest.raises(ValueError, match="beam_width=0"):
        postprocess(certain("AB"), beam_width=0)
    with pytest.raises(ValueError, match="unmatched_prior=0"):
        postprocess(certain("AB"), unmatched_prior=0)


def test_unknown_country_is_reported() -> None:
    with pytest.raises(UnknownCountryError, match="unknown country code 'xx'"):
        postprocess_text("ABC1234", 0.9, "xx")


def test_a_vanity_reading_is_kept_where_the_country_data_expects_vanity_plates() -> None:
    # MDJJS5 fits no US layout; MDJJ55 fits "@@@@##". The recogniser is fairly sure of the S.
    alternatives = [*certain("MDJJ"), [("S", 0.8), ("5", 0.15)], *certain("5")]
    assert postprocess(alternatives, "us").text == "MDJJS5"  # US odds of an unlisted layout: 0.23
    assert postprocess(alternatives, "us", unmatched_prior=0.01).text == "MDJJ55"


def test_negligible_alternatives_are_dropped_but_their_mass_still_counts() -> None:
    alternatives = [[("A", 0.9), ("4", 0.0005)], [("B", 0.9), ("8", 0.09)]]
    plate = postprocess(alternatives)
    assert {c.text for c in plate.candidates} == {"AB", "A8"}  # 4B and 48 are below NEGLIGIBLE
    assert plate.confidence == pytest.approx(0.81)  # without a country, the plain product


@pytest.mark.parametrize("country", ["us", "br", "gb", "cn", "tn", "us-ca", "auto", None])
def test_merged_pattern_priors_agree_with_the_best_single_pattern(country: str | None) -> None:
    from numberplate.formats import patterns_for
    from numberplate.formats.correct import _fitting_countries, _prior, _weight_classes

    patterns = patterns_for(country)
    rng = random.Random(5)
    texts = [p.example for p in patterns if p.example]
    pool = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    texts += ["".join(rng.choice(pool) for _ in range(rng.randint(3, 9))) for _ in range(300)]
    for text in texts:
        fits = [p for p in patterns if p.regex.fullmatch(text)]
        top = max((p.weight for p in fits), default=0.01)
        assert _prior(text, _weight_classes(country), 0.01) == top, text
        if country is not None:
            heaviest = [p.country for p in fits if p.weight == top]
            assert _fitting_countries(text, country) == tuple(dict.fromkeys(heaviest)), text


def test_auto_corrects_a_look_alike_that_only_a_layout_of_one_country_explains() -> None:
    # A UK plate whose bare 1 the recogniser half took for an I: no hint leaves it, "auto" finds the
    # layout; it names no country, since Romania writes two letters, two digits, three letters too.
    alternatives = [[(c, 0.95)] for c in "VU"] + [[("I", 0.55), ("1", 0.4)], [("6", 0.95)]]
    alternatives += [[(c, 0.95)] for c in "XVW"]
    assert postprocess(alternatives).text == "VUI6XVW"
    auto = postprocess(alternatives, "auto")
    assert auto.text == "VU16XVW" and auto.pattern_matched
    assert {p.country for p in match_all("VU16XVW", "auto")} == {"gb", "ro"} and auto.country is None


def test_the_uk_bare_1_read_confidently_as_i_is_restored_where_a_uk_layout_wants_a_digit() -> None:
    # The UK typeface's 1 is the glyph I (the "lookalikes" of gb.json's current layout): every reader
    # is sure it saw an I (val scene PK16XZT read PKI6XZT, 36:1 for I). The general I/1 weight cannot
    # overturn that, the layout's own look-alike can, in "auto" and with the gb hint; no hint changes nothing.
    alternatives = with_position("PK16XZT", 2, [("I", 0.97), ("1", 0.027)], p=0.99)
    assert postprocess(alternatives).text == "PKI6XZT"
    for country in ("auto", "gb"):
        plate = postprocess(alternatives, country)
        assert plate.text == "PK16XZT" and plate.pattern_matched and "PKI6XZT" in texts(plate)
    # Only the current layout has the look-alike: an I where an older UK layout wants a digit stays
    # (ABCI234 fits German and Polish layouts as it is; the UK's dateless @{1,3}#{1,4} is rare).
    abci = postprocess(with_position("ABCI234", 3, [("I", 0.97), ("1", 0.027)], p=0.99), "auto")
    assert abci.text == "ABCI234" and abci.confidence > 0.9


def test_a_layout_s_own_look_alikes_apply_only_to_its_pattern(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without the UK's look-alike the same read stays as it was.
    from numberplate.formats import correct, patterns

    plain = [dataclasses.replace(p, lookalikes=()) for p in patterns.patterns_for("auto")]
    monkeypatch.setattr(correct, "patterns_for", lambda country: plain)
    correct._shape_table.cache_clear()
    try:
        alternatives = with_position("PK16XZT", 2, [("I", 0.97), ("1", 0.027)], p=0.99)
        assert postprocess(alternatives, "auto").text == "PKI6XZT"
    finally:
        correct._shape_table.cache_clear()
    assert not any(p.lookalikes for p in patterns.patterns_for("ro"))
    gb = patterns.patterns_for("gb")
    assert [p.lookalikes for p in gb] == [(("I", "1", 1.0), ("0", "O", 0.1))] + [()] * (len(gb) - 1)


def test_a_uk_o_read_as_0_after_the_age_identifier_is_restored_with_the_gb_hint() -> None:
    # The UK typeface's O is its 0 drawn a little wider: readers are sure of a 0 (openlpr YG60OZC read
    # YG600ZC, O at 0.00). The current layout has only letters after the two digits.
    alternatives = with_position("YG600ZC", 4, [("0", 0.96), ("O", 0.004)], p=0.97)
    assert postprocess(alternatives).text == "YG600ZC"
    plate = postprocess(alternatives, "gb")
    assert plate.text == "YG60OZC" and plate.pattern_matched and plate.country == "gb"
    # Without a hint the read fits Italy's AB123CD and Poland's as it is: it stays, with the UK reading as a
    # candidate, and keeps most of its confidence (a look-alike as strong as the bare 1 split it in two).
    auto = postprocess(alternatives, "auto")
    assert auto.text == "YG600ZC" and "YG60OZC" in texts(auto)
    assert auto.confidence > 0.85 * postprocess(alternatives).confidence
    # A 0 where the layout wants a digit stays a 0.
    assert postprocess([[(c, 0.97)] for c in "YG60OZC"], "gb").text == "YG60OZC"
    assert postprocess([[(c, 0.97)] for c in "AB10CDE"], "gb").text == "AB10CDE"


def test_auto_keeps_a_confident_reading_that_fits_no_layout() -> None:
    # A vanity plate read with confidence: no country's layout overrules it.
    plate = postprocess([[(c, 0.97)] for c in "STARK11"], "auto")
    assert plate.text == "STARK11"


def test_auto_names_a_country_only_when_the_layout_is_that_country_s_alone() -> None:
    for text in ("123T4567", "AB12CDE", "ABC1234", "京A12345"):
        plate = postprocess([[(c, 0.99)] for c in text], "auto")
        matched = match_all(text, "auto")
        top = max(p.weight for p in matched)
        countries = {p.country.partition("-")[0] for p in matched if p.weight == top}
        assert plate.text == text and plate.country == (countries.pop() if len(countries) == 1 else None)
    assert postprocess([[(c, 0.99)] for c in "123T4567"], "auto").country == "tn"


@pytest.mark.parametrize("country", ["auto", "gb", "us", "br", "de"])
def test_shapes_left_unsearched_change_no_result(country: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Skipping pattern shapes that cannot reach a noticeable score gives what the full search gives."""
    from numberplate.formats import correct

    rng = random.Random(7)
    chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    cases = []
    for _ in range(150):
        positions = []
        for _ in range(rng.randint(4, 8)):
            picked = rng.sample(chars, rng.randint(1, 3))
            probs = sorted((rng.random() for _ in picked), reverse=True)
            scale = sum(probs) * rng.uniform(1.0, 1.5)
            positions.append([(c, p / scale) for c, p in zip(picked, probs)])
        cases.append(positions)
    pruned = [postprocess(a, country) for a in cases]
    monkeypatch.setattr(correct, "NEGLIGIBLE_SHAPE", 0.0)
    full = [postprocess(a, country) for a in cases]
    for p, f in zip(pruned, full):
        assert (p.text, p.country, p.pattern_matched) == (f.text, f.country, f.pattern_matched)
        assert p.confidence == pytest.approx(f.confidence, abs=1e-3)
        assert [c.text for c in p.candidates[:2]] == [c.text for c in f.candidates[:2]]


def _pattern_options_per_shape(positions: list[dict[str, float]], country: str) -> list:
    """The plain reading of ``_pattern_options``' contract: every shape's options built one by one."""
    from numberplate.formats import correct, patterns

    shapes = list(dict.fromkeys((shape, p.lookalikes) for p in patterns.patterns_for(country)
                                for shape in p.expand(len(positions))))
    spelt = [(shape, own) for shape, own in shapes
             if all(correct._constrained(pos, allowed, decisive=True, own=own)
                    for pos, allowed in zip(positions, shape))]
    best = [next(iter(pos)) for pos in positions]
    decisive = [all(best[i] not in shape[i] for shape, _ in spelt) for i in range(len(positions))]
    unique: dict = {}
    for shape, own in spelt:
        options = [correct._constrained(pos, allowed, decisive=d, own=own)
                   for pos, allowed, d in zip(positions, shape, decisive)]
        unique.setdefault(tuple(map(tuple, options)), options)
    return list(unique.values())


@pytest.mark.parametrize("country", ["auto", "gb", "br", "us", "cn", "eg"])
def test_pattern_options_equal_building_every_shape_one_by_one(country: str) -> None:
    from numberplate.formats import correct

    rng = random.Random(7)
    chars = "ABDGIOQSTZ0125678" + "京"
    for _ in range(150):
        positions = []
        for _ in range(rng.randint(2, 9)):
            probs = sorted((rng.random() for _ in range(rng.randint(1, 3))), reverse=True)
            total = sum(probs) * rng.uniform(1.0, 1.3)
            positions.append({c: p / total for c, p in zip(rng.sample(chars, len(probs)), probs)})
        positions = correct._clean([list(pos.items()) for pos in positions], None)
        assert correct._pattern_options(positions, country) == _pattern_options_per_shape(positions, country)
