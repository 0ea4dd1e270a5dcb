"""The plate verifier's training: windows labelled from the boxes, a few steps, resume, export, reload, predict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs the [train] extra (make test installs it)")
onnx = pytest.importorskip("onnx", reason="export needs the [train] extra")

from numberplate.detection.platenet import PlateNetDetector  # noqa: E402
from numberplate.detection.verify import INPUT_SIZE, PlateVerifier, VerifiedDetector, context_window  # noqa: E402
from numberplate.imaging import load_image  # noqa: E402
from numberplate.train.detect.data import Scene  # noqa: E402
from numberplate.train.verify.data import (  # noqa: E402
    DETECTED,
    LABELLED,
    PAINTED,
    TURNED,
    collect_windows,
    cut,
    invert_plate,
)
from numberplate.train.verify.export import export_verifier  # noqa: E402
from numberplate.train.verify.train import VerifierTrainConfig, train  # noqa: E402
from numberplate.types import BoundingBox  # noqa: E402
from tests.fakes import BrightPlateReader, PixelBoxes  # noqa: E402


def test_windows_are_labelled_from_the_boxes_and_unlabelled_plates_are_left_out() -> None:
    image = np.zeros((200, 400, 3), np.uint8)
    image[20:40, 300:360] = 255  # a plate the labels leave unboxed, which the reader reads
    sc = Scene("x.jpg", "src", image, np.array([[10, 10, 60, 30]], np.float32))
    detector = PixelBoxes(((11, 10, 60, 31), 0.9),     # on the labelled plate: a plate
                     ((100, 100, 150, 120), 0.6),  # off every label: not a plate
                     ((30, 10, 80, 30), 0.5),      # half on the label (IoU 0.43): left out
                     ((300, 20, 360, 40), 0.8))    # the unboxed plate: left out
    w = collect_windows([sc], detector, BrightPlateReader())
    assert w.labels.tolist() == [1, 0, 1] and w.kind.tolist() == [DETECTED, DETECTED, LABELLED]
    np.testing.assert_allclose(w.scores, [0.9, 0.6, 1.0])
    assert w.images.shape[1:] == (60, 160, 3) and w.scenes[0][0] == "x.jpg"
    # Without a reader the unboxed plate is a negative too.
    assert collect_windows([sc], detector).labels.tolist() == [1, 0, 0, 1]
    # A non-plate on its side is also taught turned both ways (the verifier looks at it turned too).
    tall = collect_windows([sc], PixelBoxes(((100, 100, 120, 160), 0.6)))
    assert tall.labels.tolist() == [0, 0, 0, 1] and tall.kind.tolist() == [DETECTED, TURNED, TURNED, LABELLED]


def test_every_repaint_adds_a_plate_window_at_the_boxes_it_returns() -> None:
    image = np.zeros((200, 400, 3), np.uint8)
    sc = Scene("x.jpg", "src", image, np.array([[100, 100, 200, 125]], np.float32))
    calls = []

    def white(img: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        calls.append(boxes.copy())
        out = img.copy()
        out[100:125, 100:200] = 255
        return out, boxes

    def grown(img: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = img.copy()
        out[80:145, 100:200] = 200
        return out, np.array([[100, 80, 200, 145]], np.float32)

    w = collect_windows([sc], PixelBoxes(), repaints=[white, grown])
    assert w.kind.tolist() == [LABELLED, PAINTED, PAINTED] and w.labels.tolist() == [1, 1, 1]
    np.testing.assert_array_equal(w.boxes[2], [100, 80, 200, 145])
    assert w.images[0].max() == 0 and w.images[1].max() == 255 and w.images[2].max() == 200
    np.testing.assert_array_equal(calls[0], sc.boxes)
    # A scene without plates is not painted.
    empty = Scene("n.jpg", "negatives", image, np.zeros((0, 4), np.float32))
    assert len(collect_windows([empty], PixelBoxes(), repaints=[white])) == 0 and len(calls) == 1


def test_the_centre_cut_of_a_stored_window_is_the_inference_window() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (300, 500, 3), dtype=np.uint8)
    image = np.asarray(np.repeat(np.repeat(image[::4, ::4], 4, 0), 4, 1)[:300, :500])  # smooth enough to compare
    box = BoundingBox(200, 120, 300, 150)
    scene = Scene("a", "s", image, np.array([[200, 120, 300, 150]], np.float32))
    stored = collect_windows([scene], PixelBoxes()).images[0]
    centre = cut(stored)
    assert centre.shape == (*INPUT_SIZE, 3)
    assert np.abs(centre.astype(int) - context_window(image, box).astype(int)).mean() < 3
    jittered = cut(stored, np.random.default_rng(1))
    assert jittered.shape == centre.shape and not np.array_equal(jittered, centre)


def test_invert_plate_puts_the_box_in_negative_and_leaves_the_surroundings() -> None:
    image = np.full((300, 500, 3), 40, np.uint8)
    image[120:150, 200:300] = 230  # a light plate on a dark car
    image[128:142, 220:230] = 10  # ... with a dark character
    scene = Scene("a", "s", image, np.array([[200, 120, 300, 150]], np.float32))
    stored = collect_windows([scene], PixelBoxes()).images[0]
    inverted = invert_plate(stored)
    h, w = stored.shape[:2]
    centre = (slice(h // 2 - 3, h // 2 + 3), slice(w // 2 + 10, w // 2 + 30))  # plate, right of the character
    assert stored[centre].mean() > 200 and inverted[centre].mean() < 55  # the plate: light -> dark
    assert np.array_equal(inverted[:3], stored[:3]) and np.array_equal(inverted[:, :5], stored[:, :5])
    assert not np.shares_memory(inverted, stored)


def test_train_resume_export_and_predict(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "run"
    cfg = VerifierTrainConfig(data=str(data_dir / "detect" / "labels.csv"), out=str(out), epochs=1, batch=16,
                              limit=12, candidate_threshold=0.05, invert_plates=0.5,
                              dark_plates=True)
    train(cfg)
    assert (out / "windows.npz").is_file() and (out / "metrics.png").stat().st_size > 1000
    cfg.epochs = 2
    train(cfg, resume=True)
    rows = (out / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,lr,loss") and [r.split(",")[0] for r in rows[1:]] == ["1", "2"]

    path = tmp_path / "verifier.onnx"
    assert export_verifier(out / "last.pt", path, threshold=0.2) < 1e-3
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["threshold"] == 0.2 and meta["input_height"] == INPUT_SIZE[0] and len(meta["sha256"]) == 64
    verifier = PlateVerifier(path)
    image = load_image(data_dir / "detect" / "images" / "openlpr" / "10.jpg")
    p = verifier.probabilities(image, [BoundingBox(243.8, 295.3, 370.3, 351.6), BoundingBox(0, 0, 50, 20)])
    assert p.shape == (2,) and ((p > 0) & (p < 1)).all()
    dets = VerifiedDetector(PlateNetDetector(threshold=0.2), verifier).detect(image)
    assert all(0.2 <= d.confidence <= 1.0 for d in dets)
