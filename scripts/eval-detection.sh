#!/usr/bin/env bash
# Measure a detector and verifier pair the way detection models are chosen (docs/results.md): copy both into
# OUTDIR, calibrate the copies' confidences together (`train calibrate-detector`), then `eval detect --split val`
# (errors listed), the same on every plate painted dark (`--dark-plates`), with the audited unboxed plates
# ignored (and the threshold sweep), and `eval e2e --jitter 3 --jitter-reads 8`. Nothing shipped is touched.
#   usage: scripts/eval-detection.sh DETECTOR.onnx VERIFIER.onnx OUTDIR
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 DETECTOR.onnx VERIFIER.onnx OUTDIR" >&2; exit 2; }
for M in "$1" "$2"; do
  [ -f "$M" ] && [ -f "${M%.onnx}.json" ] || { echo "$M: no such model (with its .json)" >&2; exit 2; }
done
N=${NUMBERPLATE:-.venv/bin/numberplate}
D=$3
mkdir -p "$D"
cp "$1" "$D/detector.onnx"; cp "${1%.onnx}.json" "$D/detector.json"
cp "$2" "$D/verifier.onnx"; cp "${2%.onnx}.json" "$D/verifier.json"
MODELS=(--detector-model "$D/detector.onnx" --verifier-model "$D/verifier.onnx")
$N train calibrate-detector "${MODELS[@]}" 2>&1 | tail -3
$N eval detect --split val "${MODELS[@]}" --errors > "$D/eval_detect.txt" 2>&1
$N eval detect --split val "${MODELS[@]}" --dark-plates > "$D/eval_detect_dark.txt" 2>&1
$N eval detect --split val "${MODELS[@]}" --ignore data/detect/val_unboxed.csv --sweep > "$D/eval_detect_ignore.txt" 2>&1
$N eval e2e "${MODELS[@]}" --jitter 3 --jitter-reads 8 --errors > "$D/eval_e2e.txt" 2>&1
echo "-- eval detect --split val"; grep -E '^(egypt|kaggle|negatives|openlpr|romania|tunisia|all) +[0-9]' "$D/eval_detect.txt"
echo "-- ... --dark-plates"; grep -E '^all ' "$D/eval_detect_dark.txt"
echo "-- ... --ignore data/detect/val_unboxed.csv"; grep -E '^all ' "$D/eval_detect_ignore.txt"
echo "-- openlpr misses: $(grep ' missed ' "$D/eval_detect.txt" | grep -c '^openlpr' || true)"
echo "-- eval e2e"; grep -E '^all ' "$D/eval_e2e.txt"
