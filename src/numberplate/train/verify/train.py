"""Training loop for the plate verifier: balanced batches, held-out scenes for the threshold, checkpoints, --resume."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F
from tqdm import tqdm

from numberplate.detection.verify import DEFAULT_WEIGHT
from numberplate.evaluation.detection import ImageResult, average_precision, threshold_sweep
from numberplate.train.common import (
    append_csv,
    epochs_within,
    load_weights,
    plot_metrics,
    refuse_other_run,
    resume_checkpoint,
    resumed_schedule,
    save_atomic,
    warmup_cosine,
)
from numberplate.train.verify.data import DETECTED, Repaint, Windows, collect_windows, cut, invert_plate
from numberplate.train.verify.model import VerifierNet

log = logging.getLogger(__name__)

PAINT_SEED = 7331  # not eval detect --synthetic-plates' seed: those plates are never trained on
HELD_OUT_EVERY = 7  # every 7th train scene is held out: the operating threshold is chosen on them
SWEEP = np.round(np.arange(0.30, 0.801, 0.025), 3).tolist()
# The options that decide which windows are cut: a cache cut with other values is cut again.
WINDOW_OPTIONS = ("data", "detector", "candidate_threshold", "synthetic_plates", "square_plates", "dark_plates",
                  "limit", "seed")


@dataclass
class VerifierTrainConfig:
    """Everything that defines a verifier training run (saved inside each checkpoint)."""

    data: str = "../shared/data/detect/labels.csv"
    out: str = "runs/verify"
    detector: str | None = None  # ONNX detector that finds the candidates; default: the shipped one
    candidate_threshold: float = 0.1
    epochs: int = 20
    batch: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_epochs: float = 1.0
    weight: float = DEFAULT_WEIGHT  # score = detector score * p ** weight
    synthetic_plates: bool = True  # every labelled plate once more painted over with a rendered one
    square_plates: bool = True  # ... and once more with a two-line plate over the box grown to its shape
    dark_plates: bool = False  # ... and once more with a light-on-dark design (the shape of the box decides which)
    invert_plates: float = 0.0  # share of training windows (plates and not) whose box is put in negative
    threads: int = 1
    limit: int | None = None
    seed: int = 0
    minutes: float | None = None


def rescored(windows: Windows, probs: np.ndarray, weight: float) -> list[ImageResult]:
    """One :class:`ImageResult` per scene of ``windows`` with its detections scored ``score * p ** weight``."""
    out = []
    for sid in np.unique(windows.scene):
        _, source, gt = windows.scenes[sid]
        mine = (windows.scene == sid) & (windows.kind == DETECTED)
        scores = (windows.scores[mine] * probs[mine] ** weight).astype(np.float32)
        out.append(ImageResult(gt, windows.boxes[mine], scores, source))
    # Scenes without any window (nothing found, nothing labelled) change nothing here.
    return out


def held_out_metrics(windows: Windows, probs: np.ndarray, weight: float, name: str = "verified") -> dict[str, float]:
    """AP50 and the max-F1 threshold (with its P, R) on held-out scenes of the scores ``score * p ** weight``,
    as ``{name}_ap50``...; with ``weight`` 0, the detector's own scores."""
    results = rescored(windows, probs, weight)
    t, p, r, f1 = max(threshold_sweep(results, SWEEP), key=lambda x: x[3])
    return {f"{name}_ap50": average_precision(results, 0.5), f"{name}_f1": f1, f"{name}_threshold": t,
            f"{name}_precision": p, f"{name}_recall": r}


@torch.no_grad()
def predict(model: VerifierNet, windows: Windows, batch: int = 256) -> np.ndarray:
    """Plate probabilities of every window (centre cuts)."""
    model.eval()
    out = [torch.sigmoid(model(torch.from_numpy(np.stack([cut(w) for w in windows.images[i:i + batch]])))).numpy()
           for i in range(0, len(windows), batch)]
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def load_windows(cfg: VerifierTrainConfig, cache: Path) -> Windows:
    """The train windows, cut once and cached in ``cache`` (a resumed run reads them back; a cache cut with other
    :data:`WINDOW_OPTIONS` is cut again)."""
    settings = json.dumps({k: getattr(cfg, k) for k in WINDOW_OPTIONS}, sort_keys=True)
    if cache.exists():
        z = np.load(cache, allow_pickle=True)
        if "settings" in z and str(z["settings"]) == settings:
            return Windows(z["images"], z["labels"], z["kind"], z["scene"], z["boxes"], z["scores"],
                           list(z["scenes"]))
        log.info("%s was cut with other options: cutting the windows again", cache)
    from numberplate.detection.platenet import PlateNetDetector
    from numberplate.recognition import create_recognizer
    from numberplate.train.detect.data import iter_scenes, read_labels

    repaints: list[Repaint] = []
    if cfg.synthetic_plates or cfg.square_plates or cfg.dark_plates:
        from numberplate.train.synth import check_fonts
        from numberplate.train.synth.composite import paint_plates

        check_fonts()
        rng = np.random.default_rng((PAINT_SEED, cfg.seed))
        if cfg.synthetic_plates:
            repaints.append(lambda image, boxes: paint_plates(rng, image, boxes))
        if cfg.square_plates:
            repaints.append(lambda image, boxes: paint_plates(rng, image, boxes, square=True))
        if cfg.dark_plates:
            repaints.append(lambda image, boxes: paint_plates(rng, image, boxes, dark=True))

    total = min(len(read_labels(Path(cfg.data), "train")), cfg.limit or 10**9)
    # Scenes at their stored size (max_side None), as the detector sees them at inference.
    scenes = tqdm(iter_scenes(Path(cfg.data), "train", max_side=None, limit=cfg.limit), total=total,
                  desc="cutting windows", mininterval=5)
    windows = collect_windows(scenes, PlateNetDetector(cfg.detector, threshold=cfg.candidate_threshold,
                                                       intra_op_threads=cfg.threads),
                              create_recognizer("plateocr"), repaints=repaints)
    scenes_table = np.empty(len(windows.scenes), object)
    scenes_table[:] = windows.scenes
    tmp = cache.with_suffix(".tmp.npz")
    np.savez(tmp, images=windows.images, labels=windows.labels, kind=windows.kind, scene=windows.scene,
             boxes=windows.boxes, scores=windows.scores, scenes=scenes_table, settings=np.array(settings))
    tmp.replace(cache)
    return windows


