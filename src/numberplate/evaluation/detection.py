"""Detection metrics: COCO-style AP (101-point), precision/recall at a threshold, false positives on negatives."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from numberplate.calibration import calibration_error
from numberplate.datasets.labels import BOX_COLUMNS, parse_box, read_csv_rows
from numberplate.detection.postprocess import box_iou

IOU_THRESHOLDS = tuple(np.round(np.arange(0.5, 0.96, 0.05), 2).tolist())


@dataclass(frozen=True)
class ImageResult:
    """Ground truth and predictions of one image (boxes as (N, 4) x0, y0, x1, y1)."""

    gt: np.ndarray
    pred: np.ndarray
    scores: np.ndarray
    source: str = ""
    image: str = ""  # where it came from, for listing its errors


@dataclass(frozen=True)
class DetectionMetrics:
    """Summary of one group of images."""

    images: int
    plates: int
    precision: float
    recall: float
    ap50: float
    ap50_95: float
    fp_per_negative: float | None
    calibration_error: float = float("nan")  # of the kept detections' confidences against being a true positive

    def to_dict(self) -> dict[str, float | int | None]:
        """Plain dict for JSON and CSV output."""
        return dict(self.__dict__)


def match(result: ImageResult, iou_threshold: float) -> np.ndarray:
    """Greedy COCO matching by descending score; returns a true-positive flag per prediction."""
    return _assign(result, iou_threshold)[0]


def _assign(result: ImageResult, iou_threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`match`'s true-positive flag per prediction, and a found flag per labelled box."""
    order = np.argsort(-result.scores, kind="stable")
    tp = np.zeros(len(order), bool)
    taken = np.zeros(len(result.gt), bool)
    if len(result.gt) == 0 or len(order) == 0:
        return tp, taken
    ious = box_iou(result.pred[order], result.gt)
    for k in range(len(order)):
        cand = np.where(~taken, ious[k], -1.0)
        j = int(np.argmax(cand))
        if cand[j] >= iou_threshold:
            taken[j] = True
            tp[order[k]] = True
    return tp, taken


def errors_at(result: ImageResult, threshold: float, iou: float = 0.5) -> tuple[list[int], list[int]]:
    """The errors :func:`precision_recall_at` counts in one image: the labelled boxes that no prediction
    scoring >= ``threshold`` finds at IoU ``iou`` (indices into ``gt``), and those predictions that find
    none (indices into ``pred``)."""
    kept = np.flatnonzero(result.scores >= threshold)
    tp, found = _assign(ImageResult(result.gt, result.pred[kept], result.scores[kept]), iou)
    return np.flatnonzero(~found).tolist(), kept[~tp].tolist()


def list_errors(results: Sequence[ImageResult], threshold: float, iou: float = 0.5) -> list[dict[str, Any]]:
    """:func:`errors_at` of every image as records (``image``, ``source``, ``kind`` "missed" or
    "false_positive", ``box`` in pixels, ``score``): a missed plate's score is the best of any detection on it,
    kept or not (how far under the threshold it was; ``None`` when nothing was found there)."""
    out: list[dict[str, Any]] = []
    for r in results:
        missed, false = errors_at(r, threshold, iou)
        ious = box_iou(r.gt, r.pred) if len(r.gt) and len(r.pred) else np.zeros((len(r.gt), 0))
        for i in missed:
            near = r.scores[ious[i] >= iou]
            out.append({"image": r.image, "source": r.source, "kind": "missed", "box": r.gt[i].round().tolist(),
                        "score": float(near.max()) if near.size else None})
        out += [{"image": r.image, "source": r.source, "kind": "false_positive", "box": r.pred[j].round().tolist(),
                 "score": float(r.scores[j])} for j in false]
    return out


def read_ignore_boxes(path: Path) -> dict[str, np.ndarray]:
    """Boxes of plates that the labels leave out, per image: a CSV ``image,xmin,ymin,xmax,ymax`` (more columns,
    e.g. a ``note``, are allowed), ``image`` as in the labels. See :func:`drop_ignored`.

    Raises:
        DatasetError: the file cannot be read, lacks a column, or has a malformed box.
    """
    boxes: dict[str, list[tuple[float, float, float, float]]] = {}
    for line, row in read_csv_rows(path, ("image", *BOX_COLUMNS), "ignore boxes"):
        b = parse_box(row, f"{path}:{line}")
        boxes.setdefault(row["image"], []).append((b.xmin, b.ymin, b.xmax, b.ymax))
    return {image: np.array(b, np.float64) for image, b in boxes.items()}


