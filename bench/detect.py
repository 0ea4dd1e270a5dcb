"""Detector speed on 1280x720 images: ms/image (median, p90) on 1 thread and all cores, peak RSS.

The PP-OCRv4 text detector shipped inside rapidocr-onnxruntime runs on the same images in the
same run as a fixed reference, and each of our figures is printed as a ratio to it. Every
configuration runs in its own subprocess so that peak RSS is its own. ``platenet+verify`` is the
default (the Reader's): PlateNet with the plate verifier's second look at each detection
(config ``verify_detections``); ``platenet-flip`` is the opt-in mirrored-pass averaging (config
``detector_flip``).

    python bench/detect.py [--images 40] [--repeat 3] [--model path/to/detector.onnx]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import cpu
import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("NUMBERPLATE_DATA", REPO.parent / "shared" / "data"))


def bench_images(n: int) -> list[np.ndarray]:
    """The first ``n`` val scenes, letterboxed onto 1280x720 RGB canvases (real plates, real sizes)."""
    with open(DATA / "detect" / "labels.csv", newline="") as fh:
        paths = sorted({r["image"] for r in csv.DictReader(fh) if r["split"] == "val"})
    # Spread the picks over all sources (the list is sorted by source folder).
    step = max(1, len(paths) // n)
    images = []
    for rel in paths[::step][:n]:
        img = cv2.cvtColor(cv2.imread(str(DATA / rel)), cv2.COLOR_BGR2RGB)
        h, w = img.shape[:2]
        s = min(1280 / w, 720 / h)
        img = cv2.resize(img, (round(w * s), round(h * s)))
        canvas = np.zeros((720, 1280, 3), np.uint8)
        canvas[: img.shape[0], : img.shape[1]] = img
        images.append(canvas)
    return images


def _worker(name: str, threads: int, n: int, repeat: int, model: str | None) -> dict:
    images = bench_images(n)
    if name.startswith("platenet"):
        from numberplate.config import Config
        from numberplate.pipeline import default_detector

        # Built as the Reader builds its detector (the verifier on one thread: the model is tiny).
        run = default_detector(Config(detector_model=model, intra_op_threads=threads,
                                      detector_flip=name == "platenet-flip",
                                      verify_detections=name == "platenet+verify")).detect
    else:
        import rapidocr_onnxruntime
        from rapidocr_onnxruntime.ch_ppocr_det import TextDetector

        pkg = Path(rapidocr_onnxruntime.__file__).parent
        cfg = {"model_path": str(pkg / "models" / "ch_PP-OCRv4_det_infer.onnx"), "limit_side_len": 736,
               "limit_type": "min", "mean": [0.5] * 3, "std": [0.5] * 3, "use_cuda": False,
               "intra_op_num_threads": threads if threads else -1, "inter_op_num_threads": 1}
        text_det = TextDetector(cfg)

        def run(img: np.ndarray) -> object:
            return text_det(cv2.cvtColor(img, cv2.COLOR_RGB2BGR))[0]

    run(images[0])  # warm-up
    times = []
    for _ in range(repeat):
        for img in images:
            t0 = time.perf_counter()
            run(img)
            times.append((time.perf_counter() - t0) * 1000)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"median_ms": float(np.median(times)), "p90_ms": float(np.percentile(times, 90)), "peak_rss_mb": rss_mb}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--model", default=None, help="ONNX detector (default: the shipped one)")
    ap.add_argument("--worker", nargs=2, metavar=("NAME", "THREADS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        name, threads = args.worker
        print(json.dumps(_worker(name, int(threads), args.images, args.repeat, args.model)))
        return

    cores = os.cpu_count() or 1
    results: dict[tuple[str, int], dict] = {}
    for name in ("platenet", "platenet+verify", "platenet-flip", "ppocrv4-det"):
        for threads in (1, cores):
            cmd = [sys.executable, __file__, "--worker", name, str(threads), "--images", str(args.images),
                   "--repeat", str(args.repeat)] + (["--model", args.model] if args.model else [])
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
            results[(name, threads)] = json.loads(out)
    print(f"{args.images} images at 1280x720 x {args.repeat} repeats; {cpu.describe()}")
    print(f"{'detector':<16} {'threads':>7} {'median ms':>10} {'p90 ms':>8} {'peak RSS MB':>12} {'vs PP-OCRv4':>12}")
    for (name, threads), r in results.items():
        ref = results[("ppocrv4-det", threads)]["median_ms"]
        print(f"{name:<16} {threads:>7} {r['median_ms']:>10.1f} {r['p90_ms']:>8.1f} {r['peak_rss_mb']:>12.0f}"
              f" {r['median_ms'] / ref:>11.2f}x")
    model = Path(args.model) if args.model else REPO / "src" / "numberplate" / "models" / "detector.onnx"
    print(f"model size: {model.stat().st_size / 1e6:.2f} MB ({model})")
    verifier = REPO / "src" / "numberplate" / "models" / "verifier.onnx"
    print(f"verifier size: {verifier.stat().st_size / 1e6:.2f} MB ({verifier})")


if __name__ == "__main__":
    main()
