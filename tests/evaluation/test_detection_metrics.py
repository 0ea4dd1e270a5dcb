"""COCO-style AP and P/R on hand-made cases whose answers are known."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from numberplate.errors import DatasetError
from numberplate.evaluation.detection import (
    ImageResult,
    average_precision,
    box_iou,
    drop_ignored,
    errors_at,
    list_errors,
    precision_recall_at,
    read_ignore_boxes,
    summarize,
    summarize_by_source,
    threshold_sweep,
)


def _r(gt: list, pred: list, scores: list, source: str = "s") -> ImageResult:
    return ImageResult(np.array(gt, float).reshape(-1, 4), np.array(pred, float).reshape(-1, 4),
                       np.array(scores, float), source)


def test_box_iou_known_values() -> None:
    iou = box_iou(np.array([[0, 0, 10, 10]]), np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]]))
    assert iou[0].tolist() == pytest.approx([1.0, 50 / 150, 0.0])


def test_perfect_predictions_give_ap_one() -> None:
    res = [_r([[0, 0, 10, 10]], [[0, 0, 10, 10]], [0.9]), _r([[5, 5, 20, 20]], [[5, 5, 20, 20]], [0.8])]
    assert average_precision(res, 0.5) == pytest.approx(1.0)
    m = summarize(res, 0.5)
    assert (m.precision, m.recall, m.ap50, m.ap50_95) == (1.0, 1.0, 1.0, pytest.approx(1.0))


def test_false_positive_ranked_first_halves_precision_at_first_recall() -> None:
    # Ranking: FP (0.9), TP (0.8). Two GT, one found. Precision envelope: 0.5 up to recall 0.5, 0 after.
    res = [_r([[0, 0, 10, 10], [100, 100, 110, 110]], [[50, 50, 60, 60], [0, 0, 10, 10]], [0.9, 0.8])]
    # 101 recall points: 0.00..0.50 inclusive are 51 points at precision 0.5.
    assert average_precision(res, 0.5) == pytest.approx(51 * 0.5 / 101)


def test_duplicate_detection_counts_as_false_positive() -> None:
    res = [_r([[0, 0, 10, 10]], [[0, 0, 10, 10], [0, 0, 10, 9]], [0.9, 0.8])]
    m = summarize(res, 0.5)
    assert m.precision == 0.5 and m.recall == 1.0
    assert m.ap50 == pytest.approx(1.0)  # the TP outranks the duplicate
    # Calibration of the kept detections: 0.9 right (gap 0.1) and 0.8 wrong (gap 0.8), one each.
    assert m.calibration_error == pytest.approx(0.45)
    assert summarize(res, 0.85).calibration_error == pytest.approx(0.1)  # the duplicate is below the threshold


def test_iou_threshold_affects_ap50_95() -> None:
    # IoU of 0.81: a match for thresholds 0.5..0.8 (7 of 10), not for 0.85..0.95.
    res = [_r([[0, 0, 100, 100]], [[0, 0, 90, 90]], [0.9])]
    m = summarize(res, 0.5)
    assert m.ap50 == pytest.approx(1.0)
    assert m.ap50_95 == pytest.approx(0.7)


def test_threshold_and_negatives() -> None:
    res = [_r([[0, 0, 10, 10]], [[0, 0, 10, 10]], [0.2], "a"),
           _r([], [[0, 0, 5, 5], [9, 9, 20, 20]], [0.9, 0.1], "neg")]
    table = summarize_by_source(res, threshold=0.5)
    assert table["a"].recall == 0.0  # its only detection is under the threshold
    assert table["neg"].fp_per_negative == 1.0
    assert table["all"].fp_per_negative == 1.0
    assert np.isnan(table["neg"].ap50)  # no ground truth, AP undefined


def test_threshold_sweep_gives_precision_recall_and_f1_per_threshold() -> None:
    # Scores: TP 0.9, FP 0.7, TP 0.6, FP 0.4 on three plates (one never found).
    res = [_r([[0, 0, 10, 10], [20, 20, 30, 30]], [[0, 0, 10, 10], [50, 50, 60, 60]], [0.9, 0.7]),
           _r([[0, 0, 10, 10]], [[0, 0, 10, 10], [40, 40, 45, 45]], [0.6, 0.4]),
           _r([[5, 5, 9, 9]], [], [])]
    rows = threshold_sweep(res, [0.95, 0.8, 0.65, 0.5, 0.3])
    assert [t for t, *_ in rows] == [0.95, 0.8, 0.65, 0.5, 0.3]
    expected = [(1.0, 0.0), (1.0, 1 / 4), (1 / 2, 1 / 4), (2 / 3, 2 / 4), (2 / 4, 2 / 4)]
    for (_, p, r, f1), (ep, er) in zip(rows, expected):
        assert (p, r) == (pytest.approx(ep), pytest.approx(er))
        assert f1 == pytest.approx(2 * ep * er / (ep + er) if ep + er else 0.0)
    best = max(rows, key=lambda row: row[3])
    assert best[0] == 0.5


def test_errors_at_are_the_misses_and_false_positives_precision_and_recall_count() -> None:
    # Plate 0 found twice (the second, lower box is a duplicate: a false positive), plate 1 found only under
    # the threshold (missed), plate 2 found; one box on nothing (false positive); one under the threshold on nothing.
    r = _r([[0, 0, 10, 10], [100, 0, 110, 10], [200, 0, 210, 10]],
           [[0, 0, 10, 10], [0, 1, 10, 11], [100, 0, 110, 10], [200, 0, 211, 10], [300, 0, 310, 10], [400, 0, 410, 10]],
           [0.9, 0.8, 0.3, 0.7, 0.6, 0.1])
    missed, false = errors_at(r, 0.5)
    assert (missed, false) == ([1], [1, 4])
    precision, recall = precision_recall_at([r], 0.5)
    assert (precision, recall) == (2 / 4, 2 / 3)
    assert errors_at(r, 0.2) == ([], [1, 4])
    assert errors_at(_r([], [[0, 0, 5, 5]], [0.9]), 0.5) == ([], [0])
    assert errors_at(_r([[0, 0, 5, 5]], [], []), 0.5) == ([0], [])


def test_detections_on_ignored_boxes_are_neither_right_nor_wrong() -> None:
    # A labelled plate found; an unlabelled one found (ignored); a non-plate (false positive); and a detection
    # on an ignore box that is also a labelled plate, which stays scored.
    r = _r([[0, 0, 10, 10], [50, 0, 60, 10]], [[0, 0, 10, 10], [100, 0, 110, 10], [200, 0, 210, 10], [50, 0, 60, 10]],
           [0.9, 0.8, 0.7, 0.6])
    kept = drop_ignored(r, np.array([[101, 0, 111, 10], [50, 0, 60, 10]], float))
    assert kept.pred.tolist() == [[0, 0, 10, 10], [200, 0, 210, 10], [50, 0, 60, 10]]
    assert kept.scores.tolist() == [0.9, 0.7, 0.6]
    assert precision_recall_at([kept], 0.5) == (2 / 3, 1.0)
    assert drop_ignored(r, np.zeros((0, 4))) is r


def test_ignore_boxes_file_is_read_and_checked(tmp_path: Path) -> None:
    good = tmp_path / "ignore.csv"
    good.write_text("image,xmin,ymin,xmax,ymax,note\na.jpg,1,2,30,12,unboxed\na.jpg,40,2,60,12,\nb.jpg,0,0,5,5,x\n")
    boxes = read_ignore_boxes(good)
    assert boxes["a.jpg"].tolist() == [[1, 2, 30, 12], [40, 2, 60, 12]] and list(boxes) == ["a.jpg", "b.jpg"]
    # The header and file checks are read_csv_rows' (tests/datasets); a bad box names its file and line.
    (tmp_path / "bad.csv").write_text("image,xmin,ymin,xmax,ymax\na,1,2,3,4\na,5,2,1,4\n")
    with pytest.raises(DatasetError, match=r"bad\.csv:3: xmax \(1\) must be greater than xmin \(5\)"):
        read_ignore_boxes(tmp_path / "bad.csv")


def test_list_errors_gives_each_miss_its_best_score_and_each_false_positive_its_own() -> None:
    r = replace(_r([[0, 0, 10, 10], [100, 0, 110, 10], [200, 0, 210, 10]],
                   [[100, 0, 110, 10], [100, 1, 110, 11], [300, 0, 310, 10]], [0.3, 0.2, 0.9]), image="a.jpg")
    assert list_errors([r], 0.5) == [
        {"image": "a.jpg", "source": "s", "kind": "missed", "box": [0.0, 0.0, 10.0, 10.0], "score": None},
        {"image": "a.jpg", "source": "s", "kind": "missed", "box": [100.0, 0.0, 110.0, 10.0], "score": 0.3},
        {"image": "a.jpg", "source": "s", "kind": "missed", "box": [200.0, 0.0, 210.0, 10.0], "score": None},
        {"image": "a.jpg", "source": "s", "kind": "false_positive", "box": [300.0, 0.0, 310.0, 10.0], "score": 0.9},
    ]
