"""OCR metrics: exact-match and character accuracy of a recogniser on labelled plate crops, per source."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from numberplate.calibration import calibration_error
from numberplate.datasets.labels import RepeatedRows, read_csv_rows, relative_name
from numberplate.errors import DatasetError
from numberplate.formats.distance import levenshtein
from numberplate.formats.patterns import UnknownCountryError, check_country, normalize
from numberplate.recognition.base import Recognizer
from numberplate.recognition.crop import read_turned

OCR_LABELS_COLUMNS = ("image", "text", "country", "source", "split")


@dataclass(frozen=True)
class OcrSample:
    """One labelled plate crop: the image (a path or an RGB array), its text, source and country hint."""

    image: Path | np.ndarray
    text: str
    source: str = ""
    country: str | None = None
    split: str = ""
    line: int = field(default=0, compare=False)  # its row in a labels CSV (0: not from one), for messages


def label_text(text: str | None) -> str:
    """A labelled plate text in the form readers give theirs (``normalize``): upper case, without spaces or
    separators, look-alike Cyrillic letters and Arabic-Indic digits folded (``" 117t 3989"`` -> ``"117T3989"``).

    Every labels reader here (OCR, corrections, end-to-end) and the scoring use it, so a label is never
    wrong only by its spelling.
    """
    return normalize(text or "")


def default_ocr_root(path: Path) -> Path:
    """The folder an OCR labels CSV's image paths are relative to: the data root when ``path`` is
    ``<root>/ocr/labels.csv``, else the CSV's own folder."""
    return path.parent.parent if path.parent.name == "ocr" else path.parent


def read_corrections(path: Path) -> dict[str, str | None]:
    """Corrected labels per crop: a CSV ``image,text`` (more columns, e.g. a ``note``, are allowed), ``image``
    as in the labels; an empty ``text`` marks a crop that shows no plate (left out). See :func:`corrected`.

    Raises:
        DatasetError: the file cannot be read, lacks a column, or has a row without an image.
    """
    out: dict[str, str | None] = {}
    for line, row in read_csv_rows(path, ("image", "text"), "label corrections"):
        if not row["image"]:
            raise DatasetError(f"{path}:{line}: every row needs an image")
        out[row["image"]] = label_text(row["text"]) or None
    return out


def corrected(samples: Iterable[OcrSample], corrections: Mapping[str, str | None], root: Path) -> list[OcrSample]:
    """``samples`` with the texts :func:`read_corrections` gives for them (images relative to ``root``), without
    the crops it marks as no plate."""
    out = []
    for s in samples:
        # A decoded array has no name to correct it by.
        name = relative_name(s.image, root) if isinstance(s.image, Path) else None
        if name is None or name not in corrections:
            out.append(s)
        elif (text := corrections[name]) is not None:
            out.append(replace(s, text=text))
    return out


def read_ocr_labels(path: Path, root: Path | None = None, split: str | None = None) -> list[OcrSample]:
    """Read an OCR labels CSV (``image,text,country,source,split``).

    Region codes in the country column (``us-ca``) become the country hint ``us``, as the
    :class:`~numberplate.recognition.base.Recognizer` protocol takes ISO 3166 alpha-2 codes. Texts are
    normalised by :func:`label_text`. A row that repeats an earlier one is dropped with a warning.

    Args:
        path: the CSV file.
        root: folder the ``image`` column is relative to; default: the data root when ``path``
            is ``<root>/ocr/labels.csv``, else the CSV's own folder.
        split: keep only rows of this split (rows of other splits are not checked beyond their columns).

    Raises:
        DatasetError: the file cannot be read, lacks a column, or has a row without image or text, or with
            a country that has no plate patterns (each message names the row).
    """
    if root is None:
        root = default_ocr_root(path)
    rows = read_csv_rows(path, OCR_LABELS_COLUMNS, "OCR labels CSV")
    samples = []
    repeats = RepeatedRows()
    for line, row in rows:
        if split is not None and row["split"] != split:
            continue
        text = label_text(row["text"])
        if not row["image"] or not text:
            raise DatasetError(f"{path}:{line}: every row needs an image and its text")
        country = (row["country"] or "").split("-")[0].strip().lower() or None
        if country is not None:
            try:
                check_country(country)
            except UnknownCountryError as e:
                raise DatasetError(f"{path}:{line}: {e}; fix the country column or leave it empty") from None
        if not repeats.repeated((row["image"], text, country or "", row["source"] or "", row["split"] or ""), line):
            samples.append(OcrSample(root / row["image"], text, row["source"], country, row["split"], line))
    repeats.warn(path, "the same crop and text")
    return samples


SYNTHETIC_OCR_SEED = 20261205
SYNTHETIC_CROP_HEIGHT = 64


