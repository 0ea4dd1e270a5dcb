"""Training loop for PlateOCR: per-slot cross-entropy, EMA weights, per-epoch val exact match, checkpoints, --resume."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader
from tqdm import tqdm

from numberplate.recognition.alphabet import ALPHABET, MAX_SLOTS, decode
from numberplate.recognition.platenet_ocr import prepare, read_probs
from numberplate.train.common import (
    ModelEMA,
    append_csv,
    checkpoint_weights,
    epochs_within,
    load_init,
    load_weights,
    pick_device,
    plot_metrics,
    refuse_other_run,
    resume_checkpoint,
    resumed_schedule,
    save_atomic,
    warmup_cosine,
)
from numberplate.train.ocr.data import Crop, OcrDataset, load_crops
from numberplate.train.ocr.model import INPUT_HEIGHT, INPUT_WIDTH, PlateOCR, count_parameters
from numberplate.train.synth.layouts import LAYOUTS, with_multi_line_weight

log = logging.getLogger(__name__)


@dataclass
class OcrTrainConfig:
    """Everything that defines an OCR training run (saved inside each checkpoint)."""

    data: str = "../shared/data/ocr/labels.csv"
    out: str = "runs/ocr"
    epochs: int = 40
    batch: int = 128
    epoch_size: int = 20000
    real_fraction: float = 0.5
    multi_line_weight: float = 1.0  # factor on the synthetic two-line layouts' weights
    lr: float = 2e-3
    weight_decay: float = 0.01
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.05
    consistency: float = 0.0  # weight of the agreement loss between two views of each sample (0: one view)
    ema_decay: float = 0.999
    workers: int = 1
    threads: int = 1
    limit: int | None = None
    seed: int = 0
    height: int = INPUT_HEIGHT
    width: int = INPUT_WIDTH
    head: str = "attention"
    extra_data: tuple[str, ...] = ()
    device: str = "auto"
    minutes: float | None = None
    init: str | None = None
    extra: dict = field(default_factory=dict)


def build_model(cfg: dict[str, Any]) -> PlateOCR:
    """The PlateOCR a checkpoint's config describes."""
    return PlateOCR(input_size=(cfg.get("height", INPUT_HEIGHT), cfg.get("width", INPUT_WIDTH)),
                    head=cfg.get("head", "linear"))


def slot_loss(logits: torch.Tensor, target: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Mean cross-entropy over every slot (pad slots included: the model must learn where a plate ends)."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), label_smoothing=label_smoothing)


def consistency_loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Symmetric KL divergence between two readings' slot distributions (logits B x slots x symbols)."""
    la, lb = F.log_softmax(a, -1), F.log_softmax(b, -1)
    return 0.5 * ((la.exp() * (la - lb)).sum(-1).mean() + (lb.exp() * (lb - la)).sum(-1).mean())


@torch.no_grad()
def evaluate(model: torch.nn.Module, crops: list[Crop], size: tuple[int, int], batch: int = 64) -> dict[str, float]:
    """Exact match and character accuracy on crops prepared exactly as inference prepares them.

    Returns:
        ``exact`` (argmax text equals the label), ``exact_fmt`` (after ``formats.postprocess`` with the
        crop's country hint, as the recogniser reads), ``char_acc`` (label characters whose slot is
        right), and ``exact_<source>`` / ``exact_fmt_<source>`` per source.
    """
    model.eval()
    device = next(model.parameters()).device
    hits: dict[str, list[float]] = defaultdict(list)
    chars_right = chars_total = 0
    for i in range(0, len(crops), batch):
        chunk = crops[i:i + batch]
        images = [prepare(c.image, size) for c in chunk]
        x = np.stack([im if im is not None else np.zeros((*size, 3), np.uint8) for im in images])
        probs = torch.softmax(model(torch.from_numpy(x).to(device)), -1).cpu().numpy()
        for crop, p in zip(chunk, probs):
            text = decode(p.argmax(-1).tolist())
            read = read_probs(p, crop.country.split("-")[0] or None)
            fmt = read.text if read else ""
            for key, ok in (("exact", text == crop.text), ("exact_fmt", fmt == crop.text)):
                hits[key].append(float(ok))
                hits[f"{key}_{crop.source}"].append(float(ok))
            idx = p.argmax(-1)
            chars_right += sum(int(ALPHABET[j] == ch) for j, ch in zip(idx, crop.text))
            chars_total += len(crop.text)
    out = {k: float(np.mean(v)) for k, v in sorted(hits.items())}
    out["char_acc"] = chars_right / max(chars_total, 1)
    return out


def _collate(batch: list[dict[str, np.ndarray]]) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.stack([b[k] for b in batch])) for k in batch[0]}


