"""Shared training helpers: device choice, time-budgeted schedules, warm starts, model soups."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

torch = pytest.importorskip("torch")

from numberplate.detection.platenet import MODELS_DIR  # noqa: E402
from numberplate.train.common import (  # noqa: E402
    average_checkpoints,
    epochs_within,
    fold_input_quantization,
    load_init,
    pick_device,
    plot_metrics,
    resumed_schedule,
)


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


def test_load_init_names_an_unreadable_file(tmp_path: Path) -> None:
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"junk\.pt: not a readable checkpoint"):
        load_init(torch.nn.Linear(3, 2), tmp_path / "junk.pt")


@pytest.mark.parametrize("command", [
    ["export-detect", "{ck}", "--out", "{out}", "--float32"],
    ["export-ocr", "{ck}", "--out", "{out}", "--float32"],
    ["export-verifier", "{ck}", "--out", "{out}"],
    ["detect", "--data", "{data}/detect/labels.csv", "--out", "{fresh}", "--init", "{ck}", "--limit", "2"],
    ["ocr", "--data", "{data}/ocr/labels.csv", "--out", "{fresh}", "--init", "{ck}", "--limit", "2"],
    ["detect", "--data", "{data}/detect/labels.csv", "--out", "{runs}", "--resume", "--limit", "2"],
    ["ocr", "--data", "{data}/ocr/labels.csv", "--out", "{runs}", "--resume", "--limit", "2"],
    ["verifier", "--data", "{data}/detect/labels.csv", "--out", "{runs}", "--resume", "--limit", "2"],
])
def test_train_commands_name_an_unreadable_checkpoint_in_one_line(
    command: list[str], tmp_path: Path, data_dir: Path
) -> None:
    from click.testing import CliRunner

    from numberplate.train.cli import train_group

    runs = tmp_path / "runs"
    runs.mkdir()
    for junk in (tmp_path / "junk.pt", runs / "last.pt"):  # what --init / the exports read, and what --resume reads
        junk.write_bytes(b"not a checkpoint")
    args = [a.format(ck=tmp_path / "junk.pt", out=tmp_path / "m.onnx", data=data_dir, runs=runs,
                     fresh=tmp_path / "fresh") for a in command]  # a new run (--init) in a folder of its own
    result = CliRunner().invoke(train_group, args)
    assert result.exit_code == 1, result.output
    assert "not a readable checkpoint" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "m.onnx").exists()
    assert (runs / "last.pt").read_bytes() == b"not a checkpoint"  # nothing overwritten


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


def _normalising_int8_model(scale: float) -> onnx.ModelProto:
    """uint8 NHWC image -> transpose, cast, ``(x / 255 - 0.45) / 0.25``, quantize(scale, 115) -> int8 conv."""
    from onnx import TensorProto, helper, numpy_helper

    weight = np.random.default_rng(0).integers(-127, 128, (4, 3, 3, 3)).astype(np.int8)
    inits = [
        numpy_helper.from_array(np.array(v, np.float32), name) for name, v in
        (("c255", 255.0), ("mean", 0.45), ("std", 0.25), ("x_scale", scale), ("w_scale", 0.01), ("y_scale", 0.05))
    ] + [numpy_helper.from_array(np.array(value, dtype), name) for name, value, dtype in
         (("x_zero", 115, np.uint8), ("w_zero", 0, np.int8), ("y_zero", 0, np.uint8))]
    inits.append(numpy_helper.from_array(weight, "w"))
    nodes = [
        helper.make_node("Transpose", ["image"], ["nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Cast", ["nchw"], ["f"], to=TensorProto.FLOAT),
        helper.make_node("Div", ["f", "c255"], ["unit"]),
        helper.make_node("Sub", ["unit", "mean"], ["centred"]),
        helper.make_node("Div", ["centred", "std"], ["normal"]),
        helper.make_node("QuantizeLinear", ["normal", "x_scale", "x_zero"], ["q"]),
        helper.make_node("DequantizeLinear", ["q", "x_scale", "x_zero"], ["dq"]),
        helper.make_node("DequantizeLinear", ["w", "w_scale", "w_zero"], ["w_f"]),
        helper.make_node("Conv", ["dq", "w_f"], ["conv"], pads=[1, 1, 1, 1]),
        helper.make_node("QuantizeLinear", ["conv", "y_scale", "y_zero"], ["out"]),
    ]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("image", TensorProto.UINT8, [1, 8, 8, 3])],
                              [helper.make_tensor_value_info("out", TensorProto.UINT8, [1, 4, 8, 8])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"image": x})[0]


def test_fold_input_quantization_drops_the_float_round_trip_bit_for_bit() -> None:
    model = _normalising_int8_model(0.25 / 255 * 16)  # 1 / 63.75: the bytes come back exactly
    x = np.random.default_rng(1).integers(0, 256, (1, 8, 8, 3), dtype=np.uint8)
    x[0, 0, :, 0] = [0, 1, 114, 115, 116, 128, 254, 255]
    before = _run(model, x)
    assert fold_input_quantization(model)
    onnx.checker.check_model(model)
    assert {n.op_type for n in model.graph.node}.isdisjoint({"Cast", "Div", "Sub"})
    assert sum(n.op_type == "QuantizeLinear" for n in model.graph.node) == 1  # the conv's output only
    assert {i.name for i in model.graph.initializer}.isdisjoint({"c255", "mean", "std"})
    np.testing.assert_array_equal(_run(model, x), before)


def test_fold_input_quantization_leaves_a_lossy_input_quantization_alone() -> None:
    model = _normalising_int8_model(0.02)  # not the normalisation's scale: the round trip changes values
    before = model.SerializeToString()
    assert not fold_input_quantization(model)
    assert model.SerializeToString() == before


def test_fold_input_quantization_leaves_a_cast_to_another_type_alone() -> None:
    from onnx import TensorProto

    model = _normalising_int8_model(0.25 / 255 * 16)
    (cast,) = [n for n in model.graph.node if n.op_type == "Cast"]
    cast.attribute[0].i = TensorProto.INT32  # integer division would not be the float arithmetic simulated
    before = model.SerializeToString()
    assert not fold_input_quantization(model)
    assert model.SerializeToString() == before


@pytest.mark.parametrize("name", ["detector", "plate_ocr"])
def test_shipped_int8_models_read_the_image_bytes_directly(name: str) -> None:
    model = onnx.load(str(MODELS_DIR / f"{name}.onnx"))
    assert not any(n.op_type == "Cast" for n in model.graph.node)
    assert not fold_input_quantization(model)  # nothing left to fold


def _small_net(seed: int, width: int = 4) -> torch.nn.Module:
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, width, 3), torch.nn.BatchNorm2d(width))
    net(torch.randn(2, 3, 8, 8))  # training mode: the batch-norm counters and running stats move
    return net


def _save(path: Path, net: torch.nn.Module, ema: torch.nn.Module | None = None, epoch: int = 0) -> Path:
    ck = {"model": net.state_dict(), "config": {"epoch_tag": epoch}, "epoch": epoch}
    if ema is not None:
        ck["ema"] = ema.state_dict()
    torch.save(ck, path)
    return path


def test_a_soup_is_the_weighted_mean_of_the_ema_weights_and_loads_as_a_checkpoint(tmp_path: Path) -> None:
    a, b, b_ema = _small_net(0), _small_net(1), _small_net(2)
    pa, pb = _save(tmp_path / "a.pt", a), _save(tmp_path / "b.pt", b, ema=b_ema, epoch=7)
    soup = average_checkpoints([(pa, 1.0), (pb, 3.0)])  # weights scaled to 0.25 / 0.75
    sa, se = a.state_dict(), b_ema.state_dict()
    for key in ("0.weight", "1.running_mean", "1.bias"):
        torch.testing.assert_close(soup["model"][key], 0.25 * sa[key] + 0.75 * se[key])
    assert torch.equal(soup["model"]["1.num_batches_tracked"], se["1.num_batches_tracked"])
    assert soup["epoch"] == 7 and soup["config"] == {"epoch_tag": 7}
    assert [p["weight"] for p in soup["soup"]] == [0.25, 0.75]
    torch.save(soup, tmp_path / "soup.pt")
    assert load_init(_small_net(5), tmp_path / "soup.pt") == len(sa)
    alone = average_checkpoints([(pa, 2.0)])
    assert all(torch.equal(alone["model"][k], sa[k]) for k in sa)  # a soup of one is that checkpoint


def test_a_soup_refuses_other_architectures_and_bad_weights(tmp_path: Path) -> None:
    pa, wide = _save(tmp_path / "a.pt", _small_net(0)), _save(tmp_path / "w.pt", _small_net(1, width=6))
    with pytest.raises(ValueError, match="another architecture"):
        average_checkpoints([(pa, 1.0), (wide, 1.0)])
    with pytest.raises(ValueError, match="positive"):
        average_checkpoints([(pa, 1.0), (pa, 0.0)])
    with pytest.raises(ValueError, match="at least one"):
        average_checkpoints([])
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"junk\.pt: not a readable checkpoint"):
        average_checkpoints([(pa, 1.0), (tmp_path / "junk.pt", 1.0)])
    torch.save(_small_net(0).state_dict(), tmp_path / "bare.pt")  # weights alone, no checkpoint around them
    with pytest.raises(ValueError, match=r"bare\.pt: not a training checkpoint"):
        average_checkpoints([(tmp_path / "bare.pt", 1.0)])


def test_train_soup_command_writes_the_soup_and_names_bad_parts(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from numberplate.train.cli import train_group

    pa, pb = _save(tmp_path / "a.pt", _small_net(0)), _save(tmp_path / "b.pt", _small_net(1))
    out = tmp_path / "out" / "soup.pt"
    ok = CliRunner().invoke(train_group, ["soup", str(out), f"{pa}:0.5", str(pb)])
    assert ok.exit_code == 0, ok.output
    assert "0.3333 x" in ok.output and "0.6667 x" in ok.output
    assert [p["weight"] for p in torch.load(out, weights_only=False)["soup"]] == pytest.approx([1 / 3, 2 / 3])
    missing = CliRunner().invoke(train_group, ["soup", str(out), str(tmp_path / "nope.pt")])
    assert missing.exit_code == 2 and "no such checkpoint" in missing.output
    bad = CliRunner().invoke(train_group, ["soup", str(out), f"{pa}:half"])
    assert bad.exit_code == 2 and "must be a number" in bad.output
    wide = _save(tmp_path / "w.pt", _small_net(1, width=6))
    other = CliRunner().invoke(train_group, ["soup", str(tmp_path / "x.pt"), str(pa), str(wide)])
    assert other.exit_code == 1 and "another architecture" in other.output and not (tmp_path / "x.pt").exists()


def test_quantize_int8_refuses_bad_settings_before_working(tmp_path: Path) -> None:
    from numberplate.train.common import quantize_int8

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU()).eval()
    model = tmp_path / "f.onnx"
    torch.onnx.export(net, (torch.zeros(1, 3, 8, 8),), str(model), input_names=["image"], dynamo=False)
    batches = [np.random.default_rng(0).random((1, 3, 8, 8), dtype=np.float32)]
    with pytest.raises(ValueError, match="7 or 8"):
        quantize_int8(model, tmp_path / "q.onnx", batches, weight_bits=6)
    with pytest.raises(ValueError, match="no node named /nope/Conv"):
        quantize_int8(model, tmp_path / "q.onnx", batches, float_nodes=["/nope/Conv"])
    assert not (tmp_path / "q.onnx").exists()
    conv = next(n.name for n in onnx.load(str(model)).graph.node if n.op_type == "Conv")
    quantize_int8(model, tmp_path / "q.onnx", batches, float_nodes=[conv])  # the only conv left float: nothing to do
    assert "DequantizeLinear" not in {n.op_type for n in onnx.load(str(tmp_path / "q.onnx")).graph.node}


def test_the_exports_default_to_the_project_s_weight_bits() -> None:
    from numberplate.train.cli import train_group
    from numberplate.train.common import WEIGHT_BITS

    for name in ("export-detect", "export-ocr"):
        option = next(o for o in train_group.commands[name].params if o.name == "weight_bits")
        assert option.default == WEIGHT_BITS, name


def test_plot_before_any_metric_is_measured_draws_no_empty_legend(tmp_path: Path) -> None:
    # Metrics come every --eval-every epochs: the first epochs' plot has losses only.
    metrics_csv = tmp_path / "metrics.csv"
    metrics_csv.write_text("epoch,loss,ap50\n1,0.5,\n2,0.4,\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "No artists with labels found to put in legend"
        plot_metrics(metrics_csv, tmp_path / "metrics.png", losses=("loss",), metrics=("ap50",))
    assert (tmp_path / "metrics.png").stat().st_size > 0
