"""`numberplate train ...` sub-commands (need the [train] extra; imported only when invoked)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import click

from numberplate.clitypes import FiniteFloatRange, reported

# What the [train] extra brings: without it a train command names the install step instead of a traceback.
TRAIN_MODULES = frozenset({"torch", "onnx", "tqdm", "matplotlib"})


class _TrainGroup(click.Group):
    """The ``train`` commands, each saying how to install the training extra when a module of it is missing."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ModuleNotFoundError as e:
            if e.name is None or e.name.partition(".")[0] not in TRAIN_MODULES:
                raise
            raise click.ClickException(
                f"this command needs {e.name.partition('.')[0]}, which comes with the training extra: run "
                "`make install-test`, or `.venv/bin/pip install -e '.[train]'` (torch==2.13.0 is a local CPU build)"
            ) from e


@click.group("train", cls=_TrainGroup)
def train_group() -> None:
    """Train and export the project's models (needs the [train] extra: `.venv/bin/pip install -e '.[train]'`)."""


# The exports' --weight-bits (default: train.common.WEIGHT_BITS, not imported here: it needs torch).
_weight_bits_option = click.option(
    "--weight-bits", type=click.IntRange(7, 8), default=7, show_default=True,
    help="bits of the int8 weights: 7 computes exactly with the fast kernels of every CPU (faster without VNNI); "
         "8 needs slower exact ones there")


@train_group.command("detect")
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=Path("../shared/data/detect/labels.csv"), show_default=True, help="detect labels CSV")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/detect"), show_default=True)
@click.option("--epochs", type=click.IntRange(1), default=120, show_default=True)
@click.option("--batch", type=click.IntRange(1), default=32, show_default=True)
@click.option("--size", type=click.IntRange(64), default=320, show_default=True, help="training crop size")
@click.option("--lr", type=FiniteFloatRange(0, min_open=True), default=3e-3, show_default=True)
@click.option("--workers", type=click.IntRange(0), default=1, show_default=True)
@click.option("--threads", type=click.IntRange(1), default=2, show_default=True)
@click.option("--eval-every", type=click.IntRange(0), default=3, show_default=True)
@click.option("--epoch-size", type=click.IntRange(1), default=None, help="samples per epoch (default: train images)")
@click.option("--limit", type=click.IntRange(1), default=None, help="use only the first N images (smoke tests)")
@click.option("--device", default="auto", show_default=True, help="auto (a GPU if any), cpu, cuda, cuda:N")
@click.option("--minutes", type=FiniteFloatRange(0, min_open=True), default=None,
              help="time budget: after each epoch the schedule is fitted so the run ends within it (caps --epochs)")
@click.option("--init", type=click.Path(exists=True, dir_okay=False), default=None,
              help="start from this checkpoint's weights (new optimizer and schedule); a narrower model's "
                   "weights are widened so the run starts where it ended")
@click.option("--width", type=click.IntRange(8), default=48, show_default=True, help="FPN and head channels")
@click.option("--channels", default="16,32,64,96,128", show_default=True,
              help="backbone channels at stride 2, 4, 8, 16 and 32")
@click.option("--swap-plates", type=FiniteFloatRange(0, 1), default=0.0, show_default=True,
              help="share of training crops whose plates are painted over with rendered plates of other countries")
@click.option("--square-share", type=FiniteFloatRange(0, 1), default=0.0, show_default=True,
              help="with --swap-plates, the share of those crops painted with square (two-line) plates over their "
                   "boxes grown to the plate's shape")
@click.option("--dark-share", type=FiniteFloatRange(0, 1), default=0.0, show_default=True,
              help="with --swap-plates, the share of those crops painted with light-on-dark designs (classic UK, "
                   "Malaysian, ...)")
@click.option("--hard-negatives", type=click.Path(exists=True, dir_okay=False), default=None,
              help="hard negatives CSV from `train mine-negatives`: some crops are centred on them")
@click.option("--hard-share", type=FiniteFloatRange(0, 1), default=0.2, show_default=True,
              help="with --hard-negatives, the share of single-scene crops centred on one")
