"""OCR fine-tune on a lent GPU machine (it has no Flask, so no CLI).

Usage: [CONSISTENCY=W] [LR=X] python3 train_ocr.py MINUTES DEVICE WORKERS [LIMIT EPOCH_SIZE]

Packed by scripts/device/pack_ocr.sh; checkpoints go to $OUT/ocr (last_ema.pt: the last epoch's EMA weights)."""
import csv
import glob
import logging
import os
import sys
import time

import cv2
import torch

from numberplate.train.ocr.train import OcrTrainConfig, train

cv2.setNumThreads(1)
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
out = os.environ["OUT"] + "/ocr"
minutes, device, workers = float(sys.argv[1]), sys.argv[2], int(sys.argv[3])
extra = {}
if len(sys.argv) > 4:
    extra = {"limit": int(sys.argv[4]), "epoch_size": int(sys.argv[5])}
cfg = OcrTrainConfig(data=".gpu/data/ocr/labels.csv", out=out, init="checkpoints/ocr/best.pt",
                     extra_data=tuple(sorted(glob.glob(".gpu/pseudo/*/labels.csv"))),
                     lr=float(os.environ.get("LR", 4e-4)), consistency=float(os.environ.get("CONSISTENCY", 0)),
                     epochs=300, minutes=minutes, workers=workers, threads=1, device=device, **extra)
t0 = time.time()
train(cfg)
ck = torch.load(out + "/last.pt", map_location="cpu", weights_only=False)
with open(out + "/metrics.csv", newline="") as fh:
    row = {k: int(v) if k == "epoch" else float(v) for k, v in list(csv.DictReader(fh))[-1].items()}
# Saved as train() saves best.pt, so that export-ocr records the epoch's metrics in plate_ocr.json.
torch.save({"model": ck["ema"], "config": ck["config"], "epoch": ck["epoch"], "val_exact": row["val_exact"],
            "metrics": row}, out + "/last_ema.pt")
os.remove(out + "/last.pt")
print(f"done in {time.time() - t0:.0f}s, last epoch {ck['epoch'] + 1}")
