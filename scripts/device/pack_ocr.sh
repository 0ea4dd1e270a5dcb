#!/usr/bin/env bash
# Pack what an OCR fine-tune on a lent GPU machine needs into .gpu/ (git-ignored via .git/info/exclude):
# the shared OCR crops, a pseudo-label folder, the synthetic plates' font files (the machine has no Debian
# fonts) and the two run scripts. Then: device run `bash .gpu/go.sh MINUTES cuda WORKERS`, carry [".gpu"].
# Usage: scripts/device/pack_ocr.sh [PSEUDO_DIR ...]   (run from the project root; default runs/pseudo6 runs/pseudo7)
set -euo pipefail
if [ $# -eq 0 ]; then set -- runs/pseudo6 runs/pseudo7; fi
mkdir -p .git/info && grep -qx "/.gpu/" .git/info/exclude 2>/dev/null || echo "/.gpu/" >> .git/info/exclude
rm -rf .gpu && mkdir -p .gpu/data .gpu/fonts
cp -r "${NUMBERPLATE_DATA:-../shared/data}/ocr" .gpu/data/
mkdir -p .gpu/pseudo
for dir in "$@"; do cp -r "$dir" ".gpu/pseudo/$(basename "$dir")" && rm -f ".gpu/pseudo/$(basename "$dir")"/*.log; done
.venv/bin/python - <<'PY'
import shutil
from numberplate.train.synth.fonts import FONT_GROUPS, fonts
for path in {p for group in FONT_GROUPS for p in fonts(group)}:
    shutil.copy(path, ".gpu/fonts")
PY
tar cJf .gpu/fonts.tar.xz -C .gpu fonts && rm -rf .gpu/fonts
cp scripts/device/train_ocr.py .gpu/run_ocr.py && cp scripts/device/go_ocr.sh .gpu/go.sh
du -sb .gpu