@click.option("--tune", type=click.Choice(["all", "heat"]), default="all", show_default=True,
              help="heat: with --init, train only a heatmap branch of its own on frozen features, so that the "
                   "boxes (and what the OCR reads from them) stay exactly the init's")
@click.option("--resume", is_flag=True, help="continue from OUT/last.pt")
def train_detect(data: Path, out: Path, resume: bool, channels: str, **opts: object) -> None:
    """Train the plate detector; checkpoints every epoch to OUT/last.pt, best EMA weights to OUT/best.pt."""
    from numberplate.errors import DatasetError
    from numberplate.train.detect.train import DetectTrainConfig, train

    try:
        widths = tuple(int(c) for c in channels.split(","))
    except ValueError:
        widths = ()
    if len(widths) != 5 or min(widths) < 1:
        raise click.BadParameter(f"five positive whole numbers separated by commas, got {channels!r}",
                                 param_hint="--channels")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    cfg = DetectTrainConfig(data=str(data), out=str(out), channels=widths, **opts)  # type: ignore[arg-type]
    with reported(DatasetError, FileNotFoundError, ValueError):  # FileNotFoundError: an image that does not decode
        best = train(cfg, resume=resume)
    click.echo(f"best checkpoint: {best}")


@train_group.command("mine-negatives")
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=Path("../shared/data/detect/labels.csv"), show_default=True, help="detect labels CSV")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("runs/hard_negatives.csv"),
              show_default=True)
@click.option("--model", type=click.Path(exists=True, dir_okay=False), default=None,
              help="detector ONNX (default: the shipped one)")
@click.option("--min-score", type=FiniteFloatRange(0, 1, min_open=True), default=0.3, show_default=True,
              help="detections scored lower are not kept")
@click.option("--plate-confidence", type=FiniteFloatRange(0, 1), default=0.3, show_default=True,
              help="a box our OCR reads as a plate of a known layout this surely is an unlabelled plate: skipped")
@click.option("--no-read", is_flag=True, help="keep every unlabelled detection (do not read them)")
@click.option("--limit", type=click.IntRange(1), default=None, help="first N train images only")
def mine_negatives(data: Path, out: Path, model: str | None, min_score: float, plate_confidence: float,
                   no_read: bool, limit: int | None) -> None:
    """Boxes the detector finds in train scenes where the labels have no plate (hard negatives CSV)."""
    from tqdm import tqdm

    from numberplate.detection.platenet import PlateNetDetector
    from numberplate.errors import NumberplateError
    from numberplate.recognition import create_recognizer
    from numberplate.train.detect.data import iter_scenes, read_labels
    from numberplate.train.detect.mine import mine_hard_negatives, write_hard_negatives

    with reported(NumberplateError, FileNotFoundError):
        total = len(read_labels(data, "train"))
        scenes = tqdm(iter_scenes(data, "train", limit=limit), total=min(total, limit or total), mininterval=5)
        rows = mine_hard_negatives(scenes, PlateNetDetector(model, threshold=min_score),
                                   None if no_read else create_recognizer("plateocr"), min_score=min_score,
                                   plate_confidence=plate_confidence)
        n = write_hard_negatives(rows, out)
    click.echo(f"wrote {n} hard negatives to {out}")


@train_group.command("export-detect")
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("src/numberplate/models/detector.onnx"), show_default=True)
@click.option("--threshold", type=FiniteFloatRange(0.0, 1.0, min_open=True, max_open=True), default=0.5,
              show_default=True, help="operating threshold recorded in the model's JSON (choose it on train data)")
@click.option("--int8/--float32", default=True, show_default=True,
              help="quantize to int8, calibrated on train scenes (faster on CPU, same AP)")
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=Path("../shared/data/detect/labels.csv"), show_default=True,
              help="detect labels CSV whose train scenes calibrate the int8 model")
