"""Look-alike rates of the OCR model on synthetic plates: counting, ratios, and a short real measurement."""

from __future__ import annotations

from collections import Counter

import pytest

from numberplate.recognition.platenet_ocr import PlateOcrRecognizer
from numberplate.train.ocr.confusions import count_reads, measure, pair_rates


def test_only_reads_of_the_label_length_are_aligned() -> None:
    counts = count_reads(["AB0", "AB", "0B0"], ["ABO", "ABC", "OBO"])
    assert counts == Counter({("A", "A"): 1, ("B", "B"): 2, ("0", "O"): 3})


def test_pair_rates_are_likelihood_ratios_both_ways() -> None:
    counts = Counter({("O", "0"): 2, ("0", "0"): 40, ("0", "O"): 1, ("O", "O"): 10})
    (rate,) = pair_rates(counts, [("O", "0")])
    assert (rate.a_for_b, rate.b_for_a) == (2, 1)
    assert rate.ratio_a_for_b == pytest.approx(2 / 10) and rate.ratio_b_for_a == pytest.approx(1 / 40)
    assert rate.weight == pytest.approx(0.2)
    (empty,) = pair_rates(Counter(), [("S", "5")])
    assert empty.weight == 0.0


def test_the_shipped_model_reads_few_look_alikes_on_fresh_synthetic_plates() -> None:
    rates = measure(PlateOcrRecognizer(), [("O", "0"), ("S", "5")], crops=64, seed=7)
    assert [(r.a, r.b) for r in rates] == [("O", "0"), ("S", "5")]
    assert all(0.0 <= r.weight < 0.5 for r in rates)


def test_the_measured_plates_are_landscape_crops(monkeypatch: pytest.MonkeyPatch) -> None:
    # render_crop takes (width, height): the plates read must look like the crops the reader gets.
    from numberplate.train.ocr import confusions
    from numberplate.train.synth.render import render_crop

    sizes = []

    def spy(rng: object, out_size: tuple[int, int], layout: object) -> tuple:
        sizes.append(out_size)
        return render_crop(rng, out_size, layout)  # type: ignore[arg-type]

    monkeypatch.setattr(confusions, "render_crop", spy)
    measure(PlateOcrRecognizer(), [("O", "0")], crops=4, seed=7)
    assert sizes and all(w > h for w, h in sizes)