def train(cfg: VerifierTrainConfig, resume: bool = False) -> Path:
    """Train (or resume) the verifier; returns the path of the last checkpoint (with its held-out threshold)."""
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    last = out / "last.pt"
    refuse_other_run(last, resume)
    ck = resume_checkpoint(last, asdict(cfg), ()) if resume and last.exists() else None  # checked before any work
    t0 = time.time()
    windows = load_windows(cfg, out / "windows.npz")
    scene_ids = np.arange(len(windows.scenes))
    held = windows.subset(scene_ids[scene_ids % HELD_OUT_EVERY == 0])
    fit = windows.subset(scene_ids[scene_ids % HELD_OUT_EVERY != 0])
    pos, neg = np.flatnonzero(fit.labels == 1), np.flatnonzero(fit.labels == 0)
    if not len(pos) or not len(neg):
        raise ValueError(f"need plates and non-plates to train on; got {len(pos)} and {len(neg)} windows")
    log.info("%d windows (%d plates, %d not) from %d scenes in %.0fs; %d scenes held out", len(fit), len(pos),
             len(neg), len(windows.scenes), time.time() - t0, len(np.unique(held.scene)))

    model = VerifierNet()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    start_epoch, epochs = 0, cfg.epochs
    if ck is not None:
        load_weights(model, ck["model"], last, "the verifier")
        opt.load_state_dict(ck["optimizer"])
        start_epoch = ck["epoch"] + 1
        epochs = resumed_schedule(ck, cfg.epochs, cfg.minutes, start_epoch)
        log.info("resumed from %s at epoch %d", last, start_epoch)
    # The detector alone on the held-out scenes, the baseline of every epoch's row.
    baseline = held_out_metrics(held, np.ones(len(held), np.float32), 0.0, "detector")
    steps = max(1, 2 * len(neg) // cfg.batch)
    half = cfg.batch // 2
    run_start = time.time()
    for epoch in range(start_epoch, cfg.epochs):
        if epoch >= epochs:
            break
        rng = np.random.default_rng((cfg.seed, epoch))
        model.train()
        loss_sum, lr, t_epoch = 0.0, cfg.lr, time.time()
        bar = tqdm(range(steps), desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False, mininterval=5)
        for i in bar:
            lr = warmup_cosine(cfg.lr, epoch + i / steps, epochs, cfg.warmup_epochs)
            for g in opt.param_groups:
                g["lr"] = lr
            idx = np.concatenate([rng.choice(pos, half), rng.choice(neg, cfg.batch - half)])
            # Inverted as often whatever the label, so a negative box is no clue: dark boards can be plates. No
            # draw without inversion, so runs without it keep the random stream (and results) they had.
            x = torch.from_numpy(np.stack([
                cut(invert_plate(fit.images[j]) if cfg.invert_plates > 0 and rng.random() < cfg.invert_plates
                    else fit.images[j], rng)
                for j in idx]))
            loss = F.binary_cross_entropy_with_logits(model(x), torch.from_numpy(fit.labels[idx]))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item()
            bar.set_postfix(loss=f"{loss_sum / (i + 1):.3f}", refresh=False)
        row: dict[str, Any] = {"epoch": epoch + 1, "lr": lr, "loss": loss_sum / steps,
                               "seconds": round(time.time() - t_epoch, 1),
                               **held_out_metrics(held, predict(model, held), cfg.weight), **baseline}
        if cfg.minutes:
            epochs = epochs_within(cfg.minutes * 60, time.time() - run_start, epoch + 1 - start_epoch, start_epoch,
                                   cfg.epochs)
        state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch,
                 "config": asdict(cfg) | {"epochs": epochs}, "metrics": row,
                 "epoch_seconds": (time.time() - run_start) / (epoch + 1 - start_epoch)}
        save_atomic(state, last)  # a kill mid-save never corrupts last.pt
        append_csv(out / "metrics.csv", row)
        log.info("epoch %d: %s", epoch + 1, {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()})
        plot_metrics(out / "metrics.csv", out / "metrics.png", ("loss",),
                     ("verified_ap50", "verified_f1", "detector_ap50", "detector_f1"))
    return last