@click.option("--calibration-images", type=click.IntRange(1), default=200, show_default=True)
@click.option("--side", type=click.IntRange(32), default=640, show_default=True, help="inference long side")
@_weight_bits_option
def export_detect(
    checkpoint: Path, out: Path, threshold: float, int8: bool, data: Path, calibration_images: int, side: int,
    weight_bits: int,
) -> None:
    """Export a detector checkpoint to ONNX (dynamic batch), verified against PyTorch; int8 by default."""
    from numberplate.errors import DatasetError
    from numberplate.train.detect.export import calibration_batches, export_onnx

    with reported(DatasetError, FileNotFoundError, ValueError):
        calibration = calibration_batches(data, calibration_images, side) if int8 else None
        diff = export_onnx(checkpoint, out, threshold=threshold, calibration=calibration, weight_bits=weight_bits)
    click.echo(f"wrote {out} (max |onnx - torch| = {diff:.2e}); its scores are the model's own until "
               f"`numberplate train calibrate-detector --detector-model {out}`")


@train_group.command("verifier")
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=Path("../shared/data/detect/labels.csv"), show_default=True,
              help="detect labels CSV (its train split)")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/verify"), show_default=True)
@click.option("--detector", "detector_model", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="ONNX detector whose detections are verified (default: the shipped one)")
@click.option("--candidate-threshold", type=FiniteFloatRange(0.01, 1.0), default=0.1, show_default=True,
              help="detections scored this or more become training windows")
@click.option("--epochs", type=click.IntRange(1), default=20, show_default=True)
@click.option("--batch", type=click.IntRange(2), default=128, show_default=True)
@click.option("--lr", type=FiniteFloatRange(0, min_open=True), default=2e-3, show_default=True)
@click.option("--weight", type=FiniteFloatRange(0, min_open=True), default=0.3, show_default=True,
              help="a detection's score becomes score * p ** weight")
@click.option("--synthetic-plates/--no-synthetic-plates", default=True, show_default=True,
              help="also train on every labelled plate painted over with a rendered plate of another design")
@click.option("--square-plates/--no-square-plates", default=True, show_default=True,
              help="... and painted over with a square (two-line) plate, over the box grown to its shape")
@click.option("--dark-plates/--no-dark-plates", default=False, show_default=True,
              help="... and once more painted over with a light-on-dark design (classic UK, Malaysian, ...)")
@click.option("--invert-plates", type=FiniteFloatRange(0, 1), default=0.0, show_default=True,
              help="share of training windows whose box is put in negative (dark plates with light characters)")
@click.option("--threads", type=click.IntRange(1), default=1, show_default=True)
@click.option("--limit", type=click.IntRange(1), default=None, help="first N train scenes only (smoke tests)")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--minutes", type=FiniteFloatRange(0, min_open=True), default=None,
              help="time budget: the schedule is fitted after each epoch so the run ends within it")
@click.option("--resume", is_flag=True, help="continue from OUT/last.pt (the windows are cached in OUT/windows.npz)")
def train_verifier(data: Path, out: Path, detector_model: Path | None, candidate_threshold: float, epochs: int,
                   batch: int, lr: float, weight: float, synthetic_plates: bool, square_plates: bool,
                   dark_plates: bool, invert_plates: float, threads: int, limit: int | None, seed: int,
                   minutes: float | None, resume: bool) -> None:
    """Train the plate verifier: a second look at each detection, with its surroundings, to drop signs and badges."""
    from numberplate.errors import NumberplateError
    from numberplate.train.verify.train import VerifierTrainConfig, train

    cfg = VerifierTrainConfig(data=str(data), out=str(out), detector=str(detector_model) if detector_model else None,
                              candidate_threshold=candidate_threshold, epochs=epochs, batch=batch, lr=lr,
                              weight=weight, synthetic_plates=synthetic_plates, square_plates=square_plates,
                              dark_plates=dark_plates, invert_plates=invert_plates, threads=threads, limit=limit,
                              seed=seed, minutes=minutes)
    with reported(NumberplateError, FileNotFoundError, ValueError):
        last = train(cfg, resume=resume)
    click.echo(f"checkpoint: {last}")


