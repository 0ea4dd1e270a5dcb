"""OCR training: deterministic mixed data, a few steps on a handful of crops, resume, export, read with plateocr."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

torch = pytest.importorskip("torch", reason="training needs the [train] extra (make test installs it)")

from numberplate.recognition.alphabet import ALPHABET, MAX_SLOTS, PAD_INDEX, decode  # noqa: E402
from numberplate.recognition.platenet_ocr import PlateOcrRecognizer  # noqa: E402
from numberplate.train.cli import train_group  # noqa: E402
from numberplate.train.ocr import data as ocr_data  # noqa: E402
from numberplate.train.ocr.data import OcrDataset, cut_quad, load_crops, warp_crop  # noqa: E402
from numberplate.train.ocr.export import export_onnx  # noqa: E402
from numberplate.train.ocr.model import INPUT_HEIGHT, INPUT_WIDTH, PlateOCR  # noqa: E402
from numberplate.train.ocr.train import OcrTrainConfig, consistency_loss, slot_loss, train  # noqa: E402
from tests.fakes import largest_int8_weight  # noqa: E402

SIZE = (INPUT_HEIGHT, INPUT_WIDTH)


@pytest.fixture(scope="module")
def crops(data_dir: Path) -> list:
    return load_crops(data_dir / "ocr" / "labels.csv", "train", SIZE, limit=12)


def test_load_crops_reads_train_only_and_shrinks_large_crops(data_dir: Path, crops: list) -> None:
    assert len(crops) == 12
    assert all(c.image.dtype == np.uint8 and c.image.ndim == 3 for c in crops)
    val = load_crops(data_dir / "ocr" / "labels.csv", "val", SIZE, sources={"us"})
    assert {c.source for c in val} == {"us"}
    assert not {c.text for c in val} & {c.text for c in crops}
    # us crops are up to 320 px wide: shrunk until one side fits the model input.
    assert all(c.image.shape[1] <= INPUT_WIDTH or c.image.shape[0] <= INPUT_HEIGHT for c in val)


def test_dataset_is_deterministic_and_mixes_real_and_synthetic(crops: list) -> None:
    ds = OcrDataset(crops, SIZE, epoch_size=24, real_fraction=0.5, seed=3)
    a = [ds[i] for i in range(24)]
    b = [ds[i] for i in range(24)]
    for x, y in zip(a, b):
        assert np.array_equal(x["image"], y["image"]) and np.array_equal(x["target"], y["target"])
    assert all(s["image"].shape == (*SIZE, 3) and s["target"].shape == (MAX_SLOTS,) for s in a)
    real_texts = {c.text for c in crops}
    texts = [decode(s["target"].tolist()) for s in a]
    assert any(t in real_texts for t in texts) and any(t not in real_texts for t in texts)
    ds.epoch = 1
    assert not np.array_equal(ds[0]["image"], a[0]["image"])
    synth_only = OcrDataset([], SIZE, epoch_size=4, real_fraction=0.0)
    assert all(decode(synth_only[i]["target"].tolist()) for i in range(4))
    with pytest.raises(ValueError, match="needs real crops"):
        OcrDataset([], SIZE, epoch_size=4, real_fraction=0.5)


def test_paired_samples_are_two_views_of_one_plate_and_leave_the_first_unchanged(crops: list) -> None:
    plain = OcrDataset(crops, SIZE, epoch_size=16, real_fraction=0.5, seed=3)
    paired = OcrDataset(crops, SIZE, epoch_size=16, real_fraction=0.5, seed=3, pairs=True)
    for i in range(16):
        a, b = plain[i], paired[i]
        assert "image2" not in a and b["image2"].shape == b["image"].shape == (*SIZE, 3)
        # The first view and the label are what the unpaired dataset gives; the second is another cut.
        assert np.array_equal(a["image"], b["image"]) and np.array_equal(a["target"], b["target"])
        assert not np.array_equal(b["image"], b["image2"])


def test_consistency_loss_is_zero_for_equal_readings_and_grows_apart() -> None:
    a = torch.randn(4, MAX_SLOTS, len(ALPHABET))
    assert consistency_loss(a, a).item() == pytest.approx(0.0, abs=1e-6)
    near, far = consistency_loss(a, a + 0.1 * torch.randn_like(a)), consistency_loss(a, torch.randn_like(a))
    assert 0 < near.item() < far.item()
    b = a.flip(0)
    assert consistency_loss(a, b).item() == pytest.approx(consistency_loss(b, a).item())  # symmetric


def test_a_consistency_run_trains_on_pairs(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "run"
    cfg = OcrTrainConfig(data=str(data_dir / "ocr" / "labels.csv"), out=str(out), epochs=1, batch=8, epoch_size=16,
                         limit=12, workers=0, threads=1, consistency=1.0)
    train(cfg)
    rows = (out / "metrics.csv").read_text().splitlines()
    assert len(rows) == 2 and float(rows[1].split(",")[2]) > 0  # the loss column


def test_warp_crop_output_size(crops: list) -> None:
    out = warp_crop(np.random.default_rng(0), crops[0].image, SIZE)
    assert out.shape == (*SIZE, 3) and out.dtype == np.uint8


def _turn(quad: np.ndarray) -> float:
    """Angle of a cut's top edge in degrees."""
    dx, dy = quad[1] - quad[0]
    return float(np.degrees(np.arctan2(dy, dx)))


