"""What the training commands do with input they cannot use: runs they must not resume or overwrite, checkpoints
of another model, interrupted saves and exports, malformed labels files, out-of-range options."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

torch = pytest.importorskip("torch", reason="training needs the [train] extra (make test installs it)")

from numberplate.errors import DatasetError  # noqa: E402
from numberplate.train.cli import train_group  # noqa: E402
from numberplate.train.detect.data import read_labels  # noqa: E402
from numberplate.train.detect.model import PlateNet  # noqa: E402
from numberplate.train.ocr.data import load_crops  # noqa: E402
from numberplate.train.ocr.model import INPUT_HEIGHT, INPUT_WIDTH, PlateOCR  # noqa: E402
from numberplate.train.ocr.train import OcrTrainConfig, train  # noqa: E402
from numberplate.train.verify.model import VerifierNet  # noqa: E402

DETECT_HEADER = "image,width,height,xmin,ymin,xmax,ymax,source,split\n"


def _last_pt(path: Path, model: torch.nn.Module, config: dict[str, Any]) -> Path:
    """A ``last.pt`` as the training loops write it, for ``model`` and ``config``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    opt = torch.optim.AdamW(model.parameters())
    torch.save({"model": model.state_dict(), "ema": model.state_dict(), "ema_updates": 1, "optimizer": opt.state_dict(),
                "epoch": 0, "best_ap": 0.0, "best_exact": 0.0, "config": config | {"epochs": 2}}, path)
    return path