@train_group.command("export-verifier")
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("src/numberplate/models/verifier.onnx"), show_default=True)
@click.option("--threshold", type=FiniteFloatRange(0.0, 1.0, min_open=True, max_open=True), default=None,
              help="operating threshold of the verified scores (default: the max-F1 one on the held-out train scenes)")
def export_verifier_cmd(checkpoint: Path, out: Path, threshold: float | None) -> None:
    """Export a verifier checkpoint to ONNX, checked against PyTorch."""
    from numberplate.train.verify.export import export_verifier

    with reported(ValueError):
        diff = export_verifier(checkpoint, out, threshold)
    click.echo(f"wrote {out} (max |onnx - torch| = {diff:.2e}); the verified scores are its own until "
               f"`numberplate train calibrate-detector --verifier-model {out}`")


@train_group.command("ocr")
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=Path("../shared/data/ocr/labels.csv"), show_default=True, help="OCR labels CSV")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/ocr"), show_default=True)
@click.option("--epochs", type=click.IntRange(1), default=40, show_default=True)
@click.option("--batch", type=click.IntRange(1), default=128, show_default=True)
@click.option("--epoch-size", type=click.IntRange(1), default=20000, show_default=True, help="samples per epoch")
@click.option("--extra-data", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="more OCR labels CSVs whose train rows join the real crops (e.g. pseudo-label output)")
@click.option("--head", type=click.Choice(["attention", "linear"]), default="attention", show_default=True,
              help="slot read-out: attention (slot queries over the feature map) or linear (flattened map)")
@click.option("--real-fraction", type=FiniteFloatRange(0, 1), default=0.5, show_default=True,
              help="share of real train crops per epoch; the rest are synthetic plates")
@click.option("--multi-line-weight", type=FiniteFloatRange(0, min_open=True), default=1.0, show_default=True,
              help="factor on how often the synthetic two-line layouts (motorcycles, square plates) are drawn")
@click.option("--lr", type=FiniteFloatRange(0, min_open=True), default=2e-3, show_default=True)
@click.option("--consistency", type=FiniteFloatRange(0), default=0.0, show_default=True,
              help="train on two views of each plate (cut and degraded apart) and weigh by this the divergence of "
                   "their readings: reads that hang less on where the crop's edges fall")
@click.option("--workers", type=click.IntRange(0), default=1, show_default=True)
@click.option("--threads", type=click.IntRange(1), default=1, show_default=True)
@click.option("--limit", type=click.IntRange(1), default=None, help="use only the first N crops (smoke tests)")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto (a GPU if any), cpu, cuda, cuda:N")
@click.option("--minutes", type=FiniteFloatRange(0, min_open=True), default=None,
              help="time budget: after each epoch the schedule is fitted so the run ends within it (caps --epochs)")
@click.option("--init", type=click.Path(exists=True, dir_okay=False), default=None,
              help="start from this checkpoint's weights (new optimizer and schedule)")
@click.option("--resume", is_flag=True, help="continue from OUT/last.pt")
def train_ocr(data: Path, out: Path, resume: bool, **opts: object) -> None:
    """Train the plate OCR model; checkpoints every epoch to OUT/last.pt, best EMA weights to OUT/best.pt."""
    from numberplate.errors import DatasetError
    from numberplate.train.ocr.train import OcrTrainConfig, train

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    cfg = OcrTrainConfig(data=str(data), out=str(out), **opts)  # type: ignore[arg-type]
    with reported(DatasetError, FileNotFoundError, ValueError):  # FileNotFoundError: an image that does not decode
        best = train(cfg, resume=resume)
    click.echo(f"best checkpoint: {best}")


@train_group.command("pseudo-label")
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=Path("../shared/data/detect/labels.csv"), show_default=True, help="detect labels CSV")
@click.option("--ocr-data", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=Path("../shared/data/ocr/labels.csv"), show_default=True,
              help="OCR labels CSV whose val texts are never written (no leak into the reported split)")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--reader", "readers", multiple=True, default=("plateocr", "rapidocr"), show_default=True,
              help="OCR backends that must agree (repeatable)")
