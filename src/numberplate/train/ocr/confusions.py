"""Measure how often the plate OCR model reads one look-alike for another, on fresh synthetic plates.

The weights of :data:`numberplate.formats.correct.CONFUSION_PAIRS` are likelihood ratios: how
readily the reader reports ``a`` when the plate shows ``b``, relative to when it shows ``a``. This
module estimates them for a model on synthetic crops it has never seen (a seed apart from
training's), by aligning each read with its label character by character wherever the lengths agree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from numberplate.recognition.alphabet import ALPHABET, PAD
from numberplate.recognition.platenet_ocr import PlateOcrRecognizer
from numberplate.train.synth.layouts import pick_layout
from numberplate.train.synth.render import render_crop

# Far from the training seeds (0..): the measured crops are new to the model.
DEFAULT_SEED = 12345


@dataclass(frozen=True)
class PairRate:
    """One look-alike pair as measured: reads of ``a`` for ``b`` and of ``b`` for ``a``, as likelihood ratios."""

    a: str
    b: str
    a_for_b: int
    b_for_a: int
    ratio_a_for_b: float
    ratio_b_for_a: float

    @property
    def weight(self) -> float:
        """The pair's confusion weight: the larger of the two directions (the table is symmetric)."""
        return max(self.ratio_a_for_b, self.ratio_b_for_a)


def count_reads(reads: Sequence[str], labels: Sequence[str]) -> Counter[tuple[str, str]]:
    """``(read, true)`` character counts over the reads whose length matches their label's."""
    counts: Counter[tuple[str, str]] = Counter()
    for read, label in zip(reads, labels, strict=True):
        if len(read) == len(label):
            counts.update(zip(read, label))
    return counts


def pair_rates(counts: Counter[tuple[str, str]], pairs: Sequence[tuple[str, str]]) -> list[PairRate]:
    """Likelihood ratios ``P(read a | b) / P(read a | a)`` both ways for each pair, from :func:`count_reads`."""
    out = []
    for a, b in pairs:
        a_for_b, b_for_a = counts[(a, b)], counts[(b, a)]
        out.append(PairRate(a, b, a_for_b, b_for_a, a_for_b / max(counts[(a, a)], 1),
                            b_for_a / max(counts[(b, b)], 1)))
    return out


def measure(
    recognizer: PlateOcrRecognizer, pairs: Sequence[tuple[str, str]], crops: int = 20000, seed: int = DEFAULT_SEED,
    batch: int = 64,
) -> list[PairRate]:
    """Render ``crops`` synthetic plates (all layouts, by weight), read them raw and rate each pair."""
    rng = np.random.default_rng(seed)
    height, width = 48, 160
    reads: list[str] = []
    labels: list[str] = []
    for start in range(0, crops, batch):
        images = []
        for _ in range(min(batch, crops - start)):
            image, text, _ = render_crop(rng, (width, height), pick_layout(rng))
            images.append(image)
            labels.append(text)
        for probs in recognizer.probabilities(images):
            reads.append("" if probs is None else "".join(ALPHABET[i] for i in probs.argmax(1)).replace(PAD, ""))
    return pair_rates(count_reads(reads, labels), pairs)
