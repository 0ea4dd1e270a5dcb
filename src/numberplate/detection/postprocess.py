"""Pre- and post-processing for PlateNet: letterbox, heatmap peak decoding and NMS (numpy only)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

STRIDE = 8
PAD_MULTIPLE = 32
PAD_VALUE = 114

if TYPE_CHECKING:
    from numberplate.types import BoundingBox


@dataclass(frozen=True)
class Letterbox:
    """How an image was resized into the network input: scale factor and padded size."""

    scale: float
    width: int
    height: int


def letterbox(image: np.ndarray, max_side: int) -> tuple[np.ndarray, Letterbox]:
    """Resize an RGB image so its long side is ``max_side``; pad right/bottom to a multiple of 32.

    Returns the uint8 NHWC batch of one (the network's input: it converts and normalises inside
    its graph) and the letterbox geometry.
    """
    h, w = image.shape[:2]
    scale = max_side / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    pw = -(-nw // PAD_MULTIPLE) * PAD_MULTIPLE
    ph = -(-nh // PAD_MULTIPLE) * PAD_MULTIPLE
    canvas = np.empty((1, ph, pw, 3), np.uint8)
    # The resize writes straight into the canvas (no intermediate image), and only the padding is filled.
    canvas[0, nh:] = PAD_VALUE
    canvas[0, :nh, nw:] = PAD_VALUE
    inner = canvas[0, :nh, :nw]
    if (nw, nh) == (w, h):
        inner[...] = image
    elif cv2.resize(image, (nw, nh), dst=inner, interpolation=interp) is not inner:  # pragma: no cover
        raise RuntimeError("cv2.resize did not write into the letterbox canvas")
    return canvas, Letterbox(scale, pw, ph)


def box_array(boxes: Iterable[BoundingBox]) -> np.ndarray:
    """(N, 4) float32 x0, y0, x1, y1 rows of ``boxes`` (shape (0, 4) when there are none)."""
    return np.array([[b.xmin, b.ymin, b.xmax, b.ymax] for b in boxes], np.float32).reshape(-1, 4)


def box_intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise intersection areas of (N, 4) and (M, 4) x0, y0, x1, y1 boxes -> (N, M)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    return np.asarray(np.clip(iw, 0, None) * np.clip(ih, 0, None))


def box_area(boxes: np.ndarray) -> np.ndarray:
    """Areas of (N, 4) x0, y0, x1, y1 boxes."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    return np.asarray((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of (N, 4) and (M, 4) boxes -> (N, M)."""
    inter = box_intersection(a, b)
    return np.asarray(inter / np.maximum(box_area(a)[:, None] + box_area(b)[None, :] - inter, 1e-12))


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression; returns kept indices, best first."""
    order = np.argsort(-scores)
    keep: list[int] = []
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        xx0 = np.maximum(boxes[i, 0], boxes[rest, 0])
        yy0 = np.maximum(boxes[i, 1], boxes[rest, 1])
        xx1 = np.minimum(boxes[i, 2], boxes[rest, 2])
        yy1 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.clip(xx1 - xx0, 0, None) * np.clip(yy1 - yy0, 0, None)
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[iou <= iou_threshold]
    return np.array(keep, dtype=np.int64)


def decode(
    heat: np.ndarray, box: np.ndarray, threshold: float, top_k: int = 100, iou_threshold: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Turn one image's heatmap (1, H, W) and distances (4, H, W) into boxes (N, 4) and scores (N,).

    Boxes are in network-input pixels. Local maxima of the heatmap above ``threshold`` become
    candidates, then NMS removes duplicates along long plates.
    """
    hm = heat[0]
    # 3x3 max filter: a cell is a peak when it equals the max of its neighbourhood.
    peak = cv2.dilate(hm, np.ones((3, 3), np.uint8))
    ys, xs = np.nonzero((hm >= peak) & (hm >= threshold))
    if ys.size == 0:
        return np.zeros((0, 4), np.float32), np.zeros((0,), np.float32)
    scores = hm[ys, xs]
    if scores.size > top_k:
        idx = np.argpartition(-scores, top_k)[:top_k]
        ys, xs, scores = ys[idx], xs[idx], scores[idx]
    cx, cy = (xs + 0.5) * STRIDE, (ys + 0.5) * STRIDE
    d = box[:, ys, xs]
    boxes = np.stack([cx - d[0], cy - d[1], cx + d[2], cy + d[3]], 1).astype(np.float32)
    keep = nms(boxes, scores, iou_threshold)
    return boxes[keep], scores[keep].astype(np.float32)
