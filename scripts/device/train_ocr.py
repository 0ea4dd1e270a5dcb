"""OCR fine-tune on a lent GPU machine (it has no Flask, so no CLI).

Usage: python3 train_ocr.py MINUTES DEVICE WORKERS [LIMIT EPOCH_SIZE]

Packed by scripts/device/pack_ocr.sh; checkpoints go to $OUT/ocr (last_ema.pt: the last epoch's EMA weights)."""
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
                     extra_data=(".gpu/pseudo5/labels.csv",), lr=4e-4, epochs=300, minutes=minutes,
                     workers=workers, threads=1, device=device, **extra)
t0 = time.time()
train(cfg)
ck = torch.load(out + "/last.pt", map_location="cpu", weights_only=False)
torch.save({"model": ck["ema"], "config": ck["config"], "epoch": ck["epoch"], "val_exact": None}, out + "/last_ema.pt")
os.remove(out + "/last.pt")
print(f"done in {time.time() - t0:.0f}s, last epoch {ck['epoch'] + 1}")
