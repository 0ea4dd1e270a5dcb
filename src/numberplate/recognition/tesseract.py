"""Tesseract backend: the system ``tesseract`` binary (LSTM engine) run on a binarised plate crop."""

from __future__ import annotations

import logging
import os
import re
import shutil
import string
import subprocess
from dataclasses import dataclass

import cv2
import numpy as np

from numberplate.errors import BackendUnavailableError, UnsupportedImageError
from numberplate.recognition.crop import MIN_CONTRAST
from numberplate.recognition.text import clean_plate_text
from numberplate.types import Candidate, PlateText

log = logging.getLogger(__name__)

WHITELIST = string.ascii_uppercase + string.digits
INSTALL_HINT = "install it with `apt-get install tesseract-ocr` (`make run` and `make test` do this)"
# Height the crop is scaled to: Tesseract reads best with capital letters 30-60 px high.
DEFAULT_HEIGHT = 80
DEFAULT_TIMEOUT_S = 10.0
# psm 7 (one line) first; a read shorter than this tries psm 6 (a block of lines: two-line plates).
MIN_SINGLE_LINE_CHARS = 4
# A word counts when its height is at least this share of the tallest word's (drops small print).
MIN_WORD_HEIGHT_RATIO = 0.7


@dataclass(frozen=True)
class _Word:
    text: str
    confidence: float
    height: int
    line: tuple[int, int, int]
    left: int
    top: int


class TesseractRecognizer:
    """Reads plate crops with the Tesseract command-line program (no Python binding needed).

    The crop is made grey, scaled, binarised with a local threshold, cleaned down to its
    character-sized blobs and bordered; Tesseract reads it as one line with only A-Z and 0-9
    allowed, and as a block of lines when the single-line read gives too little.
    Tesseract's ``eng`` model cannot read Chinese characters.
    """

    name = "tesseract"

    def __init__(
        self,
        *,
        binary: str = "tesseract",
        language: str = "eng",
        height: int = DEFAULT_HEIGHT,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        threads: int = 1,
    ):
        """Find the binary and check that it can read ``language``.

        Args:
            binary: program name looked up on ``PATH``, or a path to it.
            language: Tesseract language model(s), e.g. ``"eng"``.
            height: height in pixels the crop is scaled to.
            timeout_s: longest one Tesseract run may take.
            threads: OpenMP threads per run (``OMP_THREAD_LIMIT``); 1 is fastest for small crops.

        Raises:
            BackendUnavailableError: the binary is not installed, does not run, or lacks ``language``.
        """
        path = shutil.which(binary)
        if path is None:
            raise BackendUnavailableError(f"the tesseract OCR backend needs the {binary!r} program; {INSTALL_HINT}")
        self.binary = path
        self.language = language
        self.height = height
        self.timeout_s = timeout_s
        self._env = {**os.environ, "OMP_THREAD_LIMIT": str(threads)}
        self.version = self._version()
        # "List of available languages in "...": (N):" then one name a line.
        langs = [line.strip() for line in self._run(["--list-langs"]).splitlines()[1:] if line.strip()]
        if any(lang not in langs for lang in language.split("+")):
            raise BackendUnavailableError(
                f"tesseract at {path} has no {language!r} language data (it has {', '.join(langs) or 'none'});"
                f" install it with `apt-get install tesseract-ocr-{language.split('+')[0]}`"
            )
        # --oem 1 (LSTM only) exists from Tesseract 4 on; older versions have only the legacy engine.
        self._oem = ["--oem", "1"] if self.version >= (4,) else []
        log.info("tesseract %s at %s, language %s", ".".join(map(str, self.version)), path, language)

    def read(self, crop: np.ndarray, country: str | None = None) -> PlateText | None:
        """Read an RGB uint8 plate crop; ``None`` when nothing legible.

        ``country`` is accepted for the protocol and not used.

        Raises:
            UnsupportedImageError: ``crop`` is not an (H, W, 3) or (H, W) uint8 array.
        """
        image = preprocess(crop, self.height)
        if image is None:
            return None
        ok, png = cv2.imencode(".png", image)
        if not ok:
            return None
        best = self._read_png(png.tobytes(), psm=7)
        if best is None or len(best.text) < MIN_SINGLE_LINE_CHARS or count_text_rows(image) > 1:
            block = self._read_png(png.tobytes(), psm=6)
            if block is not None and (best is None or len(block.text) > len(best.text)):
                best = block
        return best

    def _read_png(self, png: bytes, psm: int) -> PlateText | None:
        args = ["stdin", "stdout", *self._oem, "--psm", str(psm), "-l", self.language,
                "-c", f"tessedit_char_whitelist={WHITELIST}", "tsv"]
        try:
            tsv = self._run(args, png)
        except BackendUnavailableError as e:
            # One crop that Tesseract chokes on must not fail the whole image.
            log.warning("%s", e)
            return None
        return words_to_plate(parse_tsv(tsv))

    def _version(self) -> tuple[int, ...]:
        out = self._run(["--version"])
        found = re.search(r"tesseract\s+v?(\d+)\.(\d+)", out)
        if found is None:
            raise BackendUnavailableError(f"{self.binary} --version printed no tesseract version: {out[:200]!r}")
        return int(found.group(1)), int(found.group(2))

    def _run(self, args: list[str], stdin: bytes | None = None) -> str:
        """Run the binary; stdout and stderr together for the info commands, stdout alone for reads."""
        try:
            proc = subprocess.run(
                [self.binary, *args], input=stdin, capture_output=True, timeout=self.timeout_s, env=self._env,
                check=False,
            )
        except subprocess.TimeoutExpired as e:
            raise BackendUnavailableError(f"tesseract {' '.join(args)} took more than {self.timeout_s} s") from e
        except OSError as e:
            raise BackendUnavailableError(f"cannot run {self.binary}: {e}; {INSTALL_HINT}") from e
        err = proc.stderr.decode("utf-8", "replace")
        if proc.returncode != 0:
            raise BackendUnavailableError(f"tesseract {' '.join(args)} failed ({proc.returncode}): {err.strip()[:300]}")
        out = proc.stdout.decode("utf-8", "replace")
        return out if stdin is not None else out + err


