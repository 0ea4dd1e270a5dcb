"""Pseudo-labelled OCR crops: plates cut from labelled detect scenes, kept where independent readers agree.

The detect scenes hold thousands of boxed plates from many countries whose text nobody typed.
Each box is cut out as inference would cut it and read by several OCR backends; a crop becomes a
training label only when every reader returns the same text with enough confidence, or (with a
referee) when one trusted reader is very sure and every other reader is within a character or two
of it: that keeps exactly the plates our model nearly reads, with the fix it needs. An agreed text
must also fit some country's plate layout (``formats``): readers share blind spots (a UK ``1`` is
drawn bare, so both read ``FNI2PZX`` for ``FN12PZX``), and a look-alike error agreed on would be
taught to the model. Such a text is repaired instead of dropped when exactly one spelling with
``I`` s turned into ``1`` s fits a UK layout (``FNI2PZX`` -> ``FN12PZX``): those plates are the
ones the model most needs to see. A reader that cannot write part of a plate (RapidOCR and the Arabic
word on Tunisian plates) is checked on the part it can write (:class:`Blindspot`). The result
is an OCR labels CSV (``image,text,country,source,split``) that ``numberplate train ocr
--extra-data`` mixes into the real crops.
"""

from __future__ import annotations

import csv
import itertools
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from numberplate.detection.base import Detector, own_detections
from numberplate.evaluation.e2e import match as match_boxes
from numberplate.formats import match, match_all
from numberplate.formats.correct import CONFUSIONS
from numberplate.formats.distance import levenshtein
from numberplate.recognition.alphabet import in_alphabet
from numberplate.recognition.base import Recognizer, own_scores
from numberplate.recognition.crop import crop_plate
from numberplate.train.detect.data import iter_scenes
from numberplate.types import BoundingBox, Detection, PlateText

log = logging.getLogger(__name__)

MIN_PLATE_HEIGHT = 12  # px: smaller plates are not legible enough to trust any reading


