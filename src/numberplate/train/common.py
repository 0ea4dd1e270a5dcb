"""Pieces every training loop shares: device choice, EMA weights, warm-up + cosine learning rate, time budget,
metrics CSV and plot, and the int8 quantization of an exported model."""

from __future__ import annotations

import copy
import csv
import logging
import math
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch


def pick_device(name: str = "auto") -> torch.device:
    """The torch device to train on: ``auto`` takes the first CUDA GPU when there is one, else the CPU.

    Raises:
        ValueError: ``cuda`` was asked for and no GPU is visible.
    """
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"--device {name}: no CUDA GPU is visible to PyTorch")
    device = torch.device(name)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    return device


def epochs_within(budget_s: float, elapsed_s: float, epochs_done: int, start_epoch: int, epochs: int) -> int:
    """The total epoch count a time-budgeted run should aim for, from the epochs this run has timed so far.

    Like Ultralytics' ``time=`` argument: once the first epoch is timed, the schedule is stretched or
    shrunk so that the run ends (with its learning rate at the floor) when the budget is spent. The
    result is never below the epochs already done, nor above ``epochs``.
    """
    if epochs_done <= 0:
        return epochs
    per_epoch = elapsed_s / epochs_done
    fit = start_epoch + int(budget_s / max(per_epoch, 1e-9))
    return max(start_epoch + epochs_done, min(epochs, fit))


def resumed_schedule(state: dict, epochs: int, minutes: float | None, start_epoch: int) -> int:
    """The schedule length a resumed run uses until its first epoch is timed.

    The interrupted run's fitted length (``state["config"]["epochs"]``), so the learning rate goes on
    where it was rather than jumping back up a longer cosine; with a (new) ``minutes`` budget, refitted
    at once from the epoch time the interrupted run measured (``state["epoch_seconds"]``).
    """
    fitted = min(epochs, int(state.get("config", {}).get("epochs", epochs)))
    seconds = state.get("epoch_seconds")
    if minutes and seconds:
        return epochs_within(minutes * 60, float(seconds), 1, start_epoch, epochs)
    return max(fitted, start_epoch + 1)