def drop_ignored(result: ImageResult, ignore: np.ndarray, iou: float = 0.5) -> ImageResult:
    """``result`` without the predictions on an ignored box (IoU >= ``iou``) that find no labelled one:
    a detection of a plate the labels leave out is then neither right nor wrong (as COCO's ignore regions)."""
    if len(ignore) == 0 or len(result.pred) == 0:
        return result
    on_ignored = box_iou(result.pred, ignore).max(axis=1) >= iou
    if len(result.gt):
        on_ignored &= box_iou(result.pred, result.gt).max(axis=1) < iou
    keep = ~on_ignored
    return replace(result, pred=result.pred[keep], scores=result.scores[keep])


def average_precision(results: Sequence[ImageResult], iou_threshold: float) -> float:
    """COCO 101-point interpolated AP over a set of images at one IoU threshold."""
    n_gt = sum(len(r.gt) for r in results)
    if n_gt == 0:
        return float("nan")
    scores = np.concatenate([r.scores for r in results]) if results else np.zeros(0)
    tps = np.concatenate([match(r, iou_threshold) for r in results]) if results else np.zeros(0, bool)
    order = np.argsort(-scores, kind="stable")
    tps = tps[order]
    tp_cum = np.cumsum(tps)
    fp_cum = np.cumsum(~tps)
    recall = tp_cum / n_gt
    precision = tp_cum / np.maximum(tp_cum + fp_cum, 1e-12)
    # Precision envelope: make it monotonically decreasing from the right.
    precision = np.maximum.accumulate(precision[::-1])[::-1] if precision.size else precision
    samples = np.linspace(0, 1, 101)
    idx = np.searchsorted(recall, samples, side="left")
    values = np.array([precision[i] if i < len(precision) else 0.0 for i in idx])
    return float(values.mean())


def precision_recall_at(results: Sequence[ImageResult], threshold: float, iou: float = 0.5) -> tuple[float, float]:
    """Precision and recall at IoU ``iou`` of the predictions scoring >= ``threshold`` (recall NaN without plates)."""
    tp = fp = n_gt = 0
    for r in results:
        keep = r.scores >= threshold
        flags = match(ImageResult(r.gt, r.pred[keep], r.scores[keep], r.source), iou)
        tp += int(flags.sum())
        fp += int((~flags).sum())
        n_gt += len(r.gt)
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / n_gt if n_gt else float("nan"))


def threshold_sweep(
    results: Sequence[ImageResult], thresholds: Sequence[float]
) -> list[tuple[float, float, float, float]]:
    """(threshold, precision, recall, F1) at IoU 0.5 for each threshold, to choose an operating point."""
    rows = []
    for t in thresholds:
        p, r = precision_recall_at(results, t)
        f1 = 2 * p * r / (p + r) if p + r > 0 else 0.0
        rows.append((float(t), p, r, f1))
    return rows


def summarize(results: Sequence[ImageResult], threshold: float) -> DetectionMetrics:
    """Precision and recall at IoU 0.5 for predictions scoring >= ``threshold``, AP50, AP50:95, FP/negative."""
    negatives = [r for r in results if len(r.gt) == 0]
    neg_fp = sum(int((r.scores >= threshold).sum()) for r in negatives)
    precision, recall = precision_recall_at(results, threshold)
    aps = [average_precision(results, t) for t in IOU_THRESHOLDS]
    kept_scores: list[float] = []
    kept_tp: list[bool] = []
    for r in results:
        tp, kept = match(r, 0.5), r.scores >= threshold
        kept_scores += np.clip(r.scores[kept], 0.0, 1.0).tolist()
        kept_tp += tp[kept].tolist()
    return DetectionMetrics(
        images=len(results),
        plates=sum(len(r.gt) for r in results),
        precision=precision,
        recall=recall,
        ap50=aps[0],
        ap50_95=float(np.mean(aps)),
        fp_per_negative=neg_fp / len(negatives) if negatives else None,
        calibration_error=calibration_error(kept_scores, kept_tp),
    )


def summarize_by_source(results: Sequence[ImageResult], threshold: float) -> dict[str, DetectionMetrics]:
    """Metrics for each source and for all images (key ``"all"``)."""
    sources = sorted({r.source for r in results})
    table = {s: summarize([r for r in results if r.source == s], threshold) for s in sources}
    table["all"] = summarize(results, threshold)
    return table