def train(cfg: OcrTrainConfig, resume: bool = False) -> Path:
    """Train (or resume) the plate OCR model; returns the path of the best EMA checkpoint (by val exact match)."""
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    last, best = out / "last.pt", out / "best.pt"
    refuse_other_run(last, resume)
    size = (cfg.height, cfg.width)
    device = pick_device(cfg.device)
    model = build_model(asdict(cfg))
    if cfg.init and not (resume and last.exists()):
        load_init(model, Path(cfg.init))
    model.to(device)
    log.info("PlateOCR: %d parameters, input %dx%d, %d slots x %d symbols, training on %s",
             count_parameters(model), cfg.height, cfg.width, MAX_SLOTS, len(ALPHABET), device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    ema = ModelEMA(model, cfg.ema_decay, ramp=300.0)
    start_epoch, best_exact = 0, -1.0
    if resume and last.exists():
        ck = resume_checkpoint(last, asdict(cfg), ("height", "width", "head"), device)
        load_weights(model, ck["model"], last, "this OCR model")
        load_weights(ema.ema, checkpoint_weights(ck), last, "this OCR model")
        ema.updates = ck.get("ema_updates", 0)
        opt.load_state_dict(ck["optimizer"])
        start_epoch, best_exact = ck["epoch"] + 1, ck.get("best_exact", -1.0)
        log.info("resumed from %s at epoch %d", last, start_epoch)

    data = Path(cfg.data)
    t0 = time.time()
    train_crops = load_crops(data, "train", size, limit=cfg.limit)
    for extra in cfg.extra_data:
        more = load_crops(Path(extra), "train", size, limit=cfg.limit)
        log.info("%s: %d more train crops", extra, len(more))
        train_crops += more
    val_crops = load_crops(data, "val", size, limit=cfg.limit)
    log.info("decoded %d train / %d val crops in %.0fs", len(train_crops), len(val_crops), time.time() - t0)
    layouts = with_multi_line_weight(LAYOUTS, cfg.multi_line_weight)
    ds = OcrDataset(train_crops, size, cfg.epoch_size, cfg.real_fraction, cfg.seed, layouts=layouts,
                    pairs=cfg.consistency > 0)
    steps_per_epoch = max(1, len(ds) // cfg.batch)
    metrics_path = out / "metrics.csv"
    run_start, epochs = time.time(), cfg.epochs
    if start_epoch:
        epochs = resumed_schedule(ck, cfg.epochs, cfg.minutes, start_epoch)

    for epoch in range(start_epoch, cfg.epochs):
        if epoch >= epochs:
            break
        ds.epoch = epoch
        # No shuffling needed: every index draws its own random crop from (seed, epoch, index).
        loader: DataLoader[dict[str, np.ndarray]] = DataLoader(
            ds, batch_size=cfg.batch, num_workers=cfg.workers, collate_fn=_collate, drop_last=len(ds) >= cfg.batch,
            pin_memory=device.type == "cuda",
        )
        model.train()
        loss_sum, n, lr = 0.0, 0, cfg.lr
        t_epoch = time.time()
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False, mininterval=5)
        for i, batch in enumerate(bar):
            lr = warmup_cosine(cfg.lr, epoch + i / steps_per_epoch, epochs, cfg.warmup_epochs)
            for g in opt.param_groups:
                g["lr"] = lr
            image, target = batch["image"].to(device, non_blocking=True), batch["target"].to(device, non_blocking=True)
            if "image2" in batch:
                # Two views of each plate, both supervised, and pulled towards the same reading.
                first, second = model(torch.cat([image, batch["image2"].to(device, non_blocking=True)])).chunk(2)
                loss = 0.5 * (slot_loss(first, target, cfg.label_smoothing) +
                              slot_loss(second, target, cfg.label_smoothing))
                loss = loss + cfg.consistency * consistency_loss(first, second)
            else:
                loss = slot_loss(model(image), target, cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            ema.update(model)
            loss_sum, n = loss_sum + loss.item(), n + 1
            bar.set_postfix(loss=f"{loss_sum / n:.3f}", lr=f"{lr:.2e}", refresh=False)
        seconds = round(time.time() - t_epoch, 1)
        metrics = evaluate(ema.ema, val_crops, size)
        if cfg.minutes:
            epochs = epochs_within(cfg.minutes * 60, time.time() - run_start, epoch + 1 - start_epoch, start_epoch,
                                   cfg.epochs)
        row: dict[str, Any] = {"epoch": epoch + 1, "lr": lr, "loss": loss_sum / max(n, 1), "seconds": seconds,
                               "val_exact": metrics.pop("exact"), "val_exact_fmt": metrics.pop("exact_fmt"),
                               "val_char_acc": metrics.pop("char_acc"), **metrics}
        if row["val_exact"] > best_exact:
            best_exact = row["val_exact"]
            save_atomic({"model": ema.ema.state_dict(), "config": asdict(cfg), "epoch": epoch,
                         "val_exact": best_exact, "metrics": row}, best)
        state = {"model": model.state_dict(), "ema": ema.ema.state_dict(), "ema_updates": ema.updates,
                 "optimizer": opt.state_dict(), "epoch": epoch, "best_exact": best_exact,
                 "config": asdict(cfg) | {"epochs": epochs},
                 "epoch_seconds": (time.time() - run_start) / (epoch + 1 - start_epoch)}
        save_atomic(state, last)  # a kill mid-save never corrupts last.pt
        append_csv(metrics_path, row)
        log.info("epoch %d: %s", epoch + 1, {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()})
        sources = sorted(k for k in row if k.startswith("exact_") and not k.startswith("exact_fmt_"))
        plot_metrics(metrics_path, out / "metrics.png", ("loss",), ("val_exact", "val_char_acc", *sources))
    if not best.exists():
        final = {"model": ema.ema.state_dict(), "config": asdict(cfg), "epoch": epochs - 1, "val_exact": best_exact}
        save_atomic(final, best)
    return best

