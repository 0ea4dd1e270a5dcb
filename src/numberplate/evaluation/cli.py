"""`numberplate eval ...`: accuracy tables of the shipped (or given) models on a labelled split."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import click
import numpy as np

from numberplate.clitypes import FiniteFloatRange
from numberplate.config import MAX_DETECTOR_SIDE
from numberplate.errors import NumberplateError

if TYPE_CHECKING:
    from numberplate.datasets.labels import LabelledImage

DEFAULT_DETECT_LABELS = Path("../shared/data/detect/labels.csv")
# --side: config detector_side's rule (a multiple of 32, at least 64), and a bound that keeps the network's
# input tensor allocatable.
MIN_SIDE, MAX_SIDE = 64, MAX_DETECTOR_SIDE  # the rule of config detector_side


def _side(ctx: click.Context, param: click.Parameter, value: int) -> int:
    """``--side`` checked as config checks ``detector_side``: the network's strides need a multiple of 32."""
    if value % 32:
        raise click.BadParameter(f"{value} is not a multiple of 32; the detector's input side must be one "
                                 f"({MIN_SIDE}-{MAX_SIDE}, e.g. 640)")
    return value


def _warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


def _check_images(items: list[tuple[Path, str]]) -> list[tuple[int, int]]:
    """The decoded size of each ``(image, "labels.csv:line")``, every one checked before any work is done.

    Raises:
        click.ClickException: an image is missing, a folder or not an image; the message names its row.
    """
    from numberplate.datasets.labels import check_image
    from numberplate.errors import DatasetError

    try:
        return [check_image(image, where) for image, where in items]
    except DatasetError as e:
        raise click.ClickException(str(e)) from e


def _load(image: Path, where: str) -> np.ndarray:
    """:func:`~numberplate.imaging.load_image`, its errors as one line naming the labels row."""
    from numberplate.errors import ImageError
    from numberplate.imaging import load_image

    try:
        return load_image(image)
    except (ImageError, OSError) as e:
        raise click.ClickException(f"{where}: {e}") from e


@click.group("eval")
def eval_group() -> None:
    """Evaluate models on labelled data and print metric tables."""


def format_detection_table(table: dict, threshold: float) -> str:
    """A fixed-width text table of per-source detection metrics."""
    head = (f"{'source':<10} {'images':>6} {'plates':>6} {'P@thr':>7} {'R@thr':>7} {'AP50':>7} {'AP50:95':>8}"
            f" {'FP/neg':>7} {'ECE':>6}")
    lines = [f"threshold {threshold:.2f}, IoU 0.5 for P/R; ECE = calibration error of the kept detections' confidences",
             head, "-" * len(head)]
    for source, m in table.items():
        fp = "-" if m.fp_per_negative is None else f"{m.fp_per_negative:.3f}"
        ap = "-" if np.isnan(m.ap50) else f"{m.ap50:.4f}"
        ap95 = "-" if np.isnan(m.ap50_95) else f"{m.ap50_95:.4f}"
        rec = "-" if np.isnan(m.recall) else f"{m.recall:.4f}"
        ece = "-" if np.isnan(m.calibration_error) else f"{m.calibration_error:.3f}"
        lines.append(f"{source:<10} {m.images:>6} {m.plates:>6} {m.precision:>7.4f} {rec:>7} {ap:>7} {ap95:>8} {fp:>7}"
                     f" {ece:>6}")
    return "\n".join(lines)


SYNTHETIC_PLATES_SEED = 2026


@contextmanager
def _training_extra(option: str) -> Iterator[None]:
    """Turn a missing training extra (or its fonts) inside the block into a clear error naming ``option``."""
    try:
        yield
    except ImportError as e:
        raise click.ClickException(f"{option} needs the training extra (pip install numberplate[train]): {e}") from e
    except NumberplateError as e:
        raise click.ClickException(str(e)) from e


