"""Plate OCR speed: ms per plate on one thread at batch 1 and batch 8, ours vs RapidOCR's recogniser.

The PP-OCRv4 text recogniser shipped inside rapidocr-onnxruntime reads the same val crops in
the same run as a fixed reference (recognition only, no text detection), and our figures are
printed as ratios to it.

    python bench/ocr.py [--plates 64] [--repeat 3] [--country auto] [--model plate_ocr.onnx] [--compare other.onnx]

Our times include the format check with ``--country`` as the hint: ``auto`` (the default, what the
Reader passes when no country is named: every country's layouts), a code such as ``br``, or ``none``
for the raw reading.

``--compare`` times a second model of ours in the same run (e.g. the float32 export against the
shipped int8 one), since this VM's speed drifts between runs.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import cpu
import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("NUMBERPLATE_DATA", REPO.parent / "shared" / "data"))


def val_crops(n: int) -> list[np.ndarray]:
    """``n`` val crops spread over every source, as RGB arrays."""
    with open(DATA / "ocr" / "labels.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == "val"]
    step = max(1, len(rows) // n)
    return [cv2.cvtColor(cv2.imread(str(DATA / r["image"])), cv2.COLOR_BGR2RGB) for r in rows[::step][:n]]


def time_per_plate(run: Callable[[list[np.ndarray]], object], crops: list[np.ndarray], batch: int,
                   repeat: int) -> float:
    """Median over repeats of the ms per plate for reading ``crops`` in batches of ``batch``."""
    run(crops[:batch])  # warm-up
    totals = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for i in range(0, len(crops), batch):
            run(crops[i:i + batch])
        totals.append((time.perf_counter() - t0) * 1000 / len(crops))
    return float(np.median(totals))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--plates", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--model", default=None, help="our ONNX OCR model (default: the shipped one)")
    ap.add_argument("--compare", default=None, help="another ONNX OCR model of ours to time in the same run")
    ap.add_argument("--country", default="auto", help="hint for the format check: auto, a code, or none")
    args = ap.parse_args()
    crops = val_crops(args.plates)
    country = None if args.country.lower() == "none" else args.country

    import rapidocr_onnxruntime
    from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer

    pkg = Path(rapidocr_onnxruntime.__file__).parent
    ref = TextRecognizer({"model_path": str(pkg / "models" / "ch_PP-OCRv4_rec_infer.onnx"), "use_cuda": False,
                          "intra_op_num_threads": 1, "inter_op_num_threads": 1, "rec_batch_num": 8,
                          "rec_img_shape": [3, 48, 320]})
    bgr = [c[:, :, ::-1].copy() for c in crops]

    from numberplate.recognition.platenet_ocr import PlateOcrRecognizer

    ours = PlateOcrRecognizer(args.model, intra_op_threads=1)
    other = PlateOcrRecognizer(args.compare, intra_op_threads=1) if args.compare else None

    def hinted(reader: PlateOcrRecognizer) -> Callable[[list[np.ndarray]], object]:
        return lambda cs: reader.read_batch(cs, [country] * len(cs))

    print(f"{len(crops)} val plates x {args.repeat} repeats, 1 thread, format check with country {args.country!r}; "
          f"{cpu.describe()}")
    print(f"{'recogniser':<26} {'batch':>5} {'ms/plate':>9} {'vs PP-OCRv4 rec':>16}")
    for batch in (1, 8):
        ref_ms = time_per_plate(ref, bgr, batch, args.repeat)
        ours_ms = time_per_plate(hinted(ours), crops, batch, args.repeat)
        print(f"{'plateocr (ours, + formats)':<26} {batch:>5} {ours_ms:>9.2f} {ours_ms / ref_ms:>15.2f}x")
        if other is not None:
            other_ms = time_per_plate(hinted(other), crops, batch, args.repeat)
            print(f"{'--compare model':<26} {batch:>5} {other_ms:>9.2f} {other_ms / ref_ms:>15.2f}x")
        print(f"{'PP-OCRv4 rec (rapidocr)':<26} {batch:>5} {ref_ms:>9.2f} {1.0:>15.2f}x")
    # The default reader: ours, and RapidOCR (detection + recognition) as well for the unsure plates.
    from numberplate.recognition.cascade import CascadeRecognizer
    from numberplate.recognition.rapidocr import RapidOcrRecognizer

    rapid = RapidOcrRecognizer(intra_op_num_threads=1)
    cascade = CascadeRecognizer(ours, "rapidocr", factory=lambda: rapid)
    # The cascade decides on the model's own scores (its reported confidences are calibrated).
    own = ours.read_batch(crops, [country] * len(crops), calibrated=False)
    unsure = sum(1 for r in own if r is None or r.confidence < cascade.below)
    ref_ms = time_per_plate(ref, bgr, 1, args.repeat)
    cascade_ms = time_per_plate(lambda cs: [cascade.read(c, country) for c in cs], crops, 1, args.repeat)
    print(f"{'plateocr+rapidocr cascade':<26} {1:>5} {cascade_ms:>9.2f} {cascade_ms / ref_ms:>15.2f}x"
          f"  ({unsure} of {len(crops)} plates unsure: RapidOCR reads those too)")
    model = Path(args.model) if args.model else REPO / "src" / "numberplate" / "models" / "plate_ocr.onnx"
    meta = model.with_suffix(".json")
    precision = json.loads(meta.read_text(encoding="utf-8")).get("precision", "float32") if meta.is_file() else "?"
    print(f"model size: {model.stat().st_size / 1e6:.2f} MB, {precision} ({model})")
    if args.compare:
        print(f"--compare model size: {Path(args.compare).stat().st_size / 1e6:.2f} MB ({args.compare})")


if __name__ == "__main__":
    main()
