"""Detector training data: labelled scenes decoded once into memory, augmented crops, heatmap targets."""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from numberplate.datasets.labels import (
    BOX_COLUMNS,
    LABELS_COLUMNS,
    default_root,
    parse_box,
    parse_size,
    read_csv_rows,
)
from numberplate.detection.postprocess import STRIDE
from numberplate.train.synth.composite import paint_plates

GRAY = 114
SWAP_PER_PLATE = 0.8  # in a scene chosen for plate swapping, the share of its plates painted over
log = logging.getLogger(__name__)


@dataclass
class Scene:
    """One decoded image with its plate boxes (x0, y0, x1, y1) in its own pixels.

    ``hard`` holds boxes that a detector took for plates where there are none (hard negatives,
    :mod:`numberplate.train.detect.mine`): some training crops are centred on them.
    """

    path: str
    source: str
    image: np.ndarray
    boxes: np.ndarray
    hard: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))


def read_labels(csv_path: Path, split: str | None, sources: set[str] | None = None) -> dict[str, dict]:
    """Group the rows of a detect labels CSV by image; keep one split (None keeps all).

    Each box keeps the image size its row states, so that :func:`load_scenes` can drop stale rows
    (the shared CSV has a few images listed twice with different sizes: the picture was replaced).
    Images that also appear in the ``val`` split are left out of every other split (no leak).

    Raises:
        DatasetError: the file cannot be read, lacks a column, or a kept row has a box that is partly filled,
            not finite numbers or empty, or an image size that is not a positive whole number (naming the line).
    """
    grouped: dict[str, dict] = defaultdict(lambda: {"boxes": [], "sizes": [], "source": ""})
    val_images: set[str] = set()
    rows = read_csv_rows(csv_path, LABELS_COLUMNS, "detect labels CSV")
    if split != "val":
        val_images = {r["image"] for _, r in rows if r["split"] == "val"}
    for line, row in rows:
        if split is not None and row["split"] != split:
            continue
        if (sources and row["source"] not in sources) or row["image"] in val_images:
            continue
        entry = grouped[row["image"]]
        entry["source"] = row["source"]
        where = f"{csv_path}:{line}"
        if any((row[c] or "").strip() for c in BOX_COLUMNS):  # else a background row
            box = parse_box(row, where)
            entry["boxes"].append([box.xmin, box.ymin, box.xmax, box.ymax])
            size = parse_size(row["width"], "width", where), parse_size(row["height"], "height", where)
            entry["sizes"].append(size)
    return dict(grouped)


def iter_scenes(
    csv_path: Path, split: str | None, max_side: int | None = 1024, limit: int | None = None,
    sources: set[str] | None = None,
) -> Iterator[Scene]:
    """Decode the labelled images of a split one at a time (long side capped at ``max_side``; ``None``: as stored).

    Boxes whose row states another image size (stale rows of a replaced picture) are dropped with
    a warning.

    Raises:
        FileNotFoundError: an image cannot be decoded.
    """
    root = default_root(csv_path)
    for rel, entry in sorted(read_labels(csv_path, split, sources).items())[:limit]:
        img = cv2.imread(str(root / rel), cv2.IMREAD_COLOR)
        if img is None:
            raise FileNotFoundError(f"cannot decode training image {root / rel}")
        h, w = img.shape[:2]
        fresh = [b for b, size in zip(entry["boxes"], entry["sizes"]) if size == (w, h)]
        if len(fresh) < len(entry["boxes"]):
            log.warning("%s: dropped %d box(es) labelled for another image size", rel, len(entry["boxes"]) - len(fresh))
        boxes = np.array(fresh, dtype=np.float32).reshape(-1, 4)
        scale = 1.0 if max_side is None else min(1.0, max_side / max(h, w))
        if scale < 1.0:
            img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            boxes *= scale
        yield Scene(rel, entry["source"], cv2.cvtColor(img, cv2.COLOR_BGR2RGB), boxes)


def load_scenes(
    csv_path: Path, split: str | None, max_side: int = 1024, limit: int | None = None,
    sources: set[str] | None = None,
) -> list[Scene]:
    """Decode every labelled image of a split into memory (see :func:`iter_scenes`)."""
    return list(iter_scenes(csv_path, split, max_side, limit, sources))


# ---------------------------------------------------------------- geometry