def parse_tsv(tsv: str) -> list[_Word]:
    """The recognised words of Tesseract's TSV output, confidences scaled from 0-100 to 0-1.

    Raises:
        BackendUnavailableError: the output is not Tesseract TSV (a broken or foreign binary).
    """
    lines = tsv.splitlines()
    if not lines:
        return []
    header = lines[0].split("\t")
    if header[:1] != ["level"] or "conf" not in header or "text" not in header:
        raise BackendUnavailableError(f"tesseract printed no TSV table: {tsv[:200]!r}")
    col = {name: i for i, name in enumerate(header)}
    words = []
    for line in lines[1:]:
        cells = line.split("\t")
        if len(cells) != len(header) or cells[col["level"]] != "5":
            continue
        conf = float(cells[col["conf"]])
        text = cells[col["text"]].strip()
        if conf < 0 or not text:
            continue
        words.append(
            _Word(
                text=text,
                confidence=min(max(conf / 100.0, 0.0), 1.0),
                height=int(cells[col["height"]]),
                line=(int(cells[col["block_num"]]), int(cells[col["par_num"]]), int(cells[col["line_num"]])),
                left=int(cells[col["left"]]),
                top=int(cells[col["top"]]),
            )
        )
    return words


def words_to_plate(words: list[_Word]) -> PlateText | None:
    """Join the plate-sized words line by line, top to bottom; ``None`` when none has plate characters."""
    words = [w for w in words if clean_plate_text(w.text)]
    if not words:
        return None
    tallest = max(w.height for w in words)
    words = [w for w in words if w.height >= MIN_WORD_HEIGHT_RATIO * tallest]
    lines: dict[tuple[int, int, int], list[_Word]] = {}
    for w in words:
        lines.setdefault(w.line, []).append(w)
    ordered = sorted(lines.values(), key=lambda ws: min(w.top for w in ws))
    text_parts: list[str] = []
    char_confs: list[float] = []
    line_confs: list[float] = []
    for line in ordered:
        line_chars: list[float] = []
        for w in sorted(line, key=lambda w: w.left):
            cleaned = clean_plate_text(w.text)
            text_parts.append(cleaned)
            # TSV gives one confidence per word; every character of the word gets it.
            line_chars.extend([w.confidence] * len(cleaned))
        char_confs.extend(line_chars)
        line_confs.append(float(np.mean(line_chars)))
    text = "".join(text_parts)
    # As for RapidOCR: a plate is right only if every line is.
    confidence = min(line_confs)
    return PlateText(text, confidence, tuple(char_confs), (Candidate(text, confidence),))


