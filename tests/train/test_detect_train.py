"""A few training steps on a handful of real images, ONNX export, reload on onnxruntime, predict."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs the [train] extra (make test installs it)")

from numberplate.detection.platenet import PlateNetDetector  # noqa: E402
from numberplate.imaging import load_image  # noqa: E402
from numberplate.train.detect.export import export_onnx  # noqa: E402
from numberplate.train.detect.train import DetectTrainConfig, train  # noqa: E402


def test_train_resume_export_and_predict(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "run"
    cfg = DetectTrainConfig(data=str(data_dir / "detect" / "labels.csv"), out=str(out), epochs=1, batch=4, size=128,
                            limit=8, epoch_size=8, eval_every=1, workers=0, threads=1)
    train(cfg)
    assert (out / "last.pt").is_file() and (out / "best.pt").is_file()
    assert (out / "metrics.png").stat().st_size > 1000
    first_row = (out / "metrics.csv").read_text().splitlines()
    assert first_row[0].startswith("epoch,lr,loss_heat,loss_box") and len(first_row) == 2

    # Resume continues at epoch 2 instead of starting over.
    cfg.epochs = 2
    train(cfg, resume=True)
    rows = (out / "metrics.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2"]

    onnx_path = tmp_path / "detector.onnx"
    diff = export_onnx(out / "best.pt", onnx_path)
    assert diff < 1e-3
    det = PlateNetDetector(onnx_path, side=320, threshold=0.01)
    image = load_image(data_dir / "detect" / "images" / "openlpr" / "10.jpg")
    dets = det.detect(image)
    h, w = image.shape[:2]
    for d in dets:
        assert 0 <= d.box.xmin < d.box.xmax <= w and 0 <= d.box.ymin < d.box.ymax <= h
        assert 0.01 <= d.confidence <= 1.0
    # Batched (dynamic batch) inference gives the same maps as single images.
    x = np.random.default_rng(0).random((2, 3, 96, 160), dtype=np.float32)
    heat2, _ = det.session.run(None, {"image": x})
    heat1, _ = det.session.run(None, {"image": x[1:]})
    np.testing.assert_allclose(heat2[1:], heat1, atol=1e-5)


def test_warm_start_with_a_time_budget_stops_early(tmp_path: Path, data_dir: Path) -> None:
    first = tmp_path / "first"
    base = dict(data=str(data_dir / "detect" / "labels.csv"), batch=4, size=128, limit=8, epoch_size=8, eval_every=0,
                workers=0, threads=1)
    train(DetectTrainConfig(out=str(first), epochs=1, **base))  # type: ignore[arg-type]
    second = tmp_path / "second"
    # A budget far below one epoch: the run stops after its first epoch instead of running all 50.
    train(DetectTrainConfig(out=str(second), epochs=50, minutes=1e-4, init=str(first / "last.pt"), **base))  # type: ignore[arg-type]
    rows = (second / "metrics.csv").read_text().splitlines()
    assert len(rows) == 2
    ck = torch.load(second / "last.pt", weights_only=False)
    assert ck["epoch"] == 0 and ck["config"]["epochs"] == 1 and ck["config"]["init"].endswith("last.pt")
