"""Shared training helpers: device choice, time-budgeted schedules, warm starts."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from numberplate.train.common import epochs_within, load_init, pick_device, resumed_schedule  # noqa: E402


def test_pick_device_auto_is_cpu_without_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto").type == "cpu"
    assert pick_device("cpu").type == "cpu"


def test_pick_device_cuda_without_gpu_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="no CUDA GPU"):
        pick_device("cuda")


@pytest.mark.parametrize(
    ("budget", "elapsed", "done", "start", "epochs", "expected"),
    [
        (600, 60, 1, 0, 100, 10),  # 60 s per epoch: 10 fit in 10 minutes
        (600, 60, 1, 0, 5, 5),  # never more than asked for
        (600, 700, 1, 0, 100, 1),  # one slow epoch: stop after it
        (600, 120, 2, 16, 33, 26),  # a resumed run counts from where it started
        (600, 0, 0, 0, 40, 40),  # nothing timed yet: keep the asked count
    ],
)
def test_epochs_within_fits_the_schedule_to_the_budget(
    budget: float, elapsed: float, done: int, start: int, epochs: int, expected: int
) -> None:
    assert epochs_within(budget, elapsed, done, start, epochs) == expected


def test_a_resumed_run_keeps_its_fitted_schedule_until_it_is_timed_again() -> None:
    # Interrupted at epoch 18 of a schedule fitted to 33 of at most 45: go on with 33, not 45.
    state = {"config": {"epochs": 33}, "epoch_seconds": 240.0}
    assert resumed_schedule(state, 45, None, 18) == 33
    # A new budget is fitted at once from the measured epoch time: 52 minutes at 4 min per epoch.
    assert resumed_schedule(state, 45, 52, 18) == 18 + 13
    # Checkpoints written before the epoch time was saved, or with nothing recorded at all.
    assert resumed_schedule({"config": {"epochs": 33}}, 45, 52, 18) == 33
    assert resumed_schedule({}, 45, None, 18) == 45
    assert resumed_schedule({"config": {"epochs": 10}}, 45, None, 18) == 19  # never behind the resume point


def test_load_init_prefers_ema_weights(tmp_path: Path) -> None:
    model, other = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    torch.nn.init.constant_(other.weight, 7.0)
    path = tmp_path / "last.pt"
    torch.save({"model": model.state_dict(), "ema": other.state_dict()}, path)
    fresh = torch.nn.Linear(3, 2)
    assert load_init(fresh, path) == 2
    assert torch.equal(fresh.weight, other.weight)


def test_load_init_copies_the_tensors_that_fit(tmp_path: Path) -> None:
    old = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    path = tmp_path / "best.pt"
    torch.save({"model": old.state_dict()}, path)
    new = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 1))  # same body, new (smaller) head
    assert load_init(new, path) == 2
    assert torch.equal(new[0].weight, old[0].weight)


def test_load_init_rejects_another_architecture(tmp_path: Path) -> None:
    path = tmp_path / "best.pt"
    torch.save({"model": torch.nn.Linear(4, 3).state_dict()}, path)  # larger than the model: nothing fits
    with pytest.raises(ValueError, match="no weights fit"):
        load_init(torch.nn.Linear(3, 2), path)


def test_a_wider_detector_starts_computing_what_the_narrow_one_did(tmp_path: Path) -> None:
    from numberplate.train.detect.model import PlateNet

    torch.manual_seed(0)
    narrow = PlateNet(16, (8, 8, 16, 24, 32))
    with torch.no_grad():  # non-trivial batch-norm statistics, as after training
        for m in narrow.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    path = tmp_path / "best.pt"
    torch.save({"model": narrow.state_dict()}, path)
    wide = PlateNet(24, (8, 16, 16, 40, 48))
    assert load_init(wide, path) == len(wide.state_dict())
    x = torch.rand(2, 3, 64, 96)
    (h0, b0), (h1, b1) = narrow.eval()(x), wide.eval()(x)
    torch.testing.assert_close(h1, h0, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(b1, b0, atol=1e-4, rtol=1e-5)
    fresh = PlateNet(24, (8, 16, 16, 40, 48)).eval()
    assert not torch.allclose(fresh(x)[0], h0, atol=1e-3)  # without the widened weights it differs