def _small_detect_csv(data_dir: Path, folder: Path) -> Path:
    """A detect labels CSV of three train and two val scenes of the shared data, with absolute image paths."""
    with open(data_dir / "detect" / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows = [r for r in rows if r["split"] == "train"][:3] + [r for r in rows if r["split"] == "val"][:2]
    path = folder / "labels.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({**r, "image": str(data_dir / r["image"])} for r in rows)
    return path


def _invoke(args: list[str]) -> Any:
    return CliRunner().invoke(train_group, [str(a) for a in args])


@pytest.mark.parametrize(("command", "model", "config", "options", "message"), [
    ("detect", lambda: PlateNet(48), {"width": 48, "channels": (16, 32, 64, 96, 128), "depth": 1, "tune": "all"},
     ["--width", "16"], "trained with --width 48, not 16"),
    ("detect", lambda: PlateNet(48), {"width": 48, "channels": (16, 32, 64, 96, 128), "depth": 1, "tune": "all"},
     ["--channels", "8,16,32,48,64"], "trained with --channels 16,32,64,96,128, not 8,16,32,48,64"),
    ("detect", lambda: PlateNet(48), {"width": 48, "channels": (16, 32, 64, 96, 128), "depth": 1, "tune": "all"},
     ["--tune", "heat"], "trained with --tune all, not heat"),
    ("ocr", lambda: PlateOCR(head="attention"), {"height": INPUT_HEIGHT, "width": INPUT_WIDTH, "head": "attention"},
     ["--head", "linear"], "trained with --head attention, not linear"),
])
def test_resume_refuses_a_run_of_other_model_options(command: str, model: Any, config: dict[str, Any],
                                                     options: list[str], message: str, tmp_path: Path,
                                                     data_dir: Path) -> None:
    # It was a traceback of load_state_dict's size mismatches (or missing keys).
    last = _last_pt(tmp_path / "run" / "last.pt", model(), config)
    before = last.read_bytes()
    data = data_dir / ("detect" if command == "detect" else "ocr") / "labels.csv"
    result = _invoke([command, "--data", data, "--out", tmp_path / "run", "--resume", "--limit", "2", *options])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert message in result.output and "resume it with its own options" in result.output
    assert last.read_bytes() == before


@pytest.mark.parametrize("command", ["detect", "ocr", "verifier"])
def test_resume_refuses_a_checkpoint_without_training_state(command: str, tmp_path: Path, data_dir: Path) -> None:
    # A best.pt (or a soup) copied to last.pt: it was a KeyError for 'ema' / 'optimizer'.
    model = {"detect": lambda: PlateNet(48), "ocr": PlateOCR, "verifier": VerifierNet}[command]()
    last = tmp_path / "run" / "last.pt"
    last.parent.mkdir()
    torch.save({"model": model.state_dict(), "config": {}, "epoch": 3}, last)
    data = data_dir / ("ocr" if command == "ocr" else "detect") / "labels.csv"
    result = _invoke([command, "--data", data, "--out", last.parent, "--resume", "--limit", "2"])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert f"{last}: not a checkpoint to resume (no optimizer" in result.output


@pytest.mark.parametrize("command", ["detect", "ocr"])
def test_a_new_run_refuses_a_folder_holding_another_run(command: str, tmp_path: Path, data_dir: Path) -> None:
    # Without --resume the new run overwrote the old run's last.pt, and its best.pt passed for the new run's.
    out = tmp_path / "run"
    out.mkdir()
    (out / "last.pt").write_bytes(b"the old run")
    (out / "best.pt").write_bytes(b"the old run's best")
    data = _small_detect_csv(data_dir, tmp_path) if command == "detect" else data_dir / "ocr" / "labels.csv"
    result = _invoke([command, "--data", data, "--out", out, "--epochs", "1", "--limit", "2", "--batch", "2",
                      "--epoch-size", "2", "--workers", "0", "--threads", "1", "--device", "cpu",
                      *(["--size", "64", "--eval-every", "0"] if command == "detect" else [])])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert f"{out} holds a run already" in result.output and "--resume" in result.output
    assert (out / "last.pt").read_bytes() == b"the old run"
    assert (out / "best.pt").read_bytes() == b"the old run's best"


def test_a_kill_while_saving_a_checkpoint_never_leaves_a_half_written_one(tmp_path: Path, data_dir: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # best.pt was written in place: a kill mid-save left a truncated best.pt that export and --init then read.
    save = torch.save

    def killed_while_saving_best(obj: object, path: Path) -> None:
        if Path(path).name.startswith("best"):
            Path(path).write_bytes(b"PK\x03\x04 half a zip")
            raise KeyboardInterrupt
        save(obj, path)

    monkeypatch.setattr(torch, "save", killed_while_saving_best)
    out = tmp_path / "run"
    cfg = OcrTrainConfig(data=str(data_dir / "ocr" / "labels.csv"), out=str(out), epochs=1, batch=4, epoch_size=4,
                         limit=4, workers=0, threads=1, device="cpu")
    with pytest.raises(KeyboardInterrupt):
        train(cfg)
    assert not (out / "best.pt").exists()
    assert not (out / "last.pt").exists()  # killed before the epoch's last.pt: the resume starts over


def _detector_checkpoint(path: Path) -> Path:
    torch.save({"model": PlateNet(16, (8, 8, 16, 16, 16)).state_dict(),
                "config": {"width": 16, "channels": (8, 8, 16, 16, 16)}, "epoch": 0}, path)
    return path


def _ocr_checkpoint(path: Path) -> Path:
    torch.save({"model": PlateOCR(head="linear").state_dict(), "config": {"head": "linear"}, "epoch": 0}, path)
    return path


@pytest.mark.parametrize(("command", "checkpoint", "kind"), [
    ("export-detect", _ocr_checkpoint, "a detector"),
    ("export-ocr", _detector_checkpoint, "a plate OCR model"),
    ("export-verifier", _detector_checkpoint, "the verifier"),
])
def test_exports_refuse_a_checkpoint_of_another_model_in_one_line(command: str, checkpoint: Any, kind: str,
                                                                  tmp_path: Path) -> None:
    ck = checkpoint(tmp_path / "other.pt")
    out = tmp_path / "model.onnx"
    result = _invoke([command, ck, "--out", out, *(["--float32"] if command != "export-verifier" else [])])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert f"{ck}: its weights do not fit {kind}" in result.output
    assert not out.exists() and not out.with_suffix(".json").exists()


def _failing_detect_check(monkeypatch: pytest.MonkeyPatch) -> None:
    from numberplate.train.detect import export

    monkeypatch.setattr(export, "FLOAT_TOLERANCE", export.Tolerance(-1.0, -1.0))


def _failing_ocr_check(monkeypatch: pytest.MonkeyPatch) -> None:
    from numberplate.train.ocr import export

    monkeypatch.setattr(export, "_run", lambda path, batches: np.zeros((3, 1, 1), np.float32))


def _failing_verifier_check(monkeypatch: pytest.MonkeyPatch) -> None:
    import onnxruntime

    class _Wrong:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def run(self, *args: object) -> list[np.ndarray]:
            return [np.full(5, 99.0, np.float32)]

    monkeypatch.setattr(onnxruntime, "InferenceSession", _Wrong)


@pytest.mark.parametrize(("command", "checkpoint", "fail"), [
    ("export-detect", _detector_checkpoint, _failing_detect_check),
    ("export-ocr", _ocr_checkpoint, _failing_ocr_check),
    ("export-verifier", lambda p: (torch.save({"model": VerifierNet().state_dict()}, p), p)[1],
     _failing_verifier_check),
])
def test_an_export_that_fails_its_check_leaves_the_model_in_place(command: str, checkpoint: Any, fail: Any,
                                                                  tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # The graph was written over --out (by default the shipped model) before it was checked: a failed check left
    # an unchecked model in place, beside the JSON (and checksum) of the old one.
    ck = checkpoint(tmp_path / "ck.pt")
    out = tmp_path / "models" / "model.onnx"
    out.parent.mkdir()
    out.write_bytes(b"the shipped model")
    out.with_suffix(".json").write_text('{"sha256": "of the shipped model"}')
    fail(monkeypatch)
    result = _invoke([command, ck, "--out", out, *(["--float32"] if command != "export-verifier" else [])])
    assert result.exit_code != 0 and isinstance(result.exception, RuntimeError), result.output
    assert out.read_bytes() == b"the shipped model"
    assert json.loads(out.with_suffix(".json").read_text()) == {"sha256": "of the shipped model"}
    assert sorted(p.name for p in out.parent.iterdir()) == ["model.json", "model.onnx"]  # no temporary files left


@pytest.mark.parametrize("command", ["detect", "ocr", "verifier"])
@pytest.mark.parametrize(("option", "value"), [("--lr", "inf"), ("--lr", "0"), ("--lr", "-1"), ("--lr", "nan"),
                                               ("--minutes", "inf")])
def test_learning_rates_and_budgets_must_be_finite_and_positive(command: str, option: str, value: str,
                                                                tmp_path: Path, data_dir: Path) -> None:
    # --lr inf trained NaN weights without a word; --lr 0 trained nothing; --minutes inf ended in an OverflowError.
    data = _small_detect_csv(data_dir, tmp_path) if command != "ocr" else data_dir / "ocr" / "labels.csv"
    result = _invoke([command, "--data", data, "--out", tmp_path / "run", "--epochs", "1", "--limit", "2",
                      "--threads", "1", f"{option}={value}",
                      *(["--batch", "2", "--workers", "0", "--device", "cpu"] if command != "verifier" else []),
                      *(["--epoch-size", "2"] if command != "verifier" else []),
                      *(["--size", "64", "--eval-every", "0"] if command == "detect" else [])])
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}'" in result.output
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(("row", "message"), [
    ("a.jpg,600,450,nan,1,50,50,s,train", "labels.csv:2: xmin is not a finite number: 'nan'"),
    ("a.jpg,600,450,10,1,10,50,s,train", "labels.csv:2: xmax (10) must be greater than xmin (10)"),
    ("a.jpg,600,450,10,1,50,,s,train", "labels.csv:2: ymax is missing"),
    ("a.jpg,600,450,,1,50,50,s,train", "labels.csv:2: xmin is missing"),
    ("a.jpg,600,450,abc,1,50,50,s,train", "labels.csv:2: xmin is not a number: 'abc'"),
    ("a.jpg,600.5,450,1,1,50,50,s,train", "labels.csv:2: width must be a positive whole number"),
])
def test_training_labels_with_a_bad_box_name_the_line(row: str, message: str, tmp_path: Path) -> None:
    # nan and empty boxes were trained on (NaN targets); others were a bare "could not convert string to float".
    path = tmp_path / "labels.csv"
    path.write_text(DETECT_HEADER + row + "\n")
    with pytest.raises(DatasetError, match=re.escape(message)):
        read_labels(path, "train")


def test_training_labels_may_have_a_byte_order_mark_and_crlf_but_need_every_column(tmp_path: Path) -> None:
    # The mark made the first column '\ufeffimage': a KeyError traceback; so was a missing column.
    path = tmp_path / "labels.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (DETECT_HEADER + "a.jpg,600,450,1,2,50,60,s,train\nb.jpg,600,450,,,,,s,train\n")
                     .replace("\n", "\r\n").encode())
    assert read_labels(path, "train") == {"a.jpg": {"boxes": [[1.0, 2.0, 50.0, 60.0]], "sizes": [(600, 450)],
                                                    "source": "s"},
                                          "b.jpg": {"boxes": [], "sizes": [], "source": "s"}}
    path.write_text("image,width,height,xmin,ymin,xmax,ymax,source\na.jpg,600,450,1,2,50,60,s\n")
    with pytest.raises(DatasetError, match=r"missing column\(s\) split"):
        read_labels(path, "train")


def test_ocr_labels_may_have_a_byte_order_mark_but_need_every_column_and_a_text(tmp_path: Path,
                                                                               data_dir: Path) -> None:
    crop = data_dir / "ocr" / "crops" / "tunisia" / "0.jpg"
    path = tmp_path / "labels.csv"
    path.write_bytes(b"\xef\xbb\xbf" + f"image,text,country,source,split\n{crop},117T3989,tn,tunisia,train\n".encode())
    assert [c.text for c in load_crops(path, "train", (INPUT_HEIGHT, INPUT_WIDTH))] == ["117T3989"]
    path.write_text(f"image,text,source,split\n{crop},117T3989,tunisia,train\n")
    with pytest.raises(DatasetError, match=r"missing column\(s\) country"):
        load_crops(path, "train", (INPUT_HEIGHT, INPUT_WIDTH))
    path.write_text(f"image,text,country,source,split\n{crop},,tn,tunisia,train\n")  # was trained on as "no plate"
    with pytest.raises(DatasetError, match=r"labels\.csv:2: every row needs an image and its text"):
        load_crops(path, "train", (INPUT_HEIGHT, INPUT_WIDTH))


@pytest.mark.parametrize("command", ["detect", "ocr"])
def test_an_image_that_does_not_decode_is_one_line(command: str, tmp_path: Path, data_dir: Path) -> None:
    # It was a FileNotFoundError traceback.
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    data = tmp_path / "labels.csv"
    if command == "detect":
        data.write_text(DETECT_HEADER + f"{bad},600,450,1,1,50,50,s,train\n{bad},600,450,1,1,50,50,s,val\n")
    else:
        shutil.copy(data_dir / "ocr" / "crops" / "tunisia" / "0.jpg", tmp_path / "good.jpg")
        data.write_text(f"image,text,country,source,split\n{bad},AB12,,s,train\ngood.jpg,AB12,,s,val\n")
    result = _invoke([command, "--data", data, "--out", tmp_path / "run", "--epochs", "1", "--workers", "0",
                      "--threads", "1", "--device", "cpu"])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "cannot decode" in result.output and str(bad) in result.output


def test_a_windows_cache_cut_with_other_options_is_cut_again(tmp_path: Path, data_dir: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # A verifier run in a folder where a smoke test (--limit 10) had cut its windows trained on those 10 scenes.
    from numberplate.train.verify import train as verify_train
    from numberplate.train.verify.data import Windows

    cuts: list[int | None] = []

    def collect(scenes: object, detector: object, recognizer: object, repaints: object = ()) -> Windows:
        cuts.append(cfg.limit)
        return Windows(np.zeros((1, 8, 8, 3), np.uint8), np.ones(1, np.float32), np.zeros(1, np.int64),
                       np.zeros(1, np.int64), np.zeros((1, 4), np.float32), np.ones(1, np.float32),
                       [("a.jpg", "s", np.zeros((0, 4), np.float32))])

    monkeypatch.setattr(verify_train, "collect_windows", collect)
    monkeypatch.setattr("numberplate.detection.platenet.PlateNetDetector", lambda *args, **kwargs: None)
    monkeypatch.setattr("numberplate.recognition.create_recognizer", lambda name: None)
    cache = tmp_path / "windows.npz"
    cfg = verify_train.VerifierTrainConfig(data=str(_small_detect_csv(data_dir, tmp_path)), limit=2,
                                           synthetic_plates=False, square_plates=False)
    verify_train.load_windows(cfg, cache)
    verify_train.load_windows(cfg, cache)
    assert cuts == [2]  # the same options: read back
    cfg.limit = None
    assert len(verify_train.load_windows(cfg, cache)) == 1
    assert cuts == [2, None]
    verify_train.load_windows(cfg, cache)
    assert cuts == [2, None]
