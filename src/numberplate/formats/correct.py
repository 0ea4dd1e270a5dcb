"""Turn a recogniser's per-character alternatives into a ranked, pattern-checked ``PlateText``."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Literal

from numberplate.formats.patterns import Lookalikes, is_auto, normalize, patterns_for, unmatched_prior_for
from numberplate.types import Candidate, PlateText

Alternatives = Sequence[Sequence[tuple[str, float]]]
"""Per output character, its (character, probability) pairs, best first."""

ConfidenceKind = Literal["sequence", "char"]

# Letter <-> digit look-alikes with how readily one is read as the other: the likelihood ratio
# P(read a | plate shows b) / P(read a | plate shows a), the larger of the two directions. Measured
# for the shipped plate OCR model on 20,000 fresh synthetic plates of every layout
# (`numberplate train confusions`, docs/results.md, session 6). They used to be set by hand at
# 0.3-0.9; a trained model reads look-alikes apart far better than that (it has learnt where a
# layout puts letters and digits), and the hand weights let a layout overrule confident reads.
CONFUSION_PAIRS: tuple[tuple[str, str, float], ...] = (
    ("O", "0", 0.127),
    ("B", "8", 0.117),
    ("I", "1", 0.112),
    ("Q", "0", 0.100),
    ("D", "0", 0.085),
    ("G", "6", 0.068),
    ("T", "7", 0.063),
    ("Z", "2", 0.051),
    ("S", "5", 0.036),
    ("A", "4", 0.028),
    ("Z", "7", 0.025),
    ("L", "1", 0.023),
    ("J", "1", 0.014),
    ("U", "0", 0.015),
    ("B", "3", 0.012),
)


def _confusion_table() -> dict[str, tuple[tuple[str, float], ...]]:
    table: dict[str, list[tuple[str, float]]] = {}
    for a, b, w in CONFUSION_PAIRS:
        table.setdefault(a, []).append((b, w))
        table.setdefault(b, []).append((a, w))
    return {c: tuple(sorted(pairs, key=lambda x: -x[1])) for c, pairs in table.items()}


CONFUSIONS: Mapping[str, tuple[tuple[str, float], ...]] = _confusion_table()
"""For each character, its look-alikes of the other class with their confusion weights, strongest first."""
_PARTNERS: Mapping[str, frozenset[str]] = {c: frozenset(o for o, _ in looks) for c, looks in CONFUSIONS.items()}

# Alternatives less likely than this (after the best of their position) never make the candidate
# list; dropping them keeps the search small, and their mass still counts as unreached.
NEGLIGIBLE = 1e-3
# A pattern shape is not searched when its best possible score is under this share of the best score
# already found (most shapes of `auto`, whose look-alike swaps the recogniser finds very unlikely).
NEGLIGIBLE_SHAPE = 1e-4


def postprocess(
    alternatives: Alternatives,
    country: str | None = None,
    *,
    top_k: int | None = 3,
    beam_width: int = 16,
    max_candidates: int = 5,
    max_swaps: int = 2,
    unmatched_prior: float | None = None,
) -> PlateText:
    """Rank the readings of a plate from per-position alternatives, checked against a country's patterns.

    Every candidate text scores the product of its per-character probabilities, found by a beam over
    the positions. With a country, candidates are also spelled under each of its pattern shapes: where
    a shape rules out the character read and allows a look-alike of the other class (``0`` where a
    letter must be, ``B`` where a digit must be), the look-alike is tried with a reduced probability:
    the read character's probability times the pair's weight in :data:`CONFUSIONS` where no reachable
    shape allows the character read (the layout demands a correction), and only a share of its error
    mass elsewhere (a reading that fits is overturned only by the recogniser's own doubt). A pattern's
    own look-alikes (glyphs its typeface draws alike: the UK's ``1`` as ``I``) are tried at the read
    character's probability times their weight wherever that pattern wants them. A candidate
    that fits a pattern is multiplied by the pattern's weight (its prior), one that fits none by
    ``unmatched_prior``. Confidences are these scores over their sum plus the probability mass the
    beam never reached, so they sum to at most 1 and, without a country, equal the plain products.

    Args:
        alternatives: for each output character, its top (character, probability) pairs, best first.
            A position whose best character is a separator (space, dash...) is dropped, and so are
            alternatives below :data:`NEGLIGIBLE` after the best of their position.
        country: country or region code (``"br"``, ``"us-ca"``); ``"auto"`` checks every country's
            patterns and reports a country only when the layout read is that country's alone;
            ``None`` uses no pattern data and changes no character.
        top_k: alternatives kept per position (``None``: all given).
        beam_width: readings kept per position while searching.
        max_candidates: how many candidates the result lists.
        max_swaps: most look-alike swaps in one candidate, so a foreign or vanity plate is not forced
            into a local layout.
        unmatched_prior: prior of a reading that fits none of the country's patterns; ``None``: the
            country's own (its data's ``unmatched_prior``: 0.01 for most, higher where vanity plates
            are common).

    Returns:
        The best reading, its confidence and per-character confidences, the candidates (best first,
        confidences summing to at most 1), the matched pattern's country code and whether one matched
        (``None`` without a country).

    Raises:
        ValueError: an alternative is not a single character, a probability is not in [0, 1], or a
            search setting is out of range.
        UnknownCountryError: ``country`` has no pattern data.
    """
    if (top_k is not None and top_k < 1) or beam_width < 1 or max_candidates < 1 or max_swaps < 0:
        raise ValueError(
            f"top_k={top_k}, beam_width={beam_width}, max_candidates={max_candidates} must be at least 1"
            f" and max_swaps={max_swaps} at least 0"
        )
    if unmatched_prior is not None and not 0.0 < unmatched_prior <= 1.0:
        raise ValueError(f"unmatched_prior={unmatched_prior} must be in (0, 1]")
    patterns = None if country is None else patterns_for(country)
    if unmatched_prior is None:
        unmatched_prior = unmatched_prior_for(country)
    positions = _clean(alternatives, top_k)
    if not positions:
        return PlateText("", 0.0, pattern_matched=None if patterns is None else False)

    found: dict[str, _Reading] = {}
    free = [[(c, p, False) for c, p in pos.items()] for pos in positions]
    for reading in _beam(free, beam_width, max_swaps):
        found.setdefault(reading.text, reading)
    classes = _weight_classes(country) if patterns else ()
    skipped_prior = 0.0
    if patterns and country is not None:
        # Shapes whose best possible score is a negligible share of a score already reached cannot
        # change the result: their readings would fall below the candidates and into the unreached mass.
        top = max(found.values(), key=lambda r: r.product)
        floor = NEGLIGIBLE_SHAPE * top.product * _prior(top.text, classes, unmatched_prior)
        heaviest = max(unmatched_prior, classes[0][0] if classes else 0.0)
        # A shape that allows every alternative gives the free beam's readings again; one with a position
        # left without options, or that needs more look-alike swaps than allowed, gives none.
        shaped = [(math.prod(pos[0][1] for pos in options) * heaviest, options)
                  for options in _pattern_options(positions, country)
                  if options != free and all(options) and sum(all(o[2] for o in pos) for pos in options) <= max_swaps]
        for bound, options in sorted(shaped, key=lambda s: -s[0]):
            if bound < floor:
                # Not searched, but what its readings fit still sets the prior of the unreached mass below.
                if bound > 0.0:
                    best_spelling = "".join(pos[0][0] for pos in options)
                    skipped_prior = max(skipped_prior, _prior(best_spelling, classes, unmatched_prior))
                continue
            for reading in _beam(options, beam_width, max_swaps):
                if reading.product > 0.0 and (
                    reading.text not in found or reading.product > found[reading.text].product
                ):
                    found[reading.text] = reading

    scored: list[tuple[float, float, _Reading]] = []  # score, prior, reading
    for reading in found.values():
        prior = 1.0 if patterns is None else _prior(reading.text, classes, unmatched_prior)
        scored.append((reading.product * prior, prior, reading))
    scored.sort(key=lambda s: -s[0])

    # Strings the beam never reached keep their share of the recogniser's probability mass, at the
    # best prior seen: unknown readings may fit a pattern as well as the best one does.
    reached = sum(r.product if not r.swaps else math.prod(pos.get(ch, 0.0) for pos, ch in zip(positions, r.text))
                  for r in found.values())
    total = sum(s[0] for s in scored) + max(0.0, 1.0 - reached) * max(skipped_prior, *(s[1] for s in scored))
    candidates = tuple(Candidate(r.text, score / total if total > 0 else 0.0)
                       for score, _, r in scored[:max_candidates])
    best = scored[0][2]
    fitting = _fitting_countries(best.text, country) if patterns and country is not None else ()
    plate_country = fitting[0] if fitting else None
    if fitting and is_auto(country):
        # Read without naming a country: said to be from one only when its layout is that country's alone.
        countries = {c.partition("-")[0] for c in fitting}
        plate_country = countries.pop() if len(countries) == 1 else None
    return PlateText(
        text=best.text,
        confidence=candidates[0].confidence,
        char_confidences=best.probs,
        candidates=candidates,
        country=plate_country,
        pattern_matched=None if patterns is None else bool(fitting),
    )


def postprocess_text(
    text: str,
    confidence: float,
    country: str | None = None,
    *,
    confidence_kind: ConfidenceKind = "sequence",
    max_candidates: int = 5,
    max_swaps: int = 2,
    unmatched_prior: float | None = None,
) -> PlateText:
    """:func:`postprocess` for backends that give only a string and one score.

    Every character gets the same probability; its look-alikes from :data:`CONFUSIONS` share the rest
    in proportion to their confusion weights (never more than the character itself), so common
    one-character misreads appear as candidates.

    Args:
        text: the backend's reading; normalised first (upper case, separators removed).
        confidence: the backend's score in [0, 1].
        country: country or region code; ``None`` changes no character.
        confidence_kind: ``"sequence"`` when the score is for the whole string (each character gets
            ``confidence ** (1 / len)``), ``"char"`` when it is a per-character (mean) score.
        max_candidates: how many candidates the result lists.
        max_swaps: most look-alike swaps in one candidate.
        unmatched_prior: prior of a reading that fits none of the country's patterns; ``None``: the country's own.

    Raises:
        ValueError: ``confidence`` is not in [0, 1].
        UnknownCountryError: ``country`` has no pattern data.
    """
    if not 0.0 <= confidence <= 1.0:
        raise ValueError(f"confidence {confidence} for {text!r} must be in [0, 1]")
    plate = normalize(text)
    p = confidence ** (1 / len(plate)) if plate and confidence_kind == "sequence" else confidence
    alternatives = []
    for c in plate:
        looks = CONFUSIONS.get(c, ())
        spread = min(p, (1.0 - p) / max(1.0, sum(w for _, w in looks)))
        alternatives.append([(c, p), *((other, spread * w) for other, w in looks)])
    return postprocess(
        alternatives,
        country,
        top_k=None,
        max_candidates=max_candidates,
        max_swaps=max_swaps,
        unmatched_prior=unmatched_prior,
    )


# --- internals -----------------------------------------------------------------------------------

_Option = tuple[str, float, bool]  # character, probability, whether it is a look-alike swap


@dataclass(frozen=True)
class _Reading:
    text: str
    probs: tuple[float, ...]
    product: float
    swaps: int = 0  # look-alike swaps in it: with none, ``product`` is the recogniser's own probability


@lru_cache(maxsize=4096)
def _fold(char: str) -> str:
    """:func:`normalize` of one character (cached: the same few characters come back all the time)."""
    return normalize(char)


def _clean(alternatives: Alternatives, top_k: int | None) -> list[dict[str, float]]:
    """Validate, fold and merge the alternatives: one {char: probability} per kept position, best first."""
    positions = []
    for i, pairs in enumerate(alternatives):
        if not pairs:
            raise ValueError(f"position {i} has no alternatives; drop it or give at least one (char, probability)")
        merged: dict[str, float] = {}
        separator_first = False
        for rank, (char, prob) in enumerate(sorted(pairs, key=lambda cp: -cp[1])):
            if not isinstance(char, str) or len(char) != 1:
                raise ValueError(f"position {i}: alternative {char!r} is not a single character")
            if not 0.0 <= prob <= 1.0 + 1e-6:
                raise ValueError(f"position {i}: probability {prob} of {char!r} is not in [0, 1]")
            folded = _fold(char)
            if not folded:
                separator_first |= rank == 0
                continue
            key = folded if len(folded) == 1 else char
            merged[key] = min(1.0, merged.get(key, 0.0) + prob)
        if separator_first or not merged:
            continue
        ranked = sorted(merged.items(), key=lambda cp: -cp[1])
        kept = [ranked[0], *(cp for cp in ranked[1:top_k] if cp[1] >= NEGLIGIBLE)]
        positions.append(dict(kept))
    return positions


def _pattern_options(positions: Sequence[Mapping[str, float]], country: str) -> list[list[list[_Option]]]:
    """Per reachable pattern shape of ``country``, the options at each position (shapes that leave the
    same options are tried once).

    A look-alike is decisive (full probability) only at a position where no reachable shape allows
    the character read: there the layouts demand a correction. Elsewhere a reading that already fits
    is overturned only by the recogniser's own doubt, so the look-alike gets a share of the error mass.
    """
    table = _shape_table(country, len(positions))
    # Work is done per position and distinct (allowed, own) there, not per shape: ``auto`` has ~60 shapes of
    # a length but a handful of distinct sets per position. A set can spell something at a position when it
    # holds one of the alternatives or a look-alike of one (what ``_constrained`` would find, without building it).
    reach = [_reachable(pos) for pos in positions]
    spells = [[not allowed.isdisjoint(_with_own(reach[i], own, positions[i])) for allowed, own in sets]
              for i, sets in enumerate(table.sets)]
    getter = list.__getitem__
    shapes = [shape for shape in table.shapes if all(map(getter, spells, shape))]
    used = [sorted({shape[i] for shape in shapes}) for i in range(len(positions))]
    decisive = [all(next(iter(pos)) not in table.sets[i][k][0] for k in used[i]) for i, pos in enumerate(positions)]
    # Options per used set, computed once per distinct (allowed characters that matter, own look-alikes that
    # apply); equal option lists at a position get one id, so shapes that leave the same options are one.
    options: list[dict[int, list[_Option]]] = []
    ids: list[list[int]] = []
    for i, pos in enumerate(positions):
        memo: dict[tuple[frozenset[str], Lookalikes], list[_Option]] = {}
        interned: dict[tuple[_Option, ...], int] = {}
        at: dict[int, list[_Option]] = {}
        position_ids = [-1] * len(table.sets[i])
        for k in used[i]:
            allowed, own = table.sets[i][k]
            own = tuple(look for look in own if look[0] in pos)
            key = (allowed.intersection(_with_own(reach[i], own, pos)) if own else allowed & reach[i], own)
            if key not in memo:
                memo[key] = _constrained(pos, allowed, decisive=decisive[i], own=own)
            at[k] = memo[key]
            position_ids[k] = interned.setdefault(tuple(at[k]), len(interned))
        options.append(at)
        ids.append(position_ids)
    unique: dict[tuple[int, ...], tuple[int, ...]] = {}
    for shape in shapes:
        unique.setdefault(tuple(map(getter, ids, shape)), shape)
    return [[options[i][k] for i, k in enumerate(shape)] for shape in unique.values()]


def _reachable(position: Mapping[str, float]) -> frozenset[str]:
    """The characters a position's options can hold (pattern look-alikes aside): its alternatives, and the
    look-alikes (:data:`CONFUSIONS`) of those with a probability above zero."""
    return frozenset(position).union(*(_PARTNERS.get(c, ()) for c, p in position.items() if p > 0.0))


def _with_own(reach: frozenset[str], own: Lookalikes, position: Mapping[str, float]) -> frozenset[str]:
    """``reach`` with what a pattern's own look-alikes make of the position's alternatives."""
    return reach.union(means for read, means, _ in own if position.get(read, 0.0) > 0.0) if own else reach


@dataclass(frozen=True)
class _ShapeTable:
    """A country's shapes of one length with their positions interned: ``sets[i]`` lists the distinct
    (allowed characters, pattern look-alikes) pairs at position ``i``, and each shape is their indices."""

    sets: tuple[tuple[tuple[frozenset[str], Lookalikes], ...], ...]
    shapes: tuple[tuple[int, ...], ...]


@lru_cache(maxsize=1024)
def _shape_table(country: str, length: int) -> _ShapeTable:
    """:func:`_shapes` of ``country`` and ``length`` as a :class:`_ShapeTable` (same shape order)."""
    index: list[dict[tuple[frozenset[str], Lookalikes], int]] = [{} for _ in range(length)]
    shapes = tuple(
        tuple(index[i].setdefault((allowed, own), len(index[i])) for i, allowed in enumerate(shape))
        for shape, own in _shapes(country, length)
    )
    return _ShapeTable(tuple(tuple(sets) for sets in index), shapes)


def _constrained(
    position: Mapping[str, float], allowed: frozenset[str], *, decisive: bool, own: Lookalikes = ()
) -> list[_Option]:
    """The options a pattern position leaves: allowed alternatives, plus look-alikes of disallowed ones.

    A look-alike gets the read character's probability times the confusion weight when ``decisive``,
    else only a share of the read character's error mass (``1 - p``, or ``p`` for an unlikely
    alternative) in proportion to the weights. The pattern's ``own`` look-alikes (glyphs its layout's
    typeface draws alike) always get the read character's probability times their weight.
    """
    options = {c: (c, p, False) for c, p in position.items() if c in allowed}
    for c, p in position.items():
        if c in allowed:
            continue
        looks = CONFUSIONS.get(c, ())
        share = 1.0 if decisive else min(p, 1.0 - p) / max(1.0, sum(w for _, w in looks))
        tried = [(other, (p if decisive else share) * weight) for other, weight in looks]
        tried += [(means, p * weight) for read, means, weight in own if read == c]
        for other, value in tried:
            if other in allowed and value > options.get(other, ("", 0.0, False))[1]:
                options[other] = (other, value, True)
    return sorted(options.values(), key=lambda o: -o[1])


_first = itemgetter(0)


def _beam(options: Sequence[Sequence[_Option]], width: int, max_swaps: int) -> list[_Reading]:
    """The ``width`` most probable readings, each with at most ``max_swaps`` look-alike swaps."""
    paths: list[tuple[float, str, tuple[float, ...], int]] = [(1.0, "", (), 0)]
    for position in options:
        paths = [
            (score * p, text + c, (*probs, p), swaps + swapped)
            for score, text, probs, swaps in paths
            for c, p, swapped in position
            if swaps + swapped <= max_swaps
        ]
        paths.sort(key=_first, reverse=True)  # stable: what heapq.nlargest gives, faster on short lists
        del paths[width:]
    return [_Reading(text, probs, score, swaps) for score, text, probs, swaps in paths]


def _shapes(country: str, length: int) -> tuple[tuple[tuple[frozenset[str], ...], Lookalikes], ...]:
    """Every character-class shape of ``length`` characters that a pattern of ``country`` allows, with
    the pattern's own look-alikes."""
    shapes: dict[tuple[tuple[frozenset[str], ...], Lookalikes], None] = {}
    for pattern in patterns_for(country):
        shapes.update(dict.fromkeys((shape, pattern.lookalikes) for shape in pattern.expand(length)))
    return tuple(shapes)