def preprocess(crop: np.ndarray, height: int = DEFAULT_HEIGHT) -> np.ndarray | None:
    """Black characters on white, scaled to ``height`` and bordered; ``None`` for a blank crop.

    The grey crop is binarised with a local (adaptive) threshold in both polarities, since plates
    come dark-on-light and light-on-dark; the polarity giving more character-sized blobs wins, and
    only those blobs are kept, so frames, bolts and small print do not reach Tesseract.

    Raises:
        UnsupportedImageError: ``crop`` is not an (H, W, 3) or (H, W) uint8 array.
    """
    if not isinstance(crop, np.ndarray) or crop.dtype != np.uint8 or crop.ndim not in (2, 3):
        raise UnsupportedImageError(
            f"a plate crop must be an (H, W, 3) RGB or (H, W) grey uint8 array, got {type(crop).__name__}"
            f"{'' if not isinstance(crop, np.ndarray) else f' {crop.dtype} {crop.shape}'}"
        )
    if crop.ndim == 3:
        if crop.shape[2] != 3:
            raise UnsupportedImageError(f"a plate crop must have 3 (RGB) channels, got shape {crop.shape}")
        grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    else:
        grey = crop
    h, w = grey.shape
    if h < 2 or w < 2 or int(grey.max()) - int(grey.min()) < MIN_CONTRAST:
        return None
    scale = height / h
    grey = cv2.resize(grey, (max(2, round(w * scale)), height),
                      interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)
    grey = cv2.GaussianBlur(grey, (3, 3), 0)
    best: tuple[int, np.ndarray, np.ndarray] | None = None
    for polarity in (grey, 255 - grey):
        binary = cv2.adaptiveThreshold(polarity, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY,
                                       (height // 2) | 1, 5)
        count, chars = _character_blobs(binary)
        if best is None or count > best[0]:
            best = (count, chars, binary)
    assert best is not None
    count, chars, binary = best
    out = chars if count else binary
    pad = height // 5
    return cv2.copyMakeBorder(out, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255)


def count_text_rows(binary: np.ndarray) -> int:
    """How many rows of at least two character blobs a preprocessed (black on white) image has."""
    n, _, stats, centroids = cv2.connectedComponentsWithStats((binary == 0).astype(np.uint8), connectivity=8)
    if n <= 1:
        return 0
    heights = stats[1:, cv2.CC_STAT_HEIGHT]
    tolerance = 0.5 * float(np.median(heights))
    rows: list[list[float]] = []
    for cy in sorted(centroids[1:, 1]):
        if rows and cy - float(np.mean(rows[-1])) <= tolerance:
            rows[-1].append(cy)
        else:
            rows.append([cy])
    return sum(len(row) >= 2 for row in rows)


def _character_blobs(binary: np.ndarray) -> tuple[int, np.ndarray]:
    """How many dark blobs of a binary image look like characters, and an image with only them."""
    h, w = binary.shape
    _, labels, stats, _ = cv2.connectedComponentsWithStats((binary == 0).astype(np.uint8), connectivity=8)
    x, y, bw, bh, area = (stats[:, i] for i in range(5))
    touches = (x == 0) | (y == 0) | (x + bw >= w) | (y + bh >= h)
    fill = area / np.maximum(bw * bh, 1)
    # Character-sized: a quarter to almost all of the height, not much wider than three characters
    # (neighbours touch), neither a thin line nor a solid block, and clear of the crop's edge.
    keep = (bh >= 0.25 * h) & (bh <= 0.95 * h) & (bw <= 3 * bh) & (fill >= 0.08) & (fill <= 0.85) & ~touches
    keep[0] = False
    if keep.any():
        keep &= bh >= 0.6 * np.median(bh[keep])
    count = int(keep.sum())
    return count, np.where(keep[labels], 0, 255).astype(np.uint8)