def checkpoint_weights(ck: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The weights a training checkpoint stands for: its EMA weights when it has them, else its model's."""
    return ck.get("ema") or ck["model"]


def load_init(model: torch.nn.Module, checkpoint: Path) -> int:
    """Start a new run from another run's weights (its EMA weights when it has them); no optimizer state.

    Every tensor whose name matches is copied: whole where the shapes match, so a model with a new
    head still starts from an older model's backbone; into the leading slice where the model is wider
    (more channels in some layers: :func:`widen_into`). Returns the number of tensors copied.

    Raises:
        ValueError: the file is not a readable checkpoint, or no tensor of it fits the model (another
            architecture altogether); the message names the file.
    """
    state = checkpoint_weights(read_checkpoint(checkpoint))
    own = model.state_dict()
    fits = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    wider = {k: widen_into(own[k], v) for k, v in state.items()
             if k in own and k not in fits and _fits_inside(v, own[k])}
    if not fits and not wider:
        raise ValueError(f"{checkpoint}: no weights fit this model (another architecture)")
    model.load_state_dict(fits | wider, strict=False)
    logging.getLogger(__name__).info("init from %s: %d of %d tensors (%d widened)", checkpoint,
                                     len(fits) + len(wider), len(own), len(wider))
    return len(fits) + len(wider)


def average_checkpoints(parts: Sequence[tuple[Path, float]]) -> dict[str, Any]:
    """A "model soup": the weighted mean of checkpoints' weights (each one's EMA weights when it has them).

    Fine-tunes of one model from one start stay in one basin of the loss, so their mean reads as well as
    the best of them and often better (Wortsman et al., 2022). Floating-point tensors are averaged with
    the weights scaled to sum to 1; integer ones (batch-norm counters) come from the last checkpoint, as
    do the config and epoch (what export records). The result loads like any checkpoint: ``export-*``
    and ``--init`` read its ``model``; ``soup`` lists its parts.

    Raises:
        ValueError: no parts, a weight that is not positive, a file that is not a training checkpoint, or
            checkpoints whose tensors differ in names or shapes (not one architecture).
    """
    if not parts:
        raise ValueError("a soup needs at least one checkpoint")
    if any(not w > 0 for _, w in parts):
        raise ValueError(f"every weight must be positive: {[w for _, w in parts]}")
    total = sum(w for _, w in parts)
    checkpoints = [read_checkpoint(path) for path, _ in parts]
    states = [checkpoint_weights(ck) for ck in checkpoints]
    first = states[0]
    for (path, _), state in zip(parts[1:], states[1:]):
        if state.keys() != first.keys() or any(state[k].shape != first[k].shape for k in first):
            raise ValueError(f"{path}: its tensors differ from {parts[0][0]}'s (another architecture)")
    def mean(k: str) -> torch.Tensor:
        return cast(torch.Tensor, sum((w / total) * s[k].float() for s, (_, w) in zip(states, parts)))

    mixed = {k: mean(k).to(first[k].dtype) if first[k].is_floating_point() else states[-1][k].clone() for k in first}
    last = checkpoints[-1]
    return {"model": mixed, "config": last.get("config", {}), "epoch": last.get("epoch", -1), "metrics": {},
            "soup": [{"checkpoint": str(path), "weight": w / total} for path, w in parts]}


def read_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """A training checkpoint (a dict with the ``model`` weights), or ValueError naming the file."""
    try:
        ck = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as e:  # torch.load raises pickle, zip and runtime errors alike for a file it cannot read
        raise ValueError(f"{path}: not a readable checkpoint ({type(e).__name__}: {e})") from e
    if not isinstance(ck, dict) or not isinstance(ck.get("model"), dict):
        raise ValueError(f"{path}: not a training checkpoint of this project (no 'model' weights)")
    return ck


def load_weights(model: torch.nn.Module, weights: dict[str, torch.Tensor], path: Path, what: str) -> None:
    """Load ``weights`` (read from ``path``) into ``model`` exactly, or ValueError naming the file and ``what`` it
    should be (an OCR checkpoint given to the detector export, a run trained with other size options)."""
    try:
        model.load_state_dict(weights)
    except RuntimeError as e:
        raise ValueError(f"{path}: its weights do not fit {what} (another model, or other size options)") from e


def _shown(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def resume_checkpoint(path: Path, config: dict[str, Any], options: Sequence[str],
                      map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The ``last.pt`` a run of ``config`` resumes from, checked to be one: optimizer state and epoch, and the
    same model ``options`` (size, head...) as the run's, so a resume never trains another model than it saved.

    Raises:
        ValueError: the file is not a readable checkpoint, not a resumable one (a best.pt or a soup), or was
            trained with another value of one of ``options``; the message names the file and the option.
    """
    ck = read_checkpoint(path, map_location)
    missing = [k for k in ("optimizer", "epoch") if k not in ck]
    if missing:
        raise ValueError(f"{path}: not a checkpoint to resume (no {' or '.join(missing)}: a best.pt or a soup?); "
                         "pass it as --init instead, or start another --out")
    saved = ck.get("config", {})
    for key in options:
        if key in saved and _shown(saved[key]) != _shown(config[key]):
            raise ValueError(f"{path}: the run was trained with --{key.replace('_', '-')} {_shown(saved[key])}, not "
                             f"{_shown(config[key])}; resume it with its own options, or start another --out")
    return ck


def refuse_other_run(last: Path, resume: bool) -> None:
    """Refuse to start a new run where ``last`` (another run's ``last.pt``) is: it would overwrite that run's
    checkpoints, and its ``best.pt`` would pass for the new run's until the new one beats it.

    Raises:
        ValueError: ``last`` exists and the run does not resume it.
    """
    if not resume and last.exists():
        raise ValueError(f"{last.parent} holds a run already ({last}): pass --resume to continue it, or another "
                         "--out (or remove the folder) to start a new one")


def save_atomic(state: dict[str, Any], path: Path) -> None:
    """``torch.save`` into a temporary sibling, then renamed over ``path``: a kill mid-save leaves the old file."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


@contextmanager
def staged(out: Path) -> Iterator[Path]:
    """A temporary sibling of ``out`` to write and check a file in; it replaces ``out`` only when the block ends
    without an error (an export that fails its check, or is killed, leaves the old ``out`` as it was)."""
    tmp = out.with_name(f".{out.stem}.tmp{out.suffix}")
    try:
        yield tmp
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def staged_export(out: Path) -> Iterator[tuple[Path, Path]]:
    """:func:`staged` siblings of an exported model ``out`` and of its ``.json`` card (``out``'s folder made first):
    a model that fails its check never replaces the one in place, nor does its card."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with staged(out) as model_path, staged(out.with_suffix(".json")) as card_path:
        yield model_path, card_path


def _fits_inside(small: torch.Tensor, big: torch.Tensor) -> bool:
    return small.dim() == big.dim() and all(a <= b for a, b in zip(small.shape, big.shape))


def widen_into(fresh: torch.Tensor, narrow: torch.Tensor) -> torch.Tensor:
    """A wider layer's tensor that computes what ``narrow`` did: ``narrow`` in the leading slice, the
    weights that read the new input channels (dimension 1 beyond ``narrow``'s) set to zero, and the
    new output channels as ``fresh`` (their new initialisation).

    In a network of convolutions, batch norms and ReLUs whose every layer is widened this way, the
    original channels compute exactly what the narrow network did (the new ones add nothing until
    training moves the zeroed weights), so training a larger model starts where the small one ended.
    """
    out = fresh.clone()
    if out.dim() >= 2:
        out[: narrow.shape[0], narrow.shape[1]:] = 0
    out[tuple(slice(0, n) for n in narrow.shape)] = narrow
    return out


class ModelEMA:
    """Exponential moving average of the weights; the averaged copy is what we evaluate and ship.

    Args:
        model: the model being trained (copied once; the copy is updated in place).
        decay: the final decay per update.
        updates: updates already made (when resuming).
        ramp: updates over which the decay rises from 0 towards ``decay``, so early averages follow the model.
    """

    def __init__(self, model: torch.nn.Module, decay: float = 0.9995, updates: int = 0, ramp: float = 1000.0):
        self.ema = copy.deepcopy(model).eval()
        self.decay, self.updates, self.ramp = decay, updates, ramp
        for p in self.ema.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        """Fold the model's current weights into the average (buffers such as BN counts are copied)."""
        self.updates += 1
        d = self.decay * (1 - math.exp(-self.updates / self.ramp))
        msd = model.state_dict()
        for k, v in self.ema.state_dict().items():
            if v.dtype.is_floating_point:
                v.mul_(d).add_(msd[k].detach(), alpha=1 - d)
            else:
                v.copy_(msd[k])


def warmup_cosine(base_lr: float, epoch: float, epochs: float, warmup_epochs: float, floor: float = 0.02) -> float:
    """Learning rate at a fractional ``epoch``: linear warm-up from 5%, then cosine down to ``floor * base_lr``."""
    if epoch < warmup_epochs:
        return base_lr * (0.05 + 0.95 * epoch / warmup_epochs)
    progress = (epoch - warmup_epochs) / max(epochs - warmup_epochs, 1e-9)
    return base_lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def append_csv(path: Path, row: dict[str, Any]) -> None:
    """Add one epoch's row to a metrics CSV, replacing rows of that epoch and later (a resumed run rewrites them).

    Columns are the union of every row's keys, so a metric that appears in later epochs (evaluation
    every few epochs) widens the header instead of breaking it.
    """
    rows = []
    if path.exists():
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
    rows = [r for r in rows if int(r["epoch"]) < row["epoch"]] + [{k: str(v) for k, v in row.items()}]
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)


def plot_metrics(csv_path: Path, png_path: Path, losses: Sequence[str], metrics: Sequence[str]) -> None:
    """Plot losses (left) and [0, 1] metrics (right) per epoch from a metrics CSV.

    Args:
        csv_path: the CSV written by :func:`append_csv`.
        png_path: the PNG to write.
        losses: columns drawn as lines on the left panel.
        metrics: columns drawn with markers on the right panel (epochs without a value are skipped).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(csv_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    ep = [int(r["epoch"]) for r in rows]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    for key in losses:
        if all(r.get(key) for r in rows):
            a1.plot(ep, [float(r[key]) for r in rows], label=key)
    a1.set_xlabel("epoch")
    for key in metrics:
        pts = [(int(r["epoch"]), float(r[key])) for r in rows if r.get(key)]
        if pts:
            a2.plot(*zip(*pts), marker="o", label=key)
    a2.set_xlabel("epoch")
    a2.set_ylim(0, 1)
    for axes in (a1, a2):
        if axes.get_legend_handles_labels()[0]:  # no metric yet (eval every N epochs): no empty legend
            axes.legend()
    fig.tight_layout()
    fig.savefig(png_path, dpi=80)
    plt.close(fig)


# Bits of the exported int8 weights: 7 cannot saturate the fast uint8 x int8 kernels of CPUs without VNNI
# (2 x 255 x 64 < 32768), so the models compute exactly with them (docs/results.md, session 21).
WEIGHT_BITS = 7


def quantize_int8(
    float_model: Path, out: Path, calibration: Sequence[np.ndarray], op_types: Sequence[str] | None = None,
    input_name: str = "image", weight_bits: int = WEIGHT_BITS, float_nodes: Sequence[str] = (),
) -> None:
    """Static int8 quantization (QDQ, per-channel weights, uint8 activations) calibrated on ``calibration``.

    On a CPU with VNNI the int8 convolutions run faster than float32 (docs/results.md has the figures
    and the accuracy checks of both shipped models). Run a model with 8-bit weights with
    :func:`numberplate.detection.platenet.exact_int8` session options (as ``create_session`` does), or
    a CPU without VNNI computes something else. The input's float round trip is then folded away where
    it changes no value (:func:`fold_input_quantization`).

    Args:
        float_model: the float32 ONNX model.
        out: the int8 model to write.
        calibration: input batches whose activation ranges set the quantization scales.
        op_types: quantize only these operator types (e.g. ``["Conv"]``); ``None``: every one supported.
        input_name: the model's input.
        weight_bits: 7 (``reduce_range``, :data:`WEIGHT_BITS`): weights that cannot saturate the fast uint8 x
            int8 kernels of CPUs without VNNI, so the model computes exactly with them and ``exact_int8`` costs
            it nothing; or 8, which runs about 30% slower there with it (docs/results.md, session 21).
        float_nodes: names of nodes left float32 (they must be in the model).

    Raises:
        ValueError: ``weight_bits`` is not 7 or 8, or a name of ``float_nodes`` is not a node of the model.
    """
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if weight_bits not in (7, 8):
        raise ValueError(f"weight_bits={weight_bits}: 7 or 8")
    missing = set(float_nodes) - {n.name for n in onnx.load(str(float_model)).graph.node}
    if missing:
        raise ValueError(f"{float_model}: no node named {', '.join(sorted(missing))} to leave float")

    class _Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter(calibration)

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self.batches, None)
            return None if batch is None else {input_name: batch}

    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(float_model), str(prepared))
        quantize_static(
            str(prepared), str(out), _Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, reduce_range=weight_bits == 7,
            op_types_to_quantize=list(op_types) if op_types is not None else None, nodes_to_exclude=list(float_nodes),
        )
    quantized = onnx.load(str(out))
    if fold_input_quantization(quantized):
        onnx.save(quantized, str(out))


_INPUT_ARITHMETIC = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}


def fold_input_quantization(model: Any) -> bool:
    """Drop a quantized model's float round trip of its uint8 input when it changes no value (``model`` edited).

    The exported graphs turn the uint8 image into floats, normalise them (``(x / 255 - 0.45) / 0.25``)
    and quantize the result again for the first int8 convolution. When that quantization gives back
    exactly the input byte for all 256 values (its scale is the normalisation's and its zero point the
    rounded mean, as calibration on real images sets them), the cast, arithmetic and quantization are
    removed and the convolution reads the image bytes directly: the same output, bit for bit, without
    four full-image float passes (about 1 ms of the detector's 20 on an AVX2 CPU, session 15). Layout
    transposes are kept, now on uint8.

    Args:
        model: an ``onnx.ModelProto`` whose first input is uint8.

    Returns:
        Whether the chain was found and folded (``False`` leaves the model as it was).
    """
    from onnx import TensorProto, numpy_helper

    graph = model.graph
    constants = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    constants.update({n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in graph.node
                      if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value"})
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def scalar(name: str) -> float | None:
        value = constants.get(name)
        return float(value) if value is not None and value.size == 1 else None

    tensor, chain, transposes = graph.input[0].name, [], []
    values = np.arange(256, dtype=np.float32)
    while len(consumers.get(tensor, ())) == 1:
        node = consumers[tensor][0]
        if node.op_type == "Transpose":
            transposes.append(node)
        elif node.op_type == "Cast":
            if not any(a.name == "to" and a.i == TensorProto.FLOAT for a in node.attribute):
                return False  # the arithmetic simulated below is float32's
        elif node.op_type in _INPUT_ARITHMETIC and node.input[0] == tensor and scalar(node.input[1]) is not None:
            values = _INPUT_ARITHMETIC[node.op_type](values, np.float32(scalar(node.input[1]))).astype(np.float32)
        elif node.op_type == "QuantizeLinear" and len(node.input) == 3 \
                and constants.get(node.input[2], np.zeros(0)).dtype == np.uint8:
            scale, zero = scalar(node.input[1]), scalar(node.input[2])
            if scale is None or zero is None:
                return False
            quantized = np.clip(np.rint(values / np.float32(scale)) + zero, 0, 255)
            if not np.array_equal(quantized, np.arange(256)):
                return False
            chain.append(node)
            break
        else:
            return False
        chain.append(node)
        tensor = node.output[0]
    else:
        return False
    # Rewire: the transposes in their order on the uint8 input, then the quantized tensor's consumers.
    source = graph.input[0].name
    for node in transposes:
        node.input[0] = source
        source = node.output[0]
    quantized_name = chain[-1].output[0]
    for node in consumers.get(quantized_name, ()):
        for i, name in enumerate(node.input):
            if name == quantized_name:
                node.input[i] = source
    for node in chain:
        if node.op_type != "Transpose":
            graph.node.remove(node)
    used = {name for node in graph.node for name in node.input}
    for node in [n for n in graph.node if n.op_type == "Constant" and n.output[0] not in used]:
        graph.node.remove(node)
    for init in [i for i in graph.initializer if i.name not in used]:
        graph.initializer.remove(init)
    return True
