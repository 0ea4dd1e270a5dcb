#!/usr/bin/env python3
"""Split the shared training data (+ the synthetic-plate fonts) into parts of at most N MiB.

For training on a remote GPU machine that takes a capped upload per call: send the parts one per
call into the same folder there, then run `numberplate train ... --data <there>/data/detect/labels.csv`
(fonts go to /usr/local/share/fonts). The folder layout mirrors ../shared/data, so the labels CSVs
work unchanged. The parts are a copy of the data: keep them out of git (e.g. in an ignored folder).

    python scripts/pack-training-data.py --out .devpack --part-mib 57
"""

from __future__ import annotations

import argparse
import csv
import shutil
from pathlib import Path

from numberplate.train.synth.fonts import FONT_DIRS, FONT_GROUPS, _index


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--part-mib", type=float, default=57.0)
    args = ap.parse_args()
    files: dict[str, Path] = {}
    for labels in ("detect/labels.csv", "ocr/labels.csv"):
        with open(args.data / labels, newline="", encoding="utf-8") as fh:
            for rel in sorted({r["image"] for r in csv.DictReader(fh)}):
                files[f"data/{rel}"] = args.data / rel
        files[f"data/{labels}"] = args.data / labels
    installed = _index(tuple(FONT_DIRS))
    for group in FONT_GROUPS.values():
        for name in group:
            if name in installed:
                files[f"fonts/{name}"] = Path(installed[name])
    limit = args.part_mib * 2**20
    part, size = 0, 0
    shutil.rmtree(args.out, ignore_errors=True)
    for rel, src in files.items():
        n = src.stat().st_size
        if size and size + n > limit:
            part, size = part + 1, 0
        dst = args.out / f"p{part}" / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        size += n
    print(f"{len(files)} files in {part + 1} parts under {args.out}")


if __name__ == "__main__":
    main()