@click.option("--min-confidence", type=FiniteFloatRange(0, 1), default=0.5, show_default=True)
@click.option("--referee", help="a --reader whose very confident text wins when the others are near it")
@click.option("--referee-confidence", type=FiniteFloatRange(0, 1), default=0.9, show_default=True)
@click.option("--referee-distance", type=click.IntRange(1, 3), default=2, show_default=True,
              help="how many edits the other readers may be from the referee")
@click.option("--referee-sources", default="openlpr,romania,kaggle", show_default=True,
              help="detect sources where the referee may settle (plates it can write: no Arabic for RapidOCR)")
@click.option("--no-arabic", "no_arabic", default=None,
              help="a --reader that cannot write the Arabic word of Tunisian plates: there its digits are checked "
                   "against the others' text without the word (T/N)  [default: rapidocr when it is a reader; "
                   "'' for none]")
@click.option("--cut", type=click.Choice(["label", "detector"]), default="label", show_default=True,
              help="cut each plate at its label's box, or where the shipped detector boxes it (plates it "
                   "misses are skipped): the crop edges inference gives the recogniser")
@click.option("--limit", type=click.IntRange(1), default=None, help="first N images only")
@click.option("--any-layout", is_flag=True,
              help="also keep agreed texts that fit no country's plate pattern (by default they are dropped: "
                   "readers agreeing on a look-alike misread, such as a UK 1 read as I)")
def pseudo_label_command(data: Path, ocr_data: Path, out: Path, readers: tuple[str, ...], min_confidence: float,
                         referee: str | None, referee_confidence: float, referee_distance: int,
                         referee_sources: str, no_arabic: str | None, cut: str, limit: int | None,
                         any_layout: bool) -> None:
    """Cut the boxed plates of the detect train split and keep those every reader reads the same (OCR CSV)."""
    from numberplate.detection.platenet import PlateNetDetector
    from numberplate.errors import NumberplateError
    from numberplate.evaluation.ocr import read_ocr_labels
    from numberplate.recognition import create_recognizer
    from numberplate.train.ocr.pseudo import Blindspot, Referee, pseudo_label

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if len(set(readers)) < 2:
        raise click.BadParameter("give at least two different --reader backends", param_hint="--reader")
    if referee is not None and referee not in readers:
        raise click.BadParameter(f"{referee!r} is not one of the --reader backends", param_hint="--referee")
    sources = frozenset(s.strip() for s in referee_sources.split(",") if s.strip())
    judge = Referee(readers.index(referee), referee_confidence, referee_distance, sources) if referee else None
    if no_arabic is None:
        no_arabic = "rapidocr" if "rapidocr" in readers else ""
    if no_arabic and no_arabic not in readers:
        raise click.BadParameter(f"{no_arabic!r} is not one of the --reader backends", param_hint="--no-arabic")
    blindspot = Blindspot(readers.index(no_arabic)) if no_arabic else None
    with reported(NumberplateError, FileNotFoundError):
        val_texts = {s.text for s in read_ocr_labels(ocr_data, split="val")}
        stats = pseudo_label(data, out, [create_recognizer(r) for r in readers], min_confidence=min_confidence,
                             exclude_texts=val_texts, limit=limit, referee=judge, blindspot=blindspot,
                             known_layouts_only=not any_layout,
                             detector=PlateNetDetector() if cut == "detector" else None)
    click.echo(stats.table())
    click.echo(f"wrote {out / 'labels.csv'}")


def _soup_part(text: str) -> tuple[Path, float]:
    """``CHECKPOINT`` or ``CHECKPOINT:WEIGHT`` (weight 1 when left out)."""
    path, sep, weight = text.rpartition(":")
    if not sep or not path or "/" in weight or "\\" in weight:
        return Path(text), 1.0
    try:
        return Path(path), float(weight)
    except ValueError:
        raise click.BadParameter(f"{text!r}: the weight after ':' must be a number") from None


