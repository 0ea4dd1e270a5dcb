#!/usr/bin/env bash
# Pack what an OCR fine-tune on a lent GPU machine needs into .gpu/ (git-ignored via .git/info/exclude):
# the shared OCR crops, a pseudo-label folder, the synthetic plates' font files (the machine has no Debian
# fonts) and the two run scripts. Then: device run `bash .gpu/go.sh MINUTES cuda WORKERS`, carry [".gpu"].
# Usage: scripts/device/pack_ocr.sh [PSEUDO_DIR]   (run from the project root; default runs/pseudo5)
set -euo pipefail
pseudo=${1:-runs/pseudo5}
mkdir -p .git/info && grep -qx "/.gpu/" .git/info/exclude 2>/dev/null || echo "/.gpu/" >> .git/info/exclude
rm -rf .gpu && mkdir -p .gpu/data .gpu/fonts
cp -r "${NUMBERPLATE_DATA:-../shared/data}/ocr" .gpu/data/
cp -r "$pseudo" .gpu/pseudo5 && rm -f .gpu/pseudo5/*.log
.venv/bin/python - <<'PY'
import shutil
from numberplate.train.synth.fonts import FONT_GROUPS, fonts
for path in {p for group in FONT_GROUPS for p in fonts(group)}:
    shutil.copy(path, ".gpu/fonts")
PY
tar cJf .gpu/fonts.tar.xz -C .gpu fonts && rm -rf .gpu/fonts
cp scripts/device/train_ocr.py .gpu/run_ocr.py && cp scripts/device/go_ocr.sh .gpu/go.sh
du -sb .gpu