Painter = Callable[[np.random.Generator, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
"""``(rng, image, boxes) -> (painted image, its plate boxes)``."""


def _plate_painter(square: bool = False, dark: bool = False) -> Painter:
    """What paints a scene's plates over: ``train.synth.composite.paint_plates`` (square plates with
    ``square``, light-on-dark designs with ``dark``), or a clear error when the training extra or its fonts
    are missing."""
    with _training_extra("--square-plates" if square else "--dark-plates" if dark else "--synthetic-plates"):
        from numberplate.train.synth import check_fonts
        from numberplate.train.synth.composite import paint_plates
        check_fonts()
    return partial(paint_plates, square=square, dark=dark)


@eval_group.command("detect")
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=DEFAULT_DETECT_LABELS,
              show_default=True, help="detect labels CSV")
@click.option("--split", default="val", show_default=True, help="split to evaluate (never train on it)")
@click.option("--model", "--detector-model", "model", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="ONNX detector (default: the shipped one; --detector-model as in eval e2e)")
@click.option("--side", type=click.IntRange(MIN_SIDE, MAX_SIDE), callback=_side, default=640, show_default=True,
              help="network input long side: a multiple of 32 (as config detector_side)")
@click.option("--threshold", type=FiniteFloatRange(0, 1, min_open=True), default=None,
              help="operating threshold on the reported (calibrated) confidence, in (0, 1] (default: the model's)")
@click.option("--no-tiles", is_flag=True, help="disable the second pass on tiles for large images")
@click.option("--flip", is_flag=True, help="also detect on the mirrored image and average (config detector_flip)")
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="score each detection again with the plate verifier, as the Reader does (config verify_detections)")
@click.option("--verifier-model", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="ONNX plate verifier (default: the shipped one)")
@click.option("--limit", type=click.IntRange(1), default=None, help="first N images only")
@click.option("--sample", type=click.IntRange(1), default=None,
              help="N images spread evenly over the split (every source), instead of all")
@click.option("--skip-conflicts", is_flag=True,
              help="leave out images whose label rows disagree on their size (the train split has one)")
@click.option("--sweep", is_flag=True,
              help="also print precision, recall and F1 at thresholds 0.30-0.80 (choose the threshold on train)")
@click.option("--synthetic-plates", is_flag=True,
              help="paint every labelled plate over with a rendered plate of another country (same seed every "
                   "run; needs the [train] extra and its fonts): how the detector does on designs the data lacks")
@click.option("--square-plates", is_flag=True,
              help="paint every labelled plate over with a square (two-line, motorcycle) plate, over the box grown "
                   "to its shape, which becomes the label (as --synthetic-plates): how it does on square plates")
@click.option("--dark-plates", is_flag=True,
              help="paint every labelled plate over with a light-on-dark design of its shape (classic UK, "
                   "Malaysian, ...; as --synthetic-plates): how it does on dark plates")
@click.option("--scale", type=FiniteFloatRange(0.1, 8.0), default=1.0, show_default=True,
              help="resize every scene by this factor first (labels too): 5 makes the val scenes phone-photo "
                   "sized, with big plates the tiles see up close")
@click.option("--mosaic", type=click.IntRange(1, 6), default=1, show_default=True,
              help="evaluate N x N mosaics of consecutive scenes at their own scale instead (source 'mosaic'): "
                   "large images with small plates, as from a 4K camera")
@click.option("--ignore", "ignore_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="CSV (image,xmin,ymin,xmax,ymax,note) of plates the labels leave out: detections on them are "
                   "neither right nor wrong (data/detect/val_unboxed.csv: an audit of the val false positives)")
@click.option("--errors", "show_errors", is_flag=True,
              help="also list every missed plate and every false positive at the operating threshold")
