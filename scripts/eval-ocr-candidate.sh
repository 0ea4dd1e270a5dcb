#!/usr/bin/env bash
# Measure an OCR checkpoint the way shipped weights are chosen (docs/results.md, sessions 17-20):
# export it (int8) and calibrate it beside the shipped model, then `eval ocr` (val, our model alone and the
# default cascade, errors listed), `eval ocr --synthetic 100` (every layout) and `eval e2e --jitter 3
# --jitter-reads 8` with the cascade and alone. The shipped model is left untouched.
#   usage: scripts/eval-ocr-candidate.sh CHECKPOINT OUTDIR
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 CHECKPOINT OUTDIR" >&2; exit 2; }
CK=$1; D=$2
[ -f "$CK" ] || { echo "$CK: no such checkpoint" >&2; exit 2; }
N=${NUMBERPLATE:-.venv/bin/numberplate}
mkdir -p "$D"
M=$D/plate_ocr.onnx
$N train export-ocr "$CK" --out "$M" 2>&1 | tail -1
$N train calibrate-ocr --model "$M" 2>&1 | tail -1
$N eval ocr --ocr-model "$M" --backend plateocr --backend plateocr+rapidocr --errors > "$D/eval_ocr.txt" 2>&1
$N eval ocr --ocr-model "$M" --backend plateocr --synthetic 100 > "$D/eval_synth.txt" 2>&1
$N eval e2e --ocr-model "$M" --jitter 3 --jitter-reads 8 --errors > "$D/eval_e2e.txt" 2>&1
$N eval e2e --ocr-model "$M" --ocr plateocr --jitter 3 --jitter-reads 8 > "$D/eval_e2e_plateocr.txt" 2>&1
echo "-- eval ocr (val, hints)"; grep -E '^(br|cn|tunisia|us|all) ' "$D/eval_ocr.txt"
echo "-- eval e2e, cascade"; grep -E '^all ' "$D/eval_e2e.txt"
echo "-- eval e2e, ours alone"; grep -E '^all ' "$D/eval_e2e_plateocr.txt"
echo "-- synthetic"; grep -E '^(overall|ru|ua) ' "$D/eval_synth.txt"
