"""A few training steps on a handful of real images, ONNX export, reload on onnxruntime, predict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs the [train] extra (make test installs it)")
onnx = pytest.importorskip("onnx", reason="export needs the [train] extra")

from numberplate.detection.platenet import PlateNetDetector  # noqa: E402
from numberplate.errors import ModelLoadError  # noqa: E402
from numberplate.imaging import load_image  # noqa: E402
from numberplate.train.detect.export import FLOAT_OUTPUTS, calibration_batches, export_onnx  # noqa: E402
from numberplate.train.detect.train import DetectTrainConfig, train  # noqa: E402
from tests.fakes import largest_int8_weight  # noqa: E402


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
    x = np.random.default_rng(0).integers(0, 256, (2, 96, 160, 3), dtype=np.uint8)
    heat2, _ = det.session.run(None, {"image": x})
    heat1, _ = det.session.run(None, {"image": x[1:]})
    np.testing.assert_allclose(heat2[1:], heat1, atol=1e-5)


def test_fewer_samples_than_a_batch_train_in_one_smaller_batch(tmp_path: Path, data_dir: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    # `--limit 4` with the default batch of 32 ended in an UnboundLocalError: no full batch, no step.
    cfg = DetectTrainConfig(data=str(data_dir / "detect" / "labels.csv"), out=str(tmp_path / "run"), epochs=1,
                            batch=32, size=96, limit=4, epoch_size=4, eval_every=0, workers=0, threads=1)
    train(cfg)
    assert "only 4 training samples an epoch: batches of 4 instead of 32" in caplog.text
    assert len((tmp_path / "run" / "metrics.csv").read_text().splitlines()) == 2


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


def test_int8_export_is_calibrated_on_train_scenes_and_loads(tmp_path: Path, data_dir: Path) -> None:
    labels = data_dir / "detect" / "labels.csv"
    out = tmp_path / "run"
    train(DetectTrainConfig(data=str(labels), out=str(out), epochs=1, batch=4, size=128, limit=8, epoch_size=8,
                            eval_every=0, workers=0, threads=1))
    calibration = calibration_batches(labels, count=3, side=256)
    assert len(calibration) == 3
    assert all(b.dtype == np.uint8 and b.shape[0] == 1 and b.shape[3] == 3 and max(b.shape[1:3]) == 256
               for b in calibration)
    onnx_path = tmp_path / "detector.onnx"
    export_onnx(out / "last.pt", onnx_path, threshold=0.4, calibration=calibration)
    meta = json.loads(onnx_path.with_suffix(".json").read_text())
    assert meta["precision"].startswith("int8 (7-bit") and meta["calibration_images"] == 3 and meta["threshold"] == 0.4
    graph = onnx.load(str(onnx_path)).graph
    assert {"QuantizeLinear", "DequantizeLinear"} <= {n.op_type for n in graph.node}
    # The output convolutions read float weights (no DequantizeLinear in front of them); the others int8 ones.
    dequantized = {n.output[0] for n in graph.node if n.op_type == "DequantizeLinear"}
    convs = {n.name: n.input[1] in dequantized for n in graph.node if n.op_type == "Conv"}
    assert {name for name, int8 in convs.items() if not int8} == set(FLOAT_OUTPUTS)
    det = PlateNetDetector(onnx_path, side=256)
    assert det.threshold == 0.4
    det.detect(load_image(data_dir / "detect" / "images" / "openlpr" / "10.jpg"))
    assert meta["weight_bits"] == 7 and largest_int8_weight(onnx_path) <= 64  # no saturation of the fast kernels
    export_onnx(out / "last.pt", onnx_path, calibration=calibration, weight_bits=8)
    assert json.loads(onnx_path.with_suffix(".json").read_text())["weight_bits"] == 8
    assert largest_int8_weight(onnx_path) == 127


def test_a_float_input_model_is_refused_with_a_re_export_hint(tmp_path: Path) -> None:
    from onnx import TensorProto, helper

    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["b", 3, "h", "w"])
    heat = helper.make_tensor_value_info("heat", TensorProto.FLOAT, ["b", 3, "h", "w"])
    graph = helper.make_graph([helper.make_node("Identity", ["image"], ["heat"])], "old", [image], [heat])
    path = tmp_path / "old.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    with pytest.raises(ModelLoadError, match="re-export the model"):
        PlateNetDetector(path)


def test_a_heatmap_only_fine_tune_keeps_the_init_s_boxes_exactly(tmp_path: Path, data_dir: Path) -> None:
    from numberplate.train.detect.export import load_checkpoint

    first, second = tmp_path / "first", tmp_path / "second"
    base = dict(data=str(data_dir / "detect" / "labels.csv"), batch=4, size=128, limit=8, epoch_size=16, eval_every=0,
                workers=0, threads=1)
    train(DetectTrainConfig(out=str(first), epochs=1, **base))  # type: ignore[arg-type]
    train(DetectTrainConfig(out=str(second), epochs=2, lr=1e-2, init=str(first / "last.pt"), tune="heat",
                            **base))  # type: ignore[arg-type]
    before, _ = load_checkpoint(first / "last.pt")
    after, ck = load_checkpoint(second / "last.pt")
    assert after.heat_head is not None and ck["config"]["tune"] == "heat"
    x = torch.rand(2, 3, 128, 160)
    with torch.no_grad():
        (heat0, box0), (heat1, box1) = before(x), after(x)
    torch.testing.assert_close(box1, box0)  # frozen features, frozen batch-norm statistics
    assert not torch.allclose(heat1, heat0)
    diff = export_onnx(second / "last.pt", tmp_path / "heat.onnx")
    assert diff < 1e-3
    with pytest.raises(ValueError, match="needs init weights"):
        train(DetectTrainConfig(out=str(tmp_path / "x"), epochs=1, tune="heat", **base))  # type: ignore[arg-type]