def _warp_matrix(rng: np.random.Generator, scene: Scene, size: int, infer_side: int, hard: bool = False
                 ) -> np.ndarray:
    """A perspective matrix mapping the scene into a ``size`` square crop with random scale/angle/shift.

    With ``hard`` (and hard negatives in the scene) the crop is centred near one of them, at about
    the scale the detector sees the scene at inference.
    """
    h, w = scene.image.shape[:2]
    boxes = scene.boxes
    hard = hard and len(scene.hard) > 0
    if not hard and len(boxes) and rng.random() < 0.5:
        # Pick a plate and give it a log-uniform width between 12 and 260 px.
        b = boxes[rng.integers(len(boxes))]
        bw = max(b[2] - b[0], 2.0)
        scale = math.exp(rng.uniform(math.log(12), math.log(260))) / bw
    else:
        # Around the scale the image has at inference time.
        scale = infer_side / max(h, w) * math.exp(rng.uniform(math.log(0.5), math.log(1.8)))
    angle = rng.normal(0, 4) if rng.random() < 0.6 else 0.0
    flip = rng.random() < 0.5
    if hard:
        b = scene.hard[rng.integers(len(scene.hard))]
        cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
        tx, ty = rng.uniform(0.2, 0.8, size=2) * size
    elif len(boxes) and rng.random() < 0.75:
        b = boxes[rng.integers(len(boxes))]
        cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
        # The chosen plate lands anywhere in the crop.
        tx, ty = rng.uniform(0.1, 0.9, size=2) * size
    else:
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        tx, ty = size / 2, size / 2
    a = math.radians(angle)
    sx = -scale if flip else scale
    m = np.array(
        [[sx * math.cos(a), -scale * math.sin(a), 0], [sx * math.sin(a), scale * math.cos(a), 0], [0, 0, 1]],
        dtype=np.float64,
    )
    m[0, 2] = tx - (m[0, 0] * cx + m[0, 1] * cy)
    m[1, 2] = ty - (m[1, 0] * cx + m[1, 1] * cy)
    if rng.random() < 0.3:
        # Slight perspective: move the crop corners a few percent.
        src = np.array([[0, 0], [size, 0], [size, size], [0, size]], np.float32)
        dst = src + rng.uniform(-0.06, 0.06, size=(4, 2)).astype(np.float32) * size
        m = cv2.getPerspectiveTransform(src, dst).astype(np.float64) @ m
    return m