@dataclass(frozen=True)
class PseudoStats:
    """Counts per detect source: boxes seen, boxes large enough to read, readers agreeing, rows written."""

    boxes: Counter[str]
    readable: Counter[str]
    agreed: Counter[str]
    written: Counter[str]
    repaired: Counter[str] = field(default_factory=Counter)

    def table(self) -> str:
        """A fixed-width text table of the counts, one row per source and a total."""
        head = f"{'source':<10} {'boxes':>6} {'readable':>8} {'agreed':>6} {'written':>7} {'repaired':>8}"
        lines = [head, "-" * len(head)]
        for source in [*sorted(self.boxes), "all"]:
            n = [sum(c.values()) if source == "all" else c[source]
                 for c in (self.boxes, self.readable, self.agreed, self.written, self.repaired)]
            lines.append(f"{source:<10} {n[0]:>6} {n[1]:>8} {n[2]:>6} {n[3]:>7} {n[4]:>8}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Referee:
    """A reader whose very confident text wins when the others come within ``max_distance`` edits of it."""

    index: int  # position of the referee among the readers
    min_confidence: float = 0.9
    max_distance: int = 2
    # Detect sources whose plates the referee can write. RapidOCR has no Arabic: on Tunisian plates it
    # drops the word that our labels write as T, one edit away from our model's read, and would win.
    sources: frozenset[str] = frozenset({"openlpr", "romania", "kaggle"})


@dataclass(frozen=True)
class Blindspot:
    """Characters that one reader cannot write on one source's plates: its reading is checked without them.

    RapidOCR has no Arabic. On a Tunisian plate it reads only the digits either side of the word for
    Tunisia (``T`` in our labels, ``N`` for the NT series), so there the others' agreed text, with those
    letters taken out, must equal its reading: the digits are confirmed by an independent reader and
    the word's place by the others (and the layout check that follows).
    """

    index: int  # position of the blind reader among the readers
    chars: frozenset[str] = frozenset("TN")
    sources: frozenset[str] = frozenset({"tunisia"})

    def check(self, reads: Sequence[PlateText], min_confidence: float) -> str | None:
        """The sighted readers' common text when they are sure and the blind reader reads it without ``chars``."""
        blind = reads[self.index]
        sighted = [r for i, r in enumerate(reads) if i != self.index]
        texts = {r.text for r in sighted}
        if not sighted or len(texts) != 1 or any(r.confidence < min_confidence for r in reads):
            return None
        text = texts.pop()
        digits = "".join(ch for ch in text if ch not in self.chars)
        # The sighted readers must have seen the word the blind one cannot write.
        return text if digits != text and blind.text == digits else None


def agreed_text(
    readers: Sequence[Recognizer],
    crop: np.ndarray,
    min_confidence: float,
    referee: Referee | None = None,
    blindspot: Blindspot | None = None,
) -> str | None:
    """The text every reader returns for ``crop`` with at least ``min_confidence``; else, with a
    ``referee``, the referee's text when it is sure enough and every other reading is near it; else None.
    With a ``blindspot``, the blind reader's reading is compared without the characters it cannot write
    (and no referee settles)."""
    reads: list[PlateText] = []
    for reader in readers:
        read = own_scores(reader)(crop, None)
        if read is None or not read.text:
            return None  # no need to ask the (slower) others
        reads.append(read)
    if blindspot is not None:
        return blindspot.check(reads, min_confidence)
    texts = {r.text for r in reads}
    if len(texts) == 1 and all(r.confidence >= min_confidence for r in reads):
        return texts.pop()
    if referee is None:
        return None
    judge = reads[referee.index]
    if judge.confidence < referee.min_confidence:
        return None
    near = all(levenshtein(r.text, judge.text, referee.max_distance) <= referee.max_distance for r in reads)
    if not near or any(_lookalike_only(r.text, judge.text) for r in reads):
        return None
    return judge.text


def _lookalike_only(a: str, b: str) -> bool:
    """Whether two different readings differ only by letter/digit look-alikes (O/0, I/1, B/8 ...).

    Such a disagreement cannot be settled by either reader's confidence: the glyph is ambiguous.
    """
    if a == b or len(a) != len(b):
        return False
    return all(x == y or y in {c for c, _ in CONFUSIONS.get(x, ())} for x, y in zip(a, b))


def repair_layout(text: str, max_swaps: int = 2) -> str | None:
    """``text`` itself when it fits a country's layout; else its bare-1 repair, if there is exactly one.

    A typeface that draws ``1`` as a bare upright (the UK's Charles Wright) is read as ``I`` by every
    reader. The repair turns up to ``max_swaps`` of the ``I`` s into ``1`` s so that the text fits a
    layout whose data says so (its ``lookalikes`` read ``I`` as ``1``: the UK's current layout):
    ``FNI2PZX`` -> ``FN12PZX``.
    Other look-alike repairs were tried and dropped: with no layout data for Ireland or Pakistan,
    and vanity plates everywhere, they forced plates such as ``171C14281`` into ``171CIA281``.

    Returns:
        The text, its one repair, or None (no repair fits, or more than one does).
    """
    if match(text) is not None:
        return text
    spots = [i for i, ch in enumerate(text) if ch == "I"]
    for swaps in range(1, max_swaps + 1):
        fits = set()
        for chosen in itertools.combinations(spots, swaps):
            spelling = "".join("1" if i in chosen else ch for i, ch in enumerate(text))
            if any(look[:2] == ("I", "1") for p in match_all(spelling) for look in p.lookalikes):
                fits.add(spelling)
        if fits:
            return fits.pop() if len(fits) == 1 else None
    return None


def pseudo_label(
    labels_csv: Path,
    out_dir: Path,
    readers: Sequence[Recognizer],
    *,
    split: str = "train",
    min_confidence: float = 0.5,
    min_length: int = 4,
    exclude_texts: Iterable[str] = (),
    limit: int | None = None,
    referee: Referee | None = None,
    blindspot: Blindspot | None = None,
    known_layouts_only: bool = True,
    detector: Detector | None = None,
) -> PseudoStats:
    """Cut every labelled box of a detect split, read it with each reader, and write the agreed crops.

    Args:
        labels_csv: the shared detect labels CSV (boxes whose size column disagrees with the image
            are skipped, as training does).
        out_dir: gets ``crops/<source>/*.jpg`` and ``labels.csv`` (paths relative to ``out_dir``;
            source ``pseudo-<source>``, country empty, split ``train``).
        readers: at least two independent OCR backends.
        split: the detect split to cut from (never the one you report).
        min_confidence: every reader's confidence must reach this.
        min_length: shorter agreed texts are dropped (partial reads agree too easily).
        exclude_texts: texts never written (e.g. every OCR val label, so no val plate leaks in).
        limit: first N images only.
        referee: settle near-agreements in favour of this very confident reader (see :func:`agreed_text`).
        blindspot: on its sources, check this reader without the characters it cannot write (no referee there).
        known_layouts_only: agreed texts that fit no country's pattern (shared look-alike misreads)
            are repaired (:func:`repair_layout`) or dropped.
        detector: cut each plate where this detector boxes it (paired one-to-one at IoU >= 0.5, as
            ``eval e2e`` pairs them; a plate it misses is skipped) instead of at the label's box, so the crops have the
            edges that inference gives the recogniser.

    Raises:
        ValueError: fewer than two readers.
        FileNotFoundError: an image cannot be decoded.
    """
    if len(readers) < 2:
        raise ValueError("pseudo-labels need at least two independent readers to agree")
    excluded = set(exclude_texts)
    stats = PseudoStats(Counter(), Counter(), Counter(), Counter(), Counter())
    rows: list[dict[str, str]] = []
    for scene in iter_scenes(labels_csv, split, max_side=None, limit=limit):
        source = scene.source
        labels = [BoundingBox(*box) for box in scene.boxes.tolist()]
        found = own_detections(detector)(scene.image) if detector is not None and labels else []
        matched = match_boxes(labels, [d.box for d in found])  # as `eval e2e` pairs plates with detections
        for k, box in enumerate(labels):
            stats.boxes[source] += 1
            if box.height < MIN_PLATE_HEIGHT:
                continue
            stats.readable[source] += 1
            if detector is None:
                cut = Detection(box, 1.0)
            elif k in matched:
                cut = found[matched[k]]
            else:
                continue
            crop = crop_plate(scene.image, cut)
            judge = referee if referee is not None and source in referee.sources else None
            blind = blindspot if blindspot is not None and source in blindspot.sources else None
            text = agreed_text(readers, crop, min_confidence, judge, blind)
            if text is None:
                continue
            stats.agreed[source] += 1
            if len(text) < min_length or not in_alphabet(text) or text in excluded:
                continue
            if known_layouts_only:
                fixed = repair_layout(text)
                if fixed is None or fixed in excluded:
                    continue
                stats.repaired[source] += fixed != text
                text = fixed
            name = f"crops/{source}/{Path(scene.path).stem}_{k}.jpg"
            (out_dir / name).parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(out_dir / name), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
            rows.append({"image": name, "text": text, "country": "", "source": f"pseudo-{source}", "split": "train"})
            stats.written[source] += 1
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "labels.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["image", "text", "country", "source", "split"])
        writer.writeheader()
        writer.writerows(rows)
    log.info("pseudo-labels: %d of %d boxes written to %s", sum(stats.written.values()), sum(stats.boxes.values()),
             out_dir)
    return stats
