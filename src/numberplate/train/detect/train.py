"""Training loop for PlateNet: focal heatmap + GIoU loss, EMA weights, per-epoch checkpoints and --resume."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import cast

import numpy as np
import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from numberplate.detection.postprocess import STRIDE, decode, letterbox
from numberplate.evaluation.detection import ImageResult, summarize_by_source
from numberplate.train.common import (
    ModelEMA,
    append_csv,
    checkpoint_weights,
    epochs_within,
    load_init,
    load_weights,
    pick_device,
    plot_metrics,
    read_checkpoint,
    refuse_other_run,
    resume_checkpoint,
    resumed_schedule,
    save_atomic,
    warmup_cosine,
)
from numberplate.train.detect.data import DetectDataset, PlatePaint, Scene, load_scenes
from numberplate.train.detect.mine import attach_hard_negatives, read_hard_negatives
from numberplate.train.detect.model import PlateNet, count_parameters, train_mode, tune_heat_only
from numberplate.train.synth.fonts import check_fonts

log = logging.getLogger(__name__)


@dataclass
class DetectTrainConfig:
    """Everything that defines a detector training run (saved inside each checkpoint)."""

    data: str = "../shared/data/detect/labels.csv"
    out: str = "runs/detect"
    epochs: int = 120
    batch: int = 32
    size: int = 320
    infer_side: int = 640
    lr: float = 3e-3
    weight_decay: float = 5e-4
    warmup_epochs: float = 2.0
    mosaic: float = 0.3
    swap_plates: float = 0.0
    square_share: float = 0.0  # of the plate-swapped scenes, the share with square (two-line) plates
    dark_share: float = 0.0  # ... and the share with light-on-dark designs
    hard_negatives: str | None = None  # CSV of train mine-negatives
    hard_share: float = 0.0  # share of single-scene crops centred on a hard negative
    tune: str = "all"  # "heat": train a heatmap branch of its own on frozen features (boxes unchanged)
    workers: int = 1
    threads: int = 2
    eval_every: int = 3
    epoch_size: int | None = None
    limit: int | None = None
    seed: int = 0
    width: int = 48
    channels: tuple[int, ...] = (16, 32, 64, 96, 128)
    depth: int = 1
    device: str = "auto"
    minutes: float | None = None
    init: str | None = None
    extra: dict = field(default_factory=dict)


def focal_heat_loss(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss, normalised by the number of plate centres."""
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    pos = target.eq(1).float()
    neg = (1 - pos) * mask
    pos_loss = F.logsigmoid(logits) * (1 - p) ** 2 * pos
    neg_loss = F.logsigmoid(-logits) * p**2 * (1 - target) ** 4 * neg
    n = pos.sum().clamp(min=1.0)
    return -(pos_loss.sum() + neg_loss.sum()) / n


