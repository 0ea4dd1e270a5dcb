"""OCR training data: real labelled crops decoded once into memory and augmented, mixed with synthetic plates."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from torch.utils.data import Dataset

from numberplate.datasets.labels import read_csv_rows
from numberplate.errors import DatasetError
from numberplate.evaluation.ocr import OCR_LABELS_COLUMNS, default_ocr_root
from numberplate.recognition.alphabet import MAX_SLOTS, encode, in_alphabet
from numberplate.recognition.platenet_ocr import prepare
from numberplate.train.synth import effects, render_crop
from numberplate.train.synth.layouts import LAYOUTS, Layout, pick_layout

log = logging.getLogger(__name__)


@dataclass
class Crop:
    """One decoded real plate crop (RGB, shrunk to about the model's input scale) with its label."""

    path: str
    text: str
    source: str
    country: str
    image: np.ndarray


def load_crops(
    csv_path: Path,
    split: str,
    size: tuple[int, int],
    limit: int | None = None,
    sources: set[str] | None = None,
) -> list[Crop]:
    """Decode the crops of one split of an OCR labels CSV (``image,text,country,source,split``) into memory.

    Crops larger than the model input are shrunk (INTER_AREA) until one side fits it, so augmentation
    warps never decimate; smaller crops are kept as they are. Rows whose text the model cannot
    represent (too long, a character outside the alphabet) are skipped with a warning.

    Args:
        csv_path: the labels CSV; image paths are relative to its parent's parent when it lives in ``ocr/``.
        split: ``train`` or ``val``.
        size: model input (height, width).
        limit: keep only the first N rows of the split (smoke tests).
        sources: keep only these sources.

    Raises:
        FileNotFoundError: an image cannot be decoded.
        DatasetError: the file cannot be read, lacks a column, or a row of the split has no image or no text.
    """
    root = default_ocr_root(csv_path)
    rows = [(line, r) for line, r in read_csv_rows(csv_path, OCR_LABELS_COLUMNS, "OCR labels CSV")
            if r["split"] == split and (not sources or r["source"] in sources)]
    out_h, out_w = size
    crops, skipped = [], 0
    for line, row in rows[:limit]:
        if not row["image"] or not row["text"]:
            raise DatasetError(f"{csv_path}:{line}: every row needs an image and its text")
        if not in_alphabet(row["text"]):
            skipped += 1
            continue
        img = cv2.imread(str(root / row["image"]), cv2.IMREAD_COLOR)
        if img is None:
            raise FileNotFoundError(f"cannot decode OCR crop {root / row['image']}")
        h, w = img.shape[:2]
        scale = max(out_w / w, out_h / h)
        if scale < 1.0:
            img = cv2.resize(img, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        crops.append(Crop(row["image"], row["text"], row["source"] or "", row["country"] or "", rgb))
    if skipped:
        log.warning("%s: skipped %d %s row(s) the OCR alphabet cannot represent", csv_path, skipped, split)
    return crops


# ---------------------------------------------------------------- augmentation of real crops


# Share of real crops turned by up to TILT_DEG and re-cut as the upright box around the turned crop.
TILT_SHARE, TILT_DEG = 0.08, 20.0


def cut_quad(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """Where a detector might have cut a ``w`` x ``h`` real crop: the source corners of the new cut (4 x 2).

    Each side moves by a random share of the crop size, mostly outwards (looser boxes show more of
    the car) and a little inwards (tight boxes); the corners then get a small rotation and jitter.
    A few cuts (``TILT_SHARE``) turn by up to ``TILT_DEG`` instead and grow to the upright box around
    the turned crop, as a detector boxes a tilted plate.
    """
    left, right = rng.uniform(-0.03, 0.08, 2) * w
    top, bottom = rng.uniform(-0.05, 0.12, 2) * h
    src = np.array([[-left, -top], [w + right, -top], [w + right, h + bottom], [-left, h + bottom]], np.float64)
    centre = src.mean(0)
    if rng.random() < TILT_SHARE:
        angle = math.radians(rng.uniform(-TILT_DEG, TILT_DEG))
        c, s = abs(math.cos(angle)), abs(math.sin(angle))
        sw, sh = src[1, 0] - src[0, 0], src[2, 1] - src[1, 1]
        half = np.array([sw * c + sh * s, sw * s + sh * c]) / 2
        src = centre + np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * half
    else:
        angle = math.radians(float(np.clip(rng.normal(0, 2.0), -5, 5)))
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    src = (src - centre) @ rot.T + centre
    if rng.random() < 0.5:
        src += rng.uniform(-0.03, 0.03, (4, 2)) * [w, h]
    return src


def warp_crop(rng: np.random.Generator, img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A real crop re-cut (:func:`cut_quad`) and resized to ``size`` = (height, width)."""
    h, w = img.shape[:2]
    out_h, out_w = size
    src = cut_quad(rng, w, h)
    dst = np.array([[0, 0], [out_w, 0], [out_w, out_h], [0, out_h]], np.float64)
    m = cv2.getPerspectiveTransform(src.astype(np.float32), dst.astype(np.float32))
    return cv2.warpPerspective(img, m, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def degrade(rng: np.random.Generator, img: np.ndarray, allow_low_res: bool = True) -> np.ndarray:
    """Light, colour, blur, resolution, noise and JPEG changes on a uint8 RGB crop, each with its own chance.

    Milder than the synthetic renderer's effects: real crops already carry real degradations.
    """
    out = img.astype(np.float32)
    if rng.random() < 0.7:
        out *= rng.uniform(0.65, 1.3)
        out += rng.uniform(-30, 30)
    if rng.random() < 0.3:
        out *= rng.uniform(0.85, 1.15, 3).astype(np.float32)
    if rng.random() < 0.3:
        out = 255.0 * (np.clip(out, 0, 255) / 255.0) ** rng.uniform(0.7, 1.5)
    if rng.random() < 0.08:
        out[:] = cv2.cvtColor(np.clip(out, 0, 255).astype(np.float32), cv2.COLOR_RGB2GRAY)[..., None]
    np.clip(out, 0, 255, out=out)
    if rng.random() < 0.4:
        out = effects.blur(rng, out)
    if allow_low_res and rng.random() < 0.15:
        out = effects.low_resolution(rng, out)
    if rng.random() < 0.3:
        h, w = out.shape[:2]
        out += effects.noise(rng, h, w) * np.float32(rng.uniform(2, 10))
    result = np.clip(out, 0, 255).astype(np.uint8)
    if rng.random() < 0.4:
        result = effects.jpeg(rng, result)
    return result


# ---------------------------------------------------------------- dataset


class OcrDataset(Dataset[dict[str, np.ndarray]]):
    """Map-style dataset mixing augmented real crops and synthetic plates (length sets the epoch size).

    Every sample is a pure function of (seed, epoch, index), so DataLoader workers produce the same
    epoch whatever their number.

    Args:
        crops: decoded real crops (may be empty when ``real_fraction`` is 0).
        size: model input (height, width).
        epoch_size: samples per epoch.
        real_fraction: share of real crops; the rest is rendered by ``train.synth.render_crop``.
        seed: base seed.
        layouts: synthetic plate layouts to draw from (by weight); default all.
        max_slots: longest text the model reads.
        pairs: also give each sample a second view (``image2``): the same real crop cut and degraded
            again, or the same synthetic plate re-cut, for a consistency loss between the two readings.
    """

    def __init__(self, crops: list[Crop], size: tuple[int, int], epoch_size: int, real_fraction: float = 0.5,
                 seed: int = 0, layouts: tuple[Layout, ...] = LAYOUTS, max_slots: int = MAX_SLOTS,
                 pairs: bool = False):
        if not crops and real_fraction > 0:
            raise ValueError("real_fraction > 0 needs real crops; none were loaded")
        if not 0.0 <= real_fraction <= 1.0:
            raise ValueError(f"real_fraction={real_fraction} must be in [0, 1]")
        self.crops, self.size, self.epoch_size = crops, size, epoch_size
        self.real_fraction, self.seed, self.layouts, self.max_slots = real_fraction, seed, layouts, max_slots
        self.pairs = pairs
        self.epoch = 0

    def __len__(self) -> int:
        return self.epoch_size

    def real_view(self, rng: np.random.Generator, crop: Crop) -> tuple[np.ndarray, str]:
        """``crop`` augmented (cut as a detector might, degraded) at the model's input size, with its text."""
        if rng.random() < 0.15:  # some crops exactly as inference prepares them
            img = prepare(crop.image, self.size)
            if img is None:
                img = cv2.resize(crop.image, self.size[::-1])
        else:
            img = warp_crop(rng, crop.image, self.size)
        # Already tiny crops (cn: 94x24) are not shrunk further.
        return degrade(rng, img, allow_low_res=crop.image.shape[0] >= 40), crop.text

    def synth_sample(self, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        """One synthetic crop whose text the model can represent."""
        for _ in range(20):
            img, text, _ = render_crop(rng, self.size[::-1], pick_layout(rng, self.layouts))
            if in_alphabet(text, self.max_slots):
                return img, text
        raise RuntimeError("the synthetic layouts keep producing texts outside the OCR alphabet")

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng((self.seed, self.epoch, index))
        second = None
        if rng.random() < self.real_fraction:
            crop = self.crops[int(rng.integers(len(self.crops)))]
            img, text = self.real_view(rng, crop)
            if self.pairs:
                second = self.real_view(rng, crop)[0]
        else:
            img, text = self.synth_sample(rng)
            if self.pairs:
                second = warp_crop(rng, img, self.size)
        sample = {"image": np.ascontiguousarray(img), "target": np.array(encode(text, self.max_slots), np.int64)}
        if second is not None:
            sample["image2"] = np.ascontiguousarray(second)
        return sample