@lru_cache(maxsize=512)
def _weight_classes(country: str | None) -> tuple[tuple[float, re.Pattern[str]], ...]:
    """A country's patterns merged into one regex per weight, heaviest first (a prior in one or two matches)."""
    by_weight: dict[float, list[str]] = {}
    for p in patterns_for(country):
        by_weight.setdefault(p.weight, []).append(p.regex.pattern)
    return tuple((weight, _merged(regexes)) for weight, regexes in sorted(by_weight.items(), reverse=True))


def _merged(regexes: Sequence[str]) -> re.Pattern[str]:
    """One regex that matches what any of ``regexes`` matches."""
    return re.compile("|".join(f"(?:{r})" for r in regexes))


def _prior(text: str, classes: Sequence[tuple[float, re.Pattern[str]]], unmatched_prior: float) -> float:
    """The weight of the heaviest pattern ``text`` fits, else ``unmatched_prior``."""
    for weight, regex in classes:
        if regex.fullmatch(text):
            return weight
    return unmatched_prior


@lru_cache(maxsize=512)
def _country_classes(country: str) -> tuple[tuple[float, tuple[tuple[str, re.Pattern[str]], ...]], ...]:
    """A country's patterns merged into one regex per weight and pattern country (``us``, ``us-ca``...),
    heaviest weight first, countries in data order."""
    grouped: dict[float, dict[str, list[str]]] = {}
    for p in patterns_for(country):
        grouped.setdefault(p.weight, {}).setdefault(p.country, []).append(p.regex.pattern)
    return tuple(
        (weight, tuple((code, _merged(regexes)) for code, regexes in codes.items()))
        for weight, codes in sorted(grouped.items(), reverse=True)
    )


def _fitting_countries(text: str, country: str) -> tuple[str, ...]:
    """The countries (in data order) of the heaviest patterns of ``country`` that ``text`` fits; none: ``()``."""
    for _, codes in _country_classes(country):
        fits = tuple(code for code, regex in codes if regex.fullmatch(text))
        if fits:
            return fits
    return ()