def synthetic_ocr_samples(per_layout: int, seed: int = SYNTHETIC_OCR_SEED) -> list[OcrSample]:
    """``per_layout`` freshly rendered plates of every synthetic layout, cut and degraded as in training.

    Each crop keeps its plate's aspect ratio (``SYNTHETIC_CROP_HEIGHT`` px high), as a detector box would;
    the source is the layout's name (``cn_yellow_2line``...) and the hint its country where the pattern
    data knows it. Training draws its plates from other seeds. Needs the training extra (fonts, Pillow).

    Raises:
        ImportError: the training extra is not installed.
        FontsNotFoundError: a layout's font is missing.
    """
    from numberplate.formats.patterns import known_countries
    from numberplate.train.synth.layouts import LAYOUTS
    from numberplate.train.synth.render import render_crop

    known = set(known_countries())
    rng = np.random.default_rng(seed)
    samples = []
    for layout in LAYOUTS:
        width, height = layout.size_mm
        size = (max(SYNTHETIC_CROP_HEIGHT // 2, round(SYNTHETIC_CROP_HEIGHT * width / height)), SYNTHETIC_CROP_HEIGHT)
        for _ in range(per_layout):
            crop, text, country = render_crop(rng, size, layout)
            samples.append(OcrSample(crop, text, layout.name, country if country in known else None, "synthetic"))
    return samples


def char_accuracy(predicted: str, truth: str) -> float:
    """1 minus the edit distance normalised by the longer string (1.0 when both are empty)."""
    longest = max(len(predicted), len(truth))
    return 1.0 if longest == 0 else 1.0 - levenshtein(predicted, truth) / longest


def _summary(
    exact: Sequence[bool], chars: Sequence[float], no_read: Sequence[bool], ms: Sequence[float],
    in_candidates: Sequence[bool], confidences: Sequence[float],
) -> dict:
    n = len(exact)
    return {
        "plates": n,
        "exact": sum(exact) / n if n else float("nan"),
        "in_candidates": sum(in_candidates) / n if n else float("nan"),
        "char_accuracy": sum(chars) / n if n else float("nan"),
        "no_read": sum(no_read) / n if n else float("nan"),
        "ms_per_plate": sum(ms) / n if n else float("nan"),
        "mean_confidence": sum(confidences) / n if n else float("nan"),
        "calibration_error": calibration_error(confidences, exact),
    }


def evaluate_recognizer(recognizer: Recognizer, rows: Iterable[OcrSample], *, with_reads: bool = False) -> dict:
    """Run ``recognizer`` over labelled crops and score it per source and overall.

    Each crop is read as the Reader reads a plate (:func:`~numberplate.recognition.crop.read_turned`: a crop
    on its side also turned a quarter both ways, the surest reading kept). Only the reading is timed, not
    image decoding. A crop read as ``None`` counts as the empty string. The labelled text is compared in
    the form :func:`label_text` gives it.

    Args:
        recognizer: any OCR backend.
        rows: labelled crops (see :func:`read_ocr_labels`).
        with_reads: also return every crop's truth, prediction, confidence, source and whether the
            truth is among the candidates, in the order of ``rows``, under ``"reads"``.

    Returns:
        ``{"backend": name, "overall": {...}, "by_source": {source: {...}}}`` where each summary has
        ``plates``, ``exact`` (share read exactly), ``in_candidates`` (share whose truth is the text or
        one of the listed candidates), ``char_accuracy`` (mean of :func:`char_accuracy`),
        ``no_read`` (share read as ``None``), ``ms_per_plate``, ``mean_confidence`` (of the top reading;
        0 for no read) and ``calibration_error`` (:func:`calibration_error` of those confidences against
        exact reads: how far "confidence 0.8" is from "right 80% of the time").
    """
    from numberplate.imaging import load_image

    groups: dict[str, list[tuple[bool, float, bool, float, bool, float]]] = {}
    reads: list[dict[str, Any]] = []
    for row in rows:
        truth = label_text(row.text)
        image = row.image if isinstance(row.image, np.ndarray) else load_image(row.image)
        t0 = time.perf_counter()
        result, _ = read_turned(recognizer, image, row.country)  # as the Reader reads: a crop on its side turned
        ms = (time.perf_counter() - t0) * 1000.0
        predicted = result.text if result is not None else ""
        texts = {predicted, *(c.text for c in result.candidates)} if result is not None else {""}
        confidence = min(max(result.confidence, 0.0), 1.0) if result is not None else 0.0
        groups.setdefault(row.source, []).append(
            (predicted == truth, char_accuracy(predicted, truth), result is None, ms, truth in texts, confidence)
        )
        if with_reads:
            reads.append({"truth": truth, "predicted": predicted, "source": row.source,
                          "confidence": result.confidence if result is not None else 0.0,
                          "in_candidates": truth in texts})
    everything = [item for items in groups.values() for item in items]
    out: dict[str, Any] = {
        "backend": getattr(recognizer, "name", type(recognizer).__name__),
        "overall": _summary(*_columns(everything)),
        "by_source": {source: _summary(*_columns(items)) for source, items in sorted(groups.items())},
    }
    if with_reads:
        out["reads"] = reads
    return out


def _columns(
    items: list[tuple[bool, float, bool, float, bool, float]],
) -> tuple[list[bool], list[float], list[bool], list[float], list[bool], list[float]]:
    return ([i[0] for i in items], [i[1] for i in items], [i[2] for i in items], [i[3] for i in items],
            [i[4] for i in items], [i[5] for i in items])
