"""`numberplate train ...` errors: a missing [train] extra names the install step, a failed fit is one line."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from numberplate.train.cli import _TrainGroup


def _group(missing: str) -> click.Group:
    @click.group(cls=_TrainGroup)
    def group() -> None:
        pass

    @group.command("detect")
    def detect() -> None:
        raise ModuleNotFoundError(f"No module named '{missing}'", name=missing)

    return group


@pytest.mark.parametrize("module", ["torch", "onnx", "matplotlib.pyplot", "tqdm"])
def test_a_missing_training_module_is_one_line(module: str) -> None:
    result = CliRunner().invoke(_group(module), ["detect"])
    assert result.exit_code == 1
    top = module.partition(".")[0]
    assert result.output == (f"Error: this command needs {top}, which comes with the training extra: run `make "
                             "install-test`, or `.venv/bin/pip install -e '.[train]'` (torch==2.13.0 is a local CPU "
                             "build)\n")


def test_other_missing_modules_are_not_hidden() -> None:
    result = CliRunner().invoke(_group("numberplate.nothing"), ["detect"])
    assert isinstance(result.exception, ModuleNotFoundError)


@pytest.mark.parametrize(("command", "fit"), [
    ("calibrate-detector", "numberplate.train.detect.calibrate.fit_detector_calibration"),
    ("calibrate-ocr", "numberplate.train.ocr.calibrate.fit_ocr_calibration"),
])
def test_a_calibration_that_cannot_be_fitted_is_one_line(command: str, fit: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # A barely trained model gave a ValueError traceback.
    pytest.importorskip("torch", reason="the fits' modules come with the [train] extra")
    from numberplate.cli import main

    def cannot(*args: object, **kwargs: object) -> None:
        raise ValueError("every read is right (or every one wrong): no calibration can be fitted")

    monkeypatch.setattr(fit, cannot)
    result = CliRunner().invoke(main, ["train", command, "--dry-run"])
    assert result.exit_code == 1
    assert result.output == "Error: every read is right (or every one wrong): no calibration can be fitted\n"