def _warp_boxes(boxes: np.ndarray, m: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Transform boxes; return the kept boxes and the boxes to ignore (mostly cut off by the crop)."""
    if not len(boxes):
        return np.zeros((0, 4), np.float32), np.zeros((0, 4), np.float32)
    x0, y0, x1, y1 = boxes.T
    corners = np.stack([np.stack([x0, y0], 1), np.stack([x1, y0], 1), np.stack([x1, y1], 1), np.stack([x0, y1], 1)], 1)
    pts = cv2.perspectiveTransform(corners.reshape(-1, 1, 2).astype(np.float64), m).reshape(-1, 4, 2)
    # Shrink the hull of a rotated box a little so that it stays tight.
    lo, hi = pts.min(1), pts.max(1)
    full = np.concatenate([lo, hi], 1)
    clipped = np.clip(full, 0, size)
    area = (full[:, 2] - full[:, 0]) * (full[:, 3] - full[:, 1])
    vis = (clipped[:, 2] - clipped[:, 0]).clip(0) * (clipped[:, 3] - clipped[:, 1]).clip(0)
    frac = vis / np.maximum(area, 1e-6)
    bw, bh = clipped[:, 2] - clipped[:, 0], clipped[:, 3] - clipped[:, 1]
    keep = (frac >= 0.6) & (bw >= 4) & (bh >= 2)
    ignore = ~keep & (vis > 0)
    return clipped[keep].astype(np.float32), clipped[ignore].astype(np.float32)


# ---------------------------------------------------------------- photometric


def _photometric(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    """Colour, light, blur, noise and JPEG degradations, each with its own probability."""
    out: np.ndarray = img.astype(np.float32)
    if rng.random() < 0.8:
        hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV).astype(np.float32)
        hsv[..., 0] = (hsv[..., 0] + rng.uniform(-8, 8)) % 180
        hsv[..., 1] *= rng.uniform(0.5, 1.5)
        hsv[..., 2] *= rng.uniform(0.6, 1.4)
        out = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)
    if rng.random() < 0.5:
        out = (out - 128) * rng.uniform(0.6, 1.4) + 128 + rng.uniform(-30, 30)
    if rng.random() < 0.15:
        # Night: dark, gamma-crushed, a bluish cast, sensor noise.
        out = 255 * (np.clip(out, 0, 255) / 255) ** rng.uniform(1.5, 3.0) * rng.uniform(0.3, 0.7)
        out *= np.array([0.85, 0.9, 1.1], np.float32)
        out += rng.normal(0, rng.uniform(3, 10), out.shape)
    if rng.random() < 0.1:
        out = np.repeat(out.mean(2, keepdims=True), 3, 2)
    out = np.clip(out, 0, 255).astype(np.uint8)
    r = rng.random()
    if r < 0.12:
        k = int(rng.choice([3, 5]))
        out = cv2.GaussianBlur(out, (k, k), 0)
    elif r < 0.22:
        k = int(rng.integers(3, 8))
        kernel = np.zeros((k, k), np.float32)
        if rng.random() < 0.5:
            kernel[k // 2, :] = 1.0 / k
        else:
            kernel[:, k // 2] = 1.0 / k
        out = cv2.filter2D(out, -1, kernel)
    if rng.random() < 0.15:
        out = np.clip(out.astype(np.float32) + rng.normal(0, rng.uniform(2, 12), out.shape), 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        ok, enc = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(20, 90))])
        decoded = cv2.imdecode(enc, cv2.IMREAD_UNCHANGED) if ok else None
        if decoded is not None:
            out = decoded
    return out


# ---------------------------------------------------------------- samples and targets


@dataclass(frozen=True)
class PlatePaint:
    """How often a training scene's plates are painted over with rendered ones before it is cropped
    (:mod:`numberplate.train.synth.composite`); each plate of a painted scene with probability
    ``SWAP_PER_PLATE``.

    Attributes:
        share: Share of the scenes painted.
        square_share: Of those, the share painted with square (two-line) plates over boxes grown to
            their shape (which become the labels).
        dark_share: Of those, the share painted with light-on-dark designs only (classic UK, Malaysian...),
            square ones where both are drawn.
    """

    share: float = 0.0
    square_share: float = 0.0
    dark_share: float = 0.0

    def apply(self, rng: np.random.Generator, scene: Scene) -> tuple[np.ndarray, np.ndarray]:
        """The scene's image and plate boxes, painted over (new arrays) or as they are (its own: not to be written)."""
        if not (self.share > 0 and len(scene.boxes) and rng.random() < self.share):
            return scene.image, scene.boxes
        square = self.square_share > 0 and rng.random() < self.square_share
        dark = self.dark_share > 0 and rng.random() < self.dark_share
        return paint_plates(rng, scene.image, scene.boxes, SWAP_PER_PLATE, square, dark)


NO_PAINT = PlatePaint()


def sample_crop(
    rng: np.random.Generator, scene: Scene, size: int, infer_side: int, paint: PlatePaint = NO_PAINT,
    hard: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One geometric crop of a scene: image, kept boxes, ignored boxes.

    The scene's plates are first painted over as ``paint`` draws (:class:`PlatePaint`). With ``hard``
    the crop is centred near one of the scene's hard negatives, if it has any.
    """
    image, plates = paint.apply(rng, scene)
    m = _warp_matrix(rng, scene, size, infer_side, hard)
    img = cv2.warpPerspective(
        image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(GRAY,) * 3
    )
    boxes, ignore = _warp_boxes(plates, m, size)
    return img, boxes, ignore


def mosaic(
    rng: np.random.Generator, scenes: list[Scene], size: int, infer_side: int, paint: PlatePaint = NO_PAINT,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Four half-size crops of random scenes tiled 2x2."""
    half = size // 2
    canvas = np.full((size, size, 3), GRAY, np.uint8)
    all_boxes, all_ignore = [], []
    for i in range(4):
        scene = scenes[rng.integers(len(scenes))]
        img, boxes, ignore = sample_crop(rng, scene, half, infer_side // 2, paint)
        ox, oy = (i % 2) * half, (i // 2) * half
        canvas[oy:oy + half, ox:ox + half] = img
        off = np.array([ox, oy, ox, oy], np.float32)
        all_boxes.append(boxes + off)
        all_ignore.append(ignore + off)
    return canvas, np.concatenate(all_boxes), np.concatenate(all_ignore)


def gaussian_radius_targets(
    boxes: np.ndarray, ignore: np.ndarray, size: int, alpha: float = 0.54
) -> dict[str, np.ndarray]:
    """TTFNet-style targets at stride 8: Gaussian heatmap, box targets and regression weights."""
    fs = size // STRIDE
    heat = np.zeros((fs, fs), np.float32)
    weight_mask = np.ones((fs, fs), np.float32)
    reg = np.zeros((4, fs, fs), np.float32)
    reg_w = np.zeros((fs, fs), np.float32)
    ys, xs = np.mgrid[0:fs, 0:fs].astype(np.float32)
    cx_grid, cy_grid = (xs + 0.5) * STRIDE, (ys + 0.5) * STRIDE
    for b in ignore:
        x0, y0, x1, y1 = (b / STRIDE).astype(int)
        weight_mask[max(y0, 0):y1 + 1, max(x0, 0):x1 + 1] = 0.0
    # Largest first, so that smaller plates overwrite the regression targets they share.
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    order: np.ndarray | list[int] = np.argsort(-areas) if len(boxes) else []
    for i in order:
        x0, y0, x1, y1 = boxes[i]
        w, h = x1 - x0, y1 - y0
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        sx = max(alpha * w / 6, 0.5 * STRIDE * 0.5)
        sy = max(alpha * h / 6, 0.5 * STRIDE * 0.5)
        g = np.exp(-((cx_grid - cx) ** 2) / (2 * sx**2) - ((cy_grid - cy) ** 2) / (2 * sy**2))
        # The peak cell is exactly 1 so that the focal loss has a positive there.
        pi, pj = min(int(cy // STRIDE), fs - 1), min(int(cx // STRIDE), fs - 1)
        g[pi, pj] = 1.0
        heat = np.maximum(heat, g)
        inside = (g > 0.3) & (cx_grid > x0) & (cx_grid < x1) & (cy_grid > y0) & (cy_grid < y1)
        inside[pi, pj] = True
        reg[:, inside] = np.array([x0, y0, x1, y1], np.float32)[:, None]
        reg_w[inside] = g[inside] * math.log(max(w * h, 2.0))
        weight_mask[inside] = 1.0
    return {"heat": heat[None], "mask": weight_mask[None], "reg": reg, "reg_w": reg_w[None]}


class DetectDataset:
    """Map-style dataset of augmented crops (indexable by any int; length sets the epoch size)."""

    def __init__(self, scenes: list[Scene], size: int = 320, infer_side: int = 640, epoch_size: int | None = None,
                 mosaic_p: float = 0.3, seed: int = 0, paint: PlatePaint = NO_PAINT, hard_p: float = 0.0):
        """``hard_p``: the share of single-scene crops centred on a hard negative of a scene that has some;
        ``paint``: how often scenes have their plates painted over (:class:`PlatePaint`)."""
        self.scenes, self.size, self.infer_side = scenes, size, infer_side
        self.epoch_size = epoch_size or len(scenes)
        self.mosaic_p, self.seed, self.epoch, self.paint, self.hard_p = mosaic_p, seed, 0, paint, hard_p
        self.hard_scenes = [s for s in scenes if len(s.hard)]

    def __len__(self) -> int:
        return self.epoch_size

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng((self.seed, self.epoch, index))
        if rng.random() < self.mosaic_p:
            img, boxes, ignore = mosaic(rng, self.scenes, self.size, self.infer_side, self.paint)
        elif self.hard_p > 0 and self.hard_scenes and rng.random() < self.hard_p:
            scene = self.hard_scenes[rng.integers(len(self.hard_scenes))]
            img, boxes, ignore = sample_crop(rng, scene, self.size, self.infer_side, self.paint, hard=True)
        else:
            img, boxes, ignore = sample_crop(rng, self.scenes[index % len(self.scenes)], self.size, self.infer_side,
                                             self.paint)
        img = _photometric(rng, img)
        targets = gaussian_radius_targets(boxes, ignore, self.size)
        targets["image"] = np.ascontiguousarray(img.transpose(2, 0, 1))
        return targets
