"""Video throughput: frames per second through read_video (decode, detect, read, track) on a 1280x720 clip.

The clip is written on the fly from val photos (each shown for 2 s, drifting), as Motion-JPEG, so the
figures include real decoding. The same frames read one by one with the Reader (no video decoding,
no tracking) are the baseline in the same run, printed as a ratio.

    python bench/video.py [--photos 10] [--fps-read 5 10 25] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("NUMBERPLATE_DATA", REPO.parent / "shared" / "data"))
SIZE = (1280, 720)
CLIP_FPS = 25


def make_clip(path: Path, photos: int) -> list[np.ndarray]:
    """Write the clip; return its frames (RGB)."""
    import sys

    sys.path.insert(0, str(REPO / "bench"))
    from detect import bench_images

    frames = []
    for image in bench_images(photos):
        for i in range(2 * CLIP_FPS):
            frames.append(np.roll(image, 4 * i, axis=1))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), CLIP_FPS, SIZE)
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return frames


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=10)
    ap.add_argument("--fps-read", type=float, nargs="+", default=[5.0, 25.0])
    ap.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads per model")
    ap.add_argument("--ocr", default="plateocr")
    args = ap.parse_args()

    from numberplate.config import Config
    from numberplate.pipeline import Reader
    from numberplate.video import read_video

    reader = Reader(config=Config(ocr=args.ocr, intra_op_threads=args.threads))
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "bench.avi"
        frames = make_clip(clip, args.photos)
        seconds = len(frames) / CLIP_FPS
        reader.read_array(frames[0])  # warm-up
        sample = frames[:: CLIP_FPS // 5]
        t0 = time.perf_counter()
        for frame in sample:
            reader.read_array(frame)
        base_ms = (time.perf_counter() - t0) * 1000 / len(sample)
        print(f"clip: {len(frames)} frames, {seconds:.0f} s at {CLIP_FPS} fps, {SIZE[0]}x{SIZE[1]} MJPEG; "
              f"ocr {args.ocr}, {args.threads} thread(s)")
        print(f"{'read at':>9} {'frames':>7} {'plates':>7} {'wall s':>7} {'ms/frame':>9} {'x realtime':>11} "
              f"{'vs Reader/frame':>16}")
        for fps in args.fps_read:
            t0 = time.perf_counter()
            events = list(read_video(reader, clip, fps=fps))
            wall = time.perf_counter() - t0
            kept = len(range(0, len(frames), max(1, round(CLIP_FPS / fps))))
            ms = wall * 1000 / kept
            print(f"{fps:>6g}fps {kept:>7} {len(events):>7} {wall:>7.1f} {ms:>9.1f} {seconds / wall:>11.1f} "
                  f"{ms / base_ms:>15.2f}x")
        print(f"baseline: Reader.read_array on the same frames, {base_ms:.1f} ms/frame")


if __name__ == "__main__":
    main()