@click.option("--json", "as_json", is_flag=True, help="print the table as JSON")
def eval_detect(data: Path, split: str, model: Path | None, side: int, threshold: float | None, no_tiles: bool,
                flip: bool, verify: bool, verifier_model: Path | None, limit: int | None, sample: int | None,
                skip_conflicts: bool, sweep: bool, synthetic_plates: bool, square_plates: bool, dark_plates: bool,
                scale: float, mosaic: int, ignore_csv: Path | None, show_errors: bool, as_json: bool) -> None:
    """Precision/recall at the operating threshold, AP50, AP50:95 and FP per negative image, per source.

    Every image is checked before any is read: a missing one, a folder or a file that is not an image is
    an error naming its labels row; an image whose size is not the one its labels state (a replaced
    picture) is left out with a warning.
    """
    import cv2

    from numberplate.datasets.labels import default_root, read_labels, relative_name
    from numberplate.detection.base import Detector
    from numberplate.detection.platenet import PlateNetDetector, operating_threshold
    from numberplate.detection.postprocess import box_array
    from numberplate.detection.verify import PlateVerifier, VerifiedDetector
    from numberplate.errors import DatasetError, ModelLoadError
    from numberplate.evaluation.detection import (
        ImageResult,
        drop_ignored,
        list_errors,
        read_ignore_boxes,
        summarize_by_source,
        threshold_sweep,
    )
    if ignore_csv is not None and mosaic > 1:
        raise click.UsageError("--ignore works on single scenes, not with --mosaic")
    try:
        root = default_root(data)
        records = read_labels(data, root, split=split, skip_conflicts=skip_conflicts)[:limit]
        if sample is not None and sample < len(records):
            records = [records[i] for i in np.linspace(0, len(records) - 1, sample).round().astype(int)]
        ignore = read_ignore_boxes(ignore_csv) if ignore_csv is not None else {}
    except DatasetError as e:
        raise click.ClickException(str(e)) from e
    if not records:
        raise click.ClickException(f"no images of split {split!r} in {data}")
    records = _same_size(records, _check_images([(r.image, f"{data}:{r.line}") for r in records]), root)
    if not records:
        raise click.ClickException(f"{data}: no image of split {split!r} is the size its labels state")
    # Every detection down to 0.05 is scored, for the AP; P/R are counted at the operating threshold.
    try:
        detector = PlateNetDetector(model, side=side, threshold=0.05, tile_large_images=not no_tiles, flip=flip)
        det: Detector = detector
        own, calibration = operating_threshold(model), detector.calibration
        if verify:
            verifier = PlateVerifier(verifier_model)
            det, own, calibration = VerifiedDetector(det, verifier, 0.0), float(verifier.threshold or own), \
                verifier.calibration
    except ModelLoadError as e:
        raise click.ClickException(str(e)) from e
    # The scores are the reported, calibrated confidences: the operating threshold is turned into their scale.
    thr = threshold if threshold is not None else calibration(own)
    painters = synthetic_plates + square_plates + dark_plates
    if painters > 1:
        raise click.UsageError("choose one of --synthetic-plates, --square-plates and --dark-plates")
    repaint = _plate_painter(square_plates, dark_plates) if painters else None
    results = []
    t0 = time.perf_counter()
    def scene(index: int) -> tuple[np.ndarray, np.ndarray]:
        rec = records[index]
        gt = box_array(b.box for b in rec.boxes)
        image = _load(rec.image, f"{data}:{rec.line}")
        if repaint is not None:
            image, gt = repaint(np.random.default_rng((SYNTHETIC_PLATES_SEED, index)), image, gt)
        if scale != 1.0:
            image = cv2.resize(image, None, fx=scale, fy=scale,
                               interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)
            gt = gt * scale
        return image, gt

    groups = [list(range(i, min(i + mosaic * mosaic, len(records)))) for i in range(0, len(records), mosaic * mosaic)]
    with click.progressbar(groups, label=f"detecting ({split})", file=sys.stderr) as bar:
        for group in bar:
            image, gt = _mosaic([scene(i) for i in group], mosaic) if mosaic > 1 else scene(group[0])
            dets = det.detect(image)
            scores = np.array([d.confidence for d in dets], np.float32)
            source = "mosaic" if mosaic > 1 else records[group[0]].source
            name = relative_name(records[group[0]].image, root) + (f" (mosaic of {len(group)})" if mosaic > 1 else "")
            result = ImageResult(gt, box_array(d.box for d in dets), scores, source, name)
            results.append(drop_ignored(result, ignore[name] * scale) if name in ignore else result)
    ms = (time.perf_counter() - t0) * 1000 / max(len(results), 1)
    table = summarize_by_source(results, thr)
    rows = threshold_sweep(results, np.round(np.arange(0.30, 0.81, 0.05), 2).tolist()) if sweep else []
    errors = list_errors(results, thr) if show_errors else []
    if as_json:
        extra = {"sweep": [dict(zip(("threshold", "precision", "recall", "f1"), row)) for row in rows]} if sweep else {}
        extra |= {"errors": errors} if show_errors else {}
        click.echo(json.dumps({k: v.to_dict() for k, v in table.items()} | {"threshold": thr, "ms_per_image": ms}
                              | extra))
        return
    click.echo(format_detection_table(table, thr))
    click.echo(f"{len(results)} images, {ms:.1f} ms/image (incl. decoding)")
    for error in errors:
        what = "missed" if error["kind"] == "missed" else "false positive"
        score = "" if error["score"] is None else f" (score {error['score']:.2f})"
        click.echo(f"{error['source']:<10} {error['image']:<50} {what:<15} {error['box']}{score}")
    if rows:
        best = max(rows, key=lambda row: row[3])
        click.echo("threshold  precision  recall      F1")
        for t, p, r, f1 in rows:
            click.echo(f"{t:>9.2f} {p:>10.4f} {r:>7.4f} {f1:>7.4f}{'  <- max F1' if t == best[0] else ''}")


