"""Hard negatives: mined from what a detector finds off the labels, written, read back, and trained on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from numberplate.errors import DatasetError
from numberplate.train.detect.data import DetectDataset, Scene, sample_crop
from numberplate.train.detect.mine import (
    HardNegative,
    attach_hard_negatives,
    mine_hard_negatives,
    read_hard_negatives,
    write_hard_negatives,
)
from numberplate.types import BoundingBox
from tests.fakes import BrightPlateReader, PixelBoxes


def scene(boxes: list[list[float]], path: str = "detect/images/x/1.jpg") -> Scene:
    image = np.zeros((200, 400, 3), np.uint8)
    image[20:40, 300:360] = 255  # an unlabelled plate the reader can read
    return Scene(path, "x", image, np.array(boxes, np.float32).reshape(-1, 4))


def test_detections_off_the_labels_are_hard_negatives_unless_they_read_as_plates() -> None:
    detector = PixelBoxes(((10, 10, 60, 30), 0.9),     # on the labelled plate
                     ((100, 100, 150, 120), 0.6),  # a sign: a hard negative
                     ((300, 20, 360, 40), 0.8),    # the unlabelled plate
                     ((200, 150, 240, 170), 0.2))  # below the score floor
    got = list(mine_hard_negatives([scene([[10, 10, 60, 30]])], detector, BrightPlateReader(), min_score=0.3))
    assert [(h.box, h.score, h.width, h.height) for h in got] == [(BoundingBox(100, 100, 150, 120), 0.6, 400, 200)]
    # Without a reader the unlabelled plate is kept too.
    assert len(list(mine_hard_negatives([scene([[10, 10, 60, 30]])], detector, None))) == 2


def test_hard_negatives_round_trip_and_are_rescaled_to_the_scene(tmp_path: Path) -> None:
    path = tmp_path / "hard.csv"
    rows = [HardNegative("a.jpg", BoundingBox(100, 50, 150, 70), 400, 200, 0.61),
            HardNegative("a.jpg", BoundingBox(0, 0, 40, 20), 400, 200, 0.4)]
    assert write_hard_negatives(rows, path) == 2
    hard = read_hard_negatives(path)
    small = Scene("a.jpg", "x", np.zeros((100, 200, 3), np.uint8), np.zeros((0, 4), np.float32))
    other = Scene("b.jpg", "x", np.zeros((100, 200, 3), np.uint8), np.zeros((0, 4), np.float32))
    assert attach_hard_negatives([small, other], hard) == 2
    np.testing.assert_allclose(small.hard, [[50, 25, 75, 35], [0, 0, 20, 10]])
    assert other.hard.shape == (0, 4)


@pytest.mark.parametrize("text, message", [
    ("image,xmin\na.jpg,1\n", "missing column"),
    ("image,xmin,ymin,xmax,ymax,width,height,score\na.jpg,1,2,x,4,10,10,0.5\n", "xmax is not a number"),
    ("image,xmin,ymin,xmax,ymax,width,height,score\na.jpg,5,2,3,4,10,10,0.5\n", "must be greater than xmin"),
])
def test_a_malformed_hard_negatives_file_is_a_dataset_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "hard.csv"
    path.write_text(text)
    with pytest.raises(DatasetError, match=message):
        read_hard_negatives(path)
    with pytest.raises(DatasetError, match="cannot read"):
        read_hard_negatives(tmp_path / "missing.csv")


def test_hard_crops_are_centred_near_a_hard_negative() -> None:
    s = scene([[10, 10, 60, 30]])
    s.image[150:170, 250:300] = 77  # the sign
    s.hard = np.array([[250, 150, 300, 170]], np.float32)
    for seed in range(20):
        img, _, _ = sample_crop(np.random.default_rng(seed), s, 128, 400, hard=True)
        assert (np.abs(img.astype(int) - 77).sum(axis=2) == 0).sum() > 20, seed


def test_a_dataset_centres_its_hard_share_of_crops_on_hard_negatives(monkeypatch: pytest.MonkeyPatch) -> None:
    import numberplate.train.detect.data as data

    calls: list[bool] = []

    def recording(rng, scene, size, infer_side, paint=data.NO_PAINT, hard=False):  # type: ignore[no-untyped-def]
        calls.append(hard)
        return sample_crop(rng, scene, size, infer_side, paint, hard)

    monkeypatch.setattr(data, "sample_crop", recording)
    with_hard, without = scene([[10, 10, 60, 30]]), scene([[10, 10, 60, 30]], "b.jpg")
    with_hard.hard = np.array([[250, 150, 300, 170]], np.float32)
    plain = DetectDataset([with_hard, without], size=128, infer_side=400, mosaic_p=0.0)
    assert plain.hard_scenes == [with_hard]
    for i in range(40):
        plain[i]
    assert not any(calls)
    calls.clear()
    hard = DetectDataset([with_hard, without], size=128, infer_side=400, mosaic_p=0.0, hard_p=0.5)
    for i in range(40):
        hard[i]
    assert 8 <= sum(calls) <= 32


def test_the_mine_command_writes_hard_negatives_and_refuses_a_bad_model(tmp_path: Path, data_dir: Path) -> None:
    from click.testing import CliRunner

    from numberplate.train.cli import train_group

    labels = str(data_dir / "detect" / "labels.csv")
    out = tmp_path / "hard.csv"
    result = CliRunner().invoke(train_group, ["mine-negatives", "--data", labels, "--out", str(out), "--limit", "20"])
    assert result.exit_code == 0, result.output
    assert "hard negatives to" in result.output
    read_hard_negatives(out)  # well formed, even when empty
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    result = CliRunner().invoke(train_group, ["mine-negatives", "--data", labels, "--out", str(out),
                                              "--model", str(junk)])
    assert result.exit_code == 1 and "Error:" in result.output and "Traceback" not in result.output


def test_training_on_a_malformed_hard_negatives_file_is_a_clear_error(tmp_path: Path, data_dir: Path) -> None:
    from click.testing import CliRunner

    from numberplate.train.cli import train_group

    bad = tmp_path / "hard.csv"
    bad.write_text("image,xmin\na.jpg,1\n")
    result = CliRunner().invoke(train_group, [
        "detect", "--data", str(data_dir / "detect" / "labels.csv"), "--out", str(tmp_path / "run"), "--limit", "4",
        "--epochs", "1", "--batch", "2", "--size", "64", "--workers", "0", "--threads", "1",
        "--hard-negatives", str(bad)])
    assert result.exit_code == 1 and "missing column" in result.output and "Traceback" not in result.output