def test_tilted_cut_keeps_the_whole_crop(monkeypatch: pytest.MonkeyPatch) -> None:
    # A tilted cut is the upright box around the turned crop: every corner of the crop lies inside
    # it (up to the inward margin and corner jitter), and it really is turned.
    monkeypatch.setattr(ocr_data, "TILT_SHARE", 1.0)
    rng, w, h = np.random.default_rng(3), 200, 50
    turns = []
    for _ in range(200):
        quad = cut_quad(rng, w, h)
        m = cv2.getPerspectiveTransform(quad.astype(np.float32), np.float32([[0, 0], [1, 0], [1, 1], [0, 1]]))
        corners = cv2.perspectiveTransform(np.float32([[[0, 0], [w, 0], [w, h], [0, h]]]), m)[0]
        assert corners.min() > -0.08 and corners.max() < 1.08
        turns.append(abs(_turn(quad)))
    assert max(turns) > 15 and min(turns) < 3
    monkeypatch.setattr(ocr_data, "TILT_SHARE", 0.0)
    assert max(abs(_turn(cut_quad(rng, w, h))) for _ in range(200)) < 8


def test_model_shape_and_loss() -> None:
    model = PlateOCR().eval()
    logits = model(torch.zeros(2, *SIZE, 3, dtype=torch.uint8))
    assert logits.shape == (2, MAX_SLOTS, len(ALPHABET))
    target = torch.full((2, MAX_SLOTS), PAD_INDEX)
    assert float(slot_loss(logits, target).detach()) > 0


def test_train_resume_export_and_read(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "run"
    cfg = OcrTrainConfig(data=str(data_dir / "ocr" / "labels.csv"), out=str(out), epochs=1, batch=8, epoch_size=16,
                         limit=12, workers=0, threads=1)
    train(cfg)
    assert (out / "last.pt").is_file() and (out / "best.pt").is_file()
    assert (out / "metrics.png").stat().st_size > 1000
    rows = (out / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,lr,loss,seconds,val_exact,val_exact_fmt,val_char_acc") and len(rows) == 2

    # Resume continues at epoch 2 instead of starting over.
    cfg.epochs = 2
    train(cfg, resume=True)
    rows = (out / "metrics.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2"]
    assert torch.load(out / "last.pt", weights_only=False)["epoch"] == 1

    onnx_path = tmp_path / "plate_ocr.onnx"
    result = CliRunner().invoke(train_group, [
        "export-ocr", str(out / "best.pt"), "--out", str(onnx_path), "--data", str(data_dir / "ocr" / "labels.csv"),
        "--calibration-crops", "16"])
    assert result.exit_code == 0, result.output
    meta = json.loads(onnx_path.with_suffix(".json").read_text(encoding="utf-8"))
    assert meta["alphabet"] == ALPHABET and meta["max_slots"] == MAX_SLOTS
    assert (meta["input_height"], meta["input_width"]) == SIZE and len(meta["sha256"]) == 64
    assert meta["precision"] == "int8 convolutions (7-bit weights)" and meta["calibration_crops"] == 16
    assert meta["weight_bits"] == 7 and largest_int8_weight(onnx_path) <= 64  # no saturation of the fast kernels
    eight = tmp_path / "eight.onnx"
    result = CliRunner().invoke(train_group, [
        "export-ocr", str(out / "best.pt"), "--out", str(eight), "--data", str(data_dir / "ocr" / "labels.csv"),
        "--calibration-crops", "16", "--weight-bits", "8"])
    assert result.exit_code == 0, result.output
    assert largest_int8_weight(eight) == 127 and json.loads(eight.with_suffix(".json").read_text())["weight_bits"] == 8
    int8_reads = PlateOcrRecognizer(onnx_path).probabilities(
        [np.random.default_rng(0).integers(0, 256, (30, 90, 3), dtype=np.uint8)])
    assert int8_reads[0] is not None and int8_reads[0].shape == (MAX_SLOTS, len(ALPHABET))
    assert export_onnx(out / "best.pt", onnx_path) < 1e-4  # float32 when no calibration is given
    assert json.loads(onnx_path.with_suffix(".json").read_text(encoding="utf-8"))["precision"] == "float32"

    recognizer = PlateOcrRecognizer(onnx_path)
    crops = load_crops(data_dir / "ocr" / "labels.csv", "val", SIZE, limit=3)
    probs = recognizer.probabilities([c.image for c in crops])
    for p in probs:
        assert p is not None and p.shape == (MAX_SLOTS, len(ALPHABET))
        np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-5)
    # Batched inference gives the same probabilities as one crop at a time.
    single = recognizer.probabilities([crops[1].image])[0]
    np.testing.assert_allclose(probs[1], single, atol=1e-5)  # type: ignore[arg-type]
    reads = recognizer.read_batch([c.image for c in crops], ["tn"] * 3)
    assert reads[0] == recognizer.read(crops[0].image, "tn")
    for read in reads:
        assert read is None or (read.text and 0.0 <= read.confidence <= 1.0)