def _same_size(records: list[LabelledImage], sizes: list[tuple[int, int]], root: Path) -> list[LabelledImage]:
    """``records`` without those whose labels state another size than their image's (their boxes are for another
    picture: a replaced file), with a warning, as training drops them."""
    from numberplate.datasets.labels import relative_name

    stale = [(r, size) for r, size in zip(records, sizes, strict=True) if (r.width, r.height) != size]
    if stale:
        names = ", ".join(f"{relative_name(r.image, root)} (line {r.line}: {r.width}x{r.height}, the image is "
                          f"{w}x{h})" for r, (w, h) in stale[:3])
        _warn(f"left out {len(stale)} image(s) labelled for another image size, with their "
              f"{sum(len(r.boxes) for r, _ in stale)} box(es): {names}{' ...' if len(stale) > 3 else ''}")
    return [r for r, size in zip(records, sizes, strict=True) if (r.width, r.height) == size]


def _mosaic(scenes: list[tuple[np.ndarray, np.ndarray]], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Scenes side by side in an n x n grid of cells as big as the largest (grey where they are smaller),
    each at its own scale; their boxes moved with them."""
    cell_h, cell_w = max(im.shape[0] for im, _ in scenes), max(im.shape[1] for im, _ in scenes)
    canvas = np.full((cell_h * n, cell_w * n, 3), 114, np.uint8)
    boxes = []
    for k, (im, gt) in enumerate(scenes):
        y, x = (k // n) * cell_h, (k % n) * cell_w
        canvas[y:y + im.shape[0], x:x + im.shape[1]] = im
        boxes.append(gt + np.array([x, y, x, y], np.float32))
    return canvas, np.concatenate(boxes).reshape(-1, 4)


DEFAULT_OCR_LABELS = Path("../shared/data/ocr/labels.csv")


def format_ocr_table(results: list[dict]) -> str:
    """Exact match / truth among candidates / character accuracy / no read / mean confidence / calibration
    error / ms per plate, per source and backend."""
    width = max([10, *(len(r["backend"]) for r in results)])
    sources = [*sorted({s for r in results for s in r["by_source"]}), "overall"]
    sw = max(10, *(len(s) for s in sources))
    head = (f"{'source':<{sw}} {'backend':<{width}} {'plates':>6} {'exact':>7} {'in cand':>7} {'char acc':>8}"
            f" {'no read':>7} {'conf':>6} {'ECE':>6} {'ms/plate':>8}")
    lines = [head, "-" * len(head)]
    for source in sources:
        for r in results:
            m = r["overall"] if source == "overall" else r["by_source"].get(source)
            if m is None:
                continue
            lines.append(f"{source:<{sw}} {r['backend']:<{width}} {m['plates']:>6} {m['exact']:>7.3f}"
                         f" {m['in_candidates']:>7.3f} {m['char_accuracy']:>8.3f} {m['no_read']:>7.3f}"
                         f" {m['mean_confidence']:>6.3f} {m['calibration_error']:>6.3f} {m['ms_per_plate']:>8.1f}")
    lines.append("conf = mean confidence of the top reading; ECE = its expected calibration error against exact"
                 " reads (10 bins; 0 = calibrated)")
    return "\n".join(lines)


@eval_group.command("ocr")
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=DEFAULT_OCR_LABELS,
              show_default=True, help="OCR labels CSV (image,text,country,source,split)")
@click.option("--split", default="val", show_default=True)
@click.option("--backend", "backends", multiple=True,
              help="backend(s) to compare (repeatable); default: every available backend")
@click.option("--no-country", is_flag=True, help="do not pass the labelled country as a hint")
@click.option("--rectify", is_flag=True, help="deskew every crop from its own edges first")
@click.option("--limit", type=click.IntRange(1), default=None, help="first N crops only")
@click.option("--errors", "show_errors", is_flag=True, help="also list every crop a backend did not read exactly")
@click.option("--corrections", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="CSV (image,text,note) of labels that disagree with their crops: the text read instead (empty: "
                   "the crop shows no plate, left out); data/ocr/val_corrections.csv: an audit of the val misreads")
@click.option("--ocr-model", type=click.Path(exists=True, dir_okay=False), default=None,
              help="ONNX model for the plateocr backend (default: the shipped one)")
@click.option("--synthetic", type=click.IntRange(1), default=None, metavar="N",
              help="read N freshly rendered plates of every synthetic layout instead (source = layout; needs the "
                   "training extra): where the OCR is weak, e.g. two-line layouts")
@click.option("--json", "as_json", is_flag=True, help="print the results as JSON")
def eval_ocr(data: Path, split: str, backends: tuple[str, ...], no_country: bool, rectify: bool, limit: int | None,
             show_errors: bool, corrections: Path | None, ocr_model: str | None, synthetic: int | None,
             as_json: bool) -> None:
    """Exact-match and character accuracy per source for each OCR backend, in one run on the same crops.

    Label texts are compared as readers write plates (upper case, no spaces or separators). Every crop is
    checked before any is read: a missing one, a folder, a file that is not an image or a country without
    plate patterns is an error naming its labels row.
    """
    from dataclasses import replace

    from numberplate.errors import NumberplateError
    from numberplate.evaluation.ocr import (
        corrected,
        default_ocr_root,
        evaluate_recognizer,
        read_corrections,
        read_ocr_labels,
        synthetic_ocr_samples,
    )
    from numberplate.recognition import available_backends, create_recognizer

    if synthetic:
        with _training_extra("--synthetic"):
            samples = synthetic_ocr_samples(synthetic)[:limit]
        names = [f"{s.source}#{i % synthetic}" for i, s in enumerate(samples)]
    else:
        try:
            samples = read_ocr_labels(data, split=split)[:limit]
            if corrections is not None:
                samples = corrected(samples, read_corrections(corrections), default_ocr_root(data))
        except NumberplateError as e:
            raise click.ClickException(str(e)) from e
        if not samples:
            raise click.ClickException(f"no crops of split {split!r} in {data}")
        _check_images([(s.image, f"{data}:{s.line}") for s in samples if isinstance(s.image, Path)])
        names = [str(s.image) for s in samples]
    # Decode once; every backend reads the very same arrays.
    from numberplate.recognition.rectify import deskew

    level = deskew if rectify else (lambda crop: crop)
    samples = [replace(s, image=level(_load(s.image, f"{data}:{s.line}") if isinstance(s.image, Path) else s.image),
                       country=None if no_country else s.country)
               for s in samples]
    results = []
    for name in backends or available_backends():
        try:
            recognizer = create_recognizer(name, plateocr_model=ocr_model)
        except NumberplateError as e:
            if backends:
                raise click.ClickException(str(e)) from e
            click.echo(f"skipping {name}: {e}", err=True)
            continue
        result = evaluate_recognizer(recognizer, samples, with_reads=show_errors)
        if show_errors:
            result["errors"] = [{"image": path, **read} for path, read in zip(names, result.pop("reads"))
                                if read["predicted"] != read["truth"]]
        results.append(result)
    if as_json:
        click.echo(json.dumps(results, ensure_ascii=False))
        return
    click.echo(format_ocr_table(results))
    for result in results if show_errors else ():
        for miss in result["errors"]:
            found = " (in candidates)" if miss["in_candidates"] else ""
            click.echo(f"{result['backend']:<18} {miss['source']:<8} {miss['image']:<44} truth {miss['truth']:<10} "
                       f"read {miss['predicted'] or '-':<10} {miss['confidence']:.2f}{found}")


DEFAULT_E2E_LABELS = Path("data/e2e/labels.csv")
DEFAULT_DATA_ROOT = Path("../shared/data")


def format_e2e_table(table: dict[str, dict], jitter: int = 0) -> str:
    """A fixed-width text table of per-source end-to-end metrics (with ``jitter``: ``stable`` and ``soft`` too)."""
    head = (f"{'source':<10} {'images':>6} {'plates':>6} {'detected':>8} {'read':>7} {'read|det':>8} {'chars':>7}"
            f" {'false':>6} {'ECE':>6} {'ms/img':>7}" + (f" {'stable':>7} {'soft':>7}" if jitter else ""))
    lines = ["read = box IoU >= 0.5 and exact text; false = a read where no plate is known; ECE = calibration error"
             " of the detected plates' confidences", head, "-" * len(head)]
    if jitter:
        lines.insert(1, f"stable = read right from the detected box and from every box with its sides moved by "
                        f"up to {jitter} px; soft = the mean exact read over those boxes")
    for source, m in table.items():
        lines.append(
            f"{source:<10} {m['images']:>6} {m['plates']:>6} {m['detected']:>8.4f} {m['read']:>7.4f}"
            f" {m['read_if_detected']:>8.4f} {m['char_accuracy']:>7.4f} {m['false_reads']:>6}"
            f" {m['calibration_error']:>6.3f} {m['ms_per_image']:>7.1f}"
            + (f" {m['stable']:>7.4f} {m['soft']:>7.4f}" if jitter else "")
        )
    return "\n".join(lines)


@eval_group.command("e2e")
@click.option("--labels", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=DEFAULT_E2E_LABELS,
              show_default=True, help="e2e labels CSV (image,xmin,ymin,xmax,ymax,text,legible,source)")
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=DEFAULT_DATA_ROOT,
              show_default=True, help="folder the labels' image paths are relative to")
@click.option("--ocr", help="OCR backend (default from config)")
@click.option("--rectify/--no-rectify", default=None, help="deskew crops before reading (default from config)")
@click.option("--errors", "show_errors", is_flag=True, help="also list every plate not read exactly")
@click.option("--ocr-model", type=click.Path(exists=True, dir_okay=False), default=None,
              help="ONNX model for the plateocr backend (default: config ocr_model, else the shipped one)")
@click.option("--detector-model", type=click.Path(exists=True, dir_okay=False), default=None,
              help="ONNX detector (default: config detector_model, else the shipped one)")
@click.option("--verify/--no-verify", default=None,
              help="score detections again with the plate verifier (default from config verify_detections: on)")
@click.option("--verifier-model", type=click.Path(exists=True, dir_okay=False), default=None,
              help="ONNX plate verifier (default: config verifier_model, else the shipped one)")
@click.option("--jitter", type=click.IntRange(0, 50), default=0, show_default=True,
              help="also read each detected plate from --jitter-reads boxes with their sides moved by up to this "
                   "many px (the 'stable' column: how much the reads hang on the detector's box edges; 'soft': the "
                   "mean exact read over the box and them, steadier than 'read' for comparing models)")
@click.option("--jitter-reads", type=click.IntRange(1, 64), default=4, show_default=True,
              help="with --jitter, the moved boxes read per plate")
@click.option("--ignore", "ignore_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="CSV (image,xmin,ymin,xmax,ymax,note) of plates the labels leave out, as for eval detect: a read "
                   "of one is not a false read")
@click.option("--limit", type=click.IntRange(1), default=None,
              help="first N images of the labels only (every plate of each)")
@click.option("--json", "as_json", is_flag=True, help="print the table (and errors) as JSON")
def eval_e2e(labels: Path, root: Path, ocr: str | None, rectify: bool | None, show_errors: bool,
             ocr_model: str | None, detector_model: str | None, verify: bool | None, verifier_model: str | None,
             jitter: int, jitter_reads: int, ignore_csv: Path | None, limit: int | None, as_json: bool) -> None:
    """Detector + recogniser on whole scenes: plates detected, read exactly, false reads, per source.

    Every image the labels name is checked before any is read: a missing one, a folder or a file that is
    not an image is an error naming its row.
    """
    from numberplate.config import load_config
    from numberplate.datasets.labels import read_labels, relative_name
    from numberplate.errors import NumberplateError
    from numberplate.evaluation.detection import read_ignore_boxes
    from numberplate.evaluation.e2e import E2E_COLUMNS, E2eLabel, evaluate_e2e, read_e2e_labels
    from numberplate.pipeline import Reader
    from numberplate.types import BoundingBox

    try:
        rows = read_e2e_labels(labels)
    except NumberplateError as e:
        raise click.ClickException(str(e)) from e
    if limit is not None:
        first = set(list(dict.fromkeys(r.image for r in rows))[:limit])
        rows = [r for r in rows if r.image in first]
    if not rows:
        raise click.ClickException(f"{labels}: no labelled plates (only a header?); add rows "
                                   f"{','.join(E2E_COLUMNS)}")
    firsts: dict[str, E2eLabel] = {}  # each image's first row, to name in messages
    for label in rows:
        firsts.setdefault(label.image, label)
    sizes = dict(zip(firsts, _check_images([(root / f.image, f.where) for f in firsts.values()]), strict=True))
    try:
        reader = Reader(config=load_config(ocr=ocr, rectify=rectify, ocr_model=ocr_model,
                                           detector_model=detector_model, verify_detections=verify,
                                           verifier_model=verifier_model))
        known: dict[str, list] = {}
        detect_csv = root / "detect" / "labels.csv"
        stale = 0
        if detect_csv.is_file():
            # Every split's boxes: a picture the labels list twice may box its plate in its train row only.
            for record in read_labels(detect_csv, root=root, skip_conflicts=True):
                name = relative_name(record.image, root)
                if name in sizes and sizes[name] != (record.width, record.height):
                    stale += len(record.boxes)  # boxes of another picture, as training drops them
                    continue
                known.setdefault(name, []).extend(b.box for b in record.boxes)
        if stale:
            _warn(f"{detect_csv}: dropped {stale} box(es) labelled for another image size")
        for image, boxes in (read_ignore_boxes(ignore_csv) if ignore_csv is not None else {}).items():
            known.setdefault(image, []).extend(BoundingBox(*b) for b in boxes.tolist())
        table, records = evaluate_e2e(reader, rows, root, known, jitter=jitter, jitter_reads=jitter_reads)
    except NumberplateError as e:
        raise click.ClickException(str(e)) from e
    errors = [r for r in records if r["read"] != r["truth"]]
    if as_json:
        click.echo(json.dumps({"table": table, "errors": errors if show_errors else None}))
        return
    click.echo(format_e2e_table(table, jitter))
    if show_errors:
        for r in errors:
            note = f"  (false read: no known plate at {r['box']})" if r["false_read"] else \
                "" if r["detected"] else "  (not detected)"
            truth = r["truth"] or "-"
            click.echo(f"{r['source']:<10} {r['image']:<45} truth {truth:<10} read {r['read'] or '-'}{note}")