@train_group.command("soup")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("parts", nargs=-1, required=True, metavar="CHECKPOINT[:WEIGHT]...")
def soup_command(out: Path, parts: tuple[str, ...]) -> None:
    """Write to OUT the weighted mean of checkpoints' weights (a "model soup" of fine-tunes from one start;
    weights default to 1 each, scaled to sum to 1). Export it like any checkpoint."""
    from numberplate.train.common import average_checkpoints, save_atomic

    pieces = [_soup_part(p) for p in parts]
    for path, _ in pieces:
        if not path.is_file():
            raise click.BadParameter(f"{path}: no such checkpoint file", param_hint="CHECKPOINT")
    with reported(ValueError):
        soup = average_checkpoints(pieces)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_atomic(soup, out)
    click.echo(f"wrote {out}: " + " + ".join(f"{p['weight']:.4g} x {p['checkpoint']}" for p in soup["soup"]))


@train_group.command("export-ocr")
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("src/numberplate/models/plate_ocr.onnx"), show_default=True)
@click.option("--int8/--float32", default=True, show_default=True,
              help="quantize the convolutions to int8, calibrated on train crops (faster on CPU, same reads)")
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=Path("../shared/data/ocr/labels.csv"), show_default=True,
              help="OCR labels CSV whose train crops calibrate the int8 model")
@click.option("--calibration-crops", type=click.IntRange(1), default=256, show_default=True)
@_weight_bits_option
def export_ocr(checkpoint: Path, out: Path, int8: bool, data: Path, calibration_crops: int, weight_bits: int) -> None:
    """Export an OCR checkpoint to ONNX (dynamic batch, softmax in the graph), verified against PyTorch; int8
    convolutions by default."""
    from numberplate.errors import DatasetError
    from numberplate.train.ocr.export import calibration_crops as sample_crops
    from numberplate.train.ocr.export import export_onnx, load_checkpoint

    with reported(DatasetError, FileNotFoundError, ValueError):
        size = load_checkpoint(checkpoint)[0].input_size
        calibration = sample_crops(data, size, calibration_crops) if int8 else None
        diff = export_onnx(checkpoint, out, calibration=calibration, weight_bits=weight_bits)
    click.echo(f"wrote {out} (max |onnx - torch| = {diff:.2e}); its confidences are the model's own until "
               f"`numberplate train calibrate-ocr --model {out}`")