def giou_loss(dist: torch.Tensor, reg: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Weighted GIoU loss between predicted distances (B, 4, H, W) and target boxes (B, 4, H, W)."""
    b, _, h, w = dist.shape
    ys = (torch.arange(h, dtype=dist.dtype, device=dist.device) + 0.5) * STRIDE
    xs = (torch.arange(w, dtype=dist.dtype, device=dist.device) + 0.5) * STRIDE
    cy, cx = torch.meshgrid(ys, xs, indexing="ij")
    sel = weight[:, 0] > 0
    if not sel.any():
        return dist.sum() * 0.0
    cxs, cys = cx.expand(b, h, w)[sel], cy.expand(b, h, w)[sel]
    d = dist.permute(0, 2, 3, 1)[sel]
    t = reg.permute(0, 2, 3, 1)[sel]
    wts = weight[:, 0][sel]
    px0, py0, px1, py1 = cxs - d[:, 0], cys - d[:, 1], cxs + d[:, 2], cys + d[:, 3]
    tx0, ty0, tx1, ty1 = t.unbind(1)
    iw = (torch.min(px1, tx1) - torch.max(px0, tx0)).clamp(min=0)
    inter = iw * (torch.min(py1, ty1) - torch.max(py0, ty0)).clamp(min=0)
    union = (px1 - px0) * (py1 - py0) + (tx1 - tx0) * (ty1 - ty0) - inter
    iou = inter / union.clamp(min=1e-6)
    hull = (torch.max(px1, tx1) - torch.min(px0, tx0)) * (torch.max(py1, ty1) - torch.min(py0, ty0))
    giou = iou - (hull - union) / hull.clamp(min=1e-6)
    return ((1 - giou) * wts).sum() / wts.sum().clamp(min=1e-6)


@torch.no_grad()
def predict_scenes(
    model: torch.nn.Module, scenes: list[Scene], infer_side: int, threshold: float = 0.05
) -> list[ImageResult]:
    """Run the model on whole images the way inference does (letterbox, decode) and collect results."""
    model.eval()
    device = next(model.parameters()).device
    results = []
    for s in scenes:
        tensor, lb = letterbox(s.image, infer_side)
        heat, dist = model(torch.from_numpy(tensor).to(device).permute(0, 3, 1, 2).float() / 255.0)
        boxes, scores = decode(torch.sigmoid(heat)[0].cpu().numpy(), dist[0].cpu().numpy(), threshold)
        results.append(ImageResult(s.boxes, boxes / lb.scale, scores, s.source))
    return results


def _collate(batch: list[dict[str, np.ndarray]]) -> dict[str, torch.Tensor]:
    out = {k: torch.from_numpy(np.stack([b[k] for b in batch])) for k in batch[0]}
    out["image"] = out["image"].float() / 255.0
    return out


def _has_heat_head(checkpoint: Path) -> bool:
    ck = read_checkpoint(checkpoint)
    return any(k.startswith("heat_head.") for k in checkpoint_weights(ck))


def train(cfg: DetectTrainConfig, resume: bool = False) -> Path:
    """Train (or resume) a detector; returns the path of the best EMA checkpoint."""
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    device = pick_device(cfg.device)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    last, best = out / "last.pt", out / "best.pt"
    refuse_other_run(last, resume)
    if cfg.tune not in ("all", "heat"):
        raise ValueError(f"tune must be 'all' or 'heat', got {cfg.tune!r}")
    heat_only = cfg.tune == "heat"
    if heat_only and not (cfg.init or resume):
        raise ValueError("a heatmap-only fine-tune (tune='heat') needs init weights")
    model = PlateNet(cfg.width, tuple(cfg.channels), depth=cfg.depth, heat_head=heat_only)
    if cfg.init and not (resume and last.exists()):
        load_init(model, Path(cfg.init))
        if model.heat_head is not None and not _has_heat_head(Path(cfg.init)):
            # The init has no heatmap branch of its own: it starts as a copy of the shared head.
            model.heat_head.load_state_dict(model.head.state_dict())
    if heat_only:
        tune_heat_only(model)
    model.to(device)
    log.info("PlateNet: %d trainable parameters, training on %s", count_parameters(model), device)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr,
                            weight_decay=cfg.weight_decay)
    ema = ModelEMA(model)
    start_epoch, best_ap = 0, -1.0
    if resume and last.exists():
        ck = resume_checkpoint(last, asdict(cfg), ("width", "channels", "depth", "tune"), device)
        load_weights(model, ck["model"], last, "this detector")
        load_weights(ema.ema, checkpoint_weights(ck), last, "this detector")
        ema.updates = ck.get("ema_updates", 0)
        opt.load_state_dict(ck["optimizer"])
        start_epoch, best_ap = ck["epoch"] + 1, ck.get("best_ap", -1.0)
        log.info("resumed from %s at epoch %d", last, start_epoch)

    data = Path(cfg.data)
    t0 = time.time()
    train_scenes = load_scenes(data, "train", limit=cfg.limit)
    val_scenes = load_scenes(data, "val", limit=cfg.limit)
    log.info("decoded %d train / %d val images in %.0fs", len(train_scenes), len(val_scenes), time.time() - t0)
    if cfg.swap_plates > 0:
        check_fonts()
    if cfg.hard_negatives:
        n = attach_hard_negatives(train_scenes, read_hard_negatives(Path(cfg.hard_negatives)))
        log.info("%d hard negatives in %d train scenes", n, sum(len(s.hard) > 0 for s in train_scenes))
    ds = DetectDataset(train_scenes, cfg.size, cfg.infer_side, cfg.epoch_size, cfg.mosaic, cfg.seed,
                       PlatePaint(cfg.swap_plates, cfg.square_share, cfg.dark_share),
                       hard_p=cfg.hard_share if cfg.hard_negatives else 0.0)
    batch_size = min(cfg.batch, len(ds))  # full batches only (drop_last): fewer samples than a batch would give none
    if batch_size < cfg.batch:
        log.warning("only %d training samples an epoch: batches of %d instead of %d", len(ds), batch_size, cfg.batch)
    steps_per_epoch = max(1, len(ds) // batch_size)
    metrics_path = out / "metrics.csv"
    run_start, epochs = time.time(), cfg.epochs
    if start_epoch:
        epochs = resumed_schedule(ck, cfg.epochs, cfg.minutes, start_epoch)

    for epoch in range(start_epoch, cfg.epochs):
        if epoch >= epochs:
            break
        ds.epoch = epoch
        loader: DataLoader[dict[str, np.ndarray]] = DataLoader(
            cast("Dataset[dict[str, np.ndarray]]", ds), batch_size=batch_size, shuffle=True, num_workers=cfg.workers,
            collate_fn=_collate, pin_memory=device.type == "cuda",
            drop_last=True, generator=torch.Generator().manual_seed(cfg.seed * 1000 + epoch),
        )
        train_mode(model, heat_only)
        sums = np.zeros(2)
        t_epoch = time.time()
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False, mininterval=5)
        for i, batch in enumerate(bar):
            lr = warmup_cosine(cfg.lr, epoch + i / steps_per_epoch, epochs, cfg.warmup_epochs)
            for g in opt.param_groups:
                g["lr"] = lr
            batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
            heat, dist = model(batch["image"])
            l_heat = focal_heat_loss(heat, batch["heat"], batch["mask"])
            l_box = giou_loss(dist, batch["reg"], batch["reg_w"])
            loss = l_heat + 5.0 * l_box
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            ema.update(model)
            sums += [l_heat.item(), l_box.item()]
            bar.set_postfix(heat=f"{sums[0] / (i + 1):.3f}", box=f"{sums[1] / (i + 1):.3f}", lr=f"{lr:.2e}")
        n = max(1, i + 1)
        row: dict = {"epoch": epoch + 1, "lr": lr, "loss_heat": sums[0] / n, "loss_box": sums[1] / n,
                     "seconds": round(time.time() - t_epoch, 1)}
        if cfg.minutes:
            epochs = epochs_within(cfg.minutes * 60, time.time() - run_start, epoch + 1 - start_epoch, start_epoch,
                                   cfg.epochs)
        is_last = epoch + 1 == epochs
        if cfg.eval_every and ((epoch + 1) % cfg.eval_every == 0 or is_last):
            table = summarize_by_source(predict_scenes(ema.ema, val_scenes, cfg.infer_side), threshold=0.3)
            allm = table["all"]
            row.update(ap50=allm.ap50, ap50_95=allm.ap50_95, recall=allm.recall, precision=allm.precision,
                       fp_neg=allm.fp_per_negative,
                       **{f"ap50_{s}": m.ap50 for s, m in table.items() if s not in ("all", "negatives")})
            if allm.ap50 > best_ap:
                best_ap = allm.ap50
                save_atomic({"model": ema.ema.state_dict(), "config": asdict(cfg), "epoch": epoch, "ap50": best_ap},
                            best)
        state = {"model": model.state_dict(), "ema": ema.ema.state_dict(), "ema_updates": ema.updates,
                 "optimizer": opt.state_dict(), "epoch": epoch, "best_ap": best_ap,
                 "config": asdict(cfg) | {"epochs": epochs},
                 "epoch_seconds": (time.time() - run_start) / (epoch + 1 - start_epoch)}
        save_atomic(state, last)  # a kill mid-save never corrupts last.pt
        append_csv(metrics_path, row)
        log.info("epoch %d: %s", epoch + 1, {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()})
        plot_metrics(metrics_path, out / "metrics.png", ("loss_heat", "loss_box"), ("ap50", "ap50_95", "recall"))
    if not best.exists():
        final = {"model": ema.ema.state_dict(), "config": asdict(cfg), "epoch": epochs - 1, "ap50": best_ap}
        save_atomic(final, best)
    return best