def _synthetic_plates_options(count: str, default: int, minimum: int, seed: int,
                              model_help: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The options of a command that reads fresh synthetic plates with an OCR model: the model, how many
    plates (``--<count>``), and their seed."""
    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        command = click.option("--seed", type=int, default=seed, show_default=True)(command)
        command = click.option(f"--{count}", type=click.IntRange(minimum), default=default, show_default=True,
                               help="synthetic plates to read")(command)
        return click.option("--model", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
                            help=f"{model_help} (default: the shipped one)")(command)
    return decorate


@train_group.command("confusions")
@_synthetic_plates_options("crops", 20000, 1, 12345, "plate OCR ONNX model")
def confusions_command(model: Path | None, crops: int, seed: int) -> None:
    """Measure the look-alike weights of formats.CONFUSION_PAIRS for an OCR model on fresh synthetic plates."""
    from numberplate.formats.correct import CONFUSION_PAIRS
    from numberplate.recognition.platenet_ocr import PlateOcrRecognizer
    from numberplate.train.ocr.confusions import measure

    rates = measure(PlateOcrRecognizer(model), [(a, b) for a, b, _ in CONFUSION_PAIRS], crops, seed)
    click.echo("pair  now    a-for-b         b-for-a         weight")
    for (_, _, now), r in zip(CONFUSION_PAIRS, rates):
        click.echo(f"{r.a}/{r.b}   {now:<6.3f} {r.a_for_b:5d} ({r.ratio_a_for_b:.3f})"
                   f"  {r.b_for_a:5d} ({r.ratio_b_for_a:.3f})  {r.weight:.3f}")


def _record_calibration(model_path: Path, entry: dict) -> None:
    """Write ``entry`` as ``confidence_calibration`` into the JSON beside ``model_path`` (its checksum stays)."""
    meta_path = model_path.with_suffix(".json")
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    meta["confidence_calibration"] = entry
    meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    click.echo(f"wrote the calibration into {meta_path}")


@train_group.command("calibrate-ocr")
@_synthetic_plates_options("plates", 2000, 100, 4242, "plate OCR ONNX model whose JSON gets the calibration")
@click.option("--fallback/--no-fallback", default=True, show_default=True,
              help="also calibrate RapidOCR's readings that win in the plateocr+rapidocr cascade")
@click.option("--dry-run", is_flag=True, help="print the fit, write nothing")
def calibrate_ocr_command(model: Path | None, plates: int, seed: int, fallback: bool, dry_run: bool) -> None:
    """Fit the OCR's confidence calibration on fresh synthetic plates and record it in the model's JSON."""
    from numberplate.errors import NumberplateError
    from numberplate.recognition import create_recognizer
    from numberplate.recognition.platenet_ocr import DEFAULT_MODEL, PlateOcrRecognizer
    from numberplate.train.ocr.calibrate import fit_ocr_calibration

    path = model or DEFAULT_MODEL
    with reported(ValueError, NumberplateError):  # e.g. a barely trained model: no fit with a positive slope
        fit = fit_ocr_calibration(PlateOcrRecognizer(path), plates, seed,
                                  fallback=(lambda: create_recognizer("rapidocr")) if fallback else None)
    click.echo(f"{fit.plates} synthetic plates, {fit.exact:.3f} read exactly; calibration a={fit.calibration.a:.3f} "
               f"b={fit.calibration.b:.3f}: ECE {fit.ece_before:.3f} -> {fit.ece_after:.3f}")
    click.echo(f"fallback: {fit.fallback_wins} winning readings; a={fit.fallback.a:.3f} b={fit.fallback.b:.3f}: "
               f"ECE {fit.fallback_ece_before:.3f} -> {fit.fallback_ece_after:.3f}")
    if not dry_run:
        _record_calibration(path, fit.to_dict(seed))


@train_group.command("calibrate-detector")
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=Path("../shared/data/detect/labels.csv"), show_default=True,
              help="detect labels CSV whose train scenes are read")
@click.option("--scenes", type=click.IntRange(50), default=1000, show_default=True,
              help="train scenes, spread over every source")
@click.option("--detector-model", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="detector ONNX model whose JSON gets its calibration (default: the shipped one)")
@click.option("--verifier-model", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="verifier ONNX model whose JSON gets the verified score's calibration (default: the shipped one)")
@click.option("--dry-run", is_flag=True, help="print the fit, write nothing")
def calibrate_detector_command(data: Path, scenes: int, detector_model: Path | None, verifier_model: Path | None,
                               dry_run: bool) -> None:
    """Fit the detection confidences' calibration on train scenes and record it in the models' JSON."""
    from numberplate.detection.platenet import DEFAULT_MODEL
    from numberplate.detection.verify import DEFAULT_VERIFIER
    from numberplate.errors import NumberplateError
    from numberplate.train.detect.calibrate import DEFAULT_FLOOR, fit_detector_calibration

    with reported(ValueError, NumberplateError):  # e.g. a barely trained model: no fit with a positive slope
        fits = fit_detector_calibration(data, scenes, detector_model, verifier_model)
    for name, fit, path in (("detector", fits[0], detector_model or DEFAULT_MODEL),
                            ("verified", fits[1], verifier_model or DEFAULT_VERIFIER)):
        click.echo(f"{name}: {fit.detections} detections >= {DEFAULT_FLOOR}, {fit.precision:.3f} right; "
                   f"a={fit.calibration.a:.3f} b={fit.calibration.b:.3f}: "
                   f"ECE {fit.ece_before:.3f} -> {fit.ece_after:.3f}")
        if not dry_run:
            _record_calibration(path, fit.to_dict(scenes, DEFAULT_FLOOR))
