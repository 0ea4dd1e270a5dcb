#!/usr/bin/env bash
# Measure an exported plate verifier with the shipped detector, the way verifiers are chosen (docs/results.md):
# calibrate a copy of the shipped detector with it (`train calibrate-detector`), then `eval detect --split val`
# (errors listed), the same with the audited unboxed plates ignored (and the threshold sweep), and
# `eval e2e --jitter 3 --jitter-reads 8`. The shipped models are left untouched.
#   usage: scripts/eval-verifier-candidate.sh VERIFIER.onnx OUTDIR
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 VERIFIER.onnx OUTDIR" >&2; exit 2; }
V=$1; D=$2
[ -f "$V" ] && [ -f "${V%.onnx}.json" ] || { echo "$V: no such verifier (with its .json)" >&2; exit 2; }
N=${NUMBERPLATE:-.venv/bin/numberplate}
mkdir -p "$D"
cp src/numberplate/models/detector.onnx src/numberplate/models/detector.json "$D/"
cp "$V" "$D/verifier.onnx"; cp "${V%.onnx}.json" "$D/verifier.json"
$N train calibrate-detector --detector-model "$D/detector.onnx" --verifier-model "$D/verifier.onnx" 2>&1 | tail -3
$N eval detect --split val --verifier-model "$D/verifier.onnx" --errors > "$D/eval_detect.txt" 2>&1
$N eval detect --split val --verifier-model "$D/verifier.onnx" --ignore data/detect/val_unboxed.csv --sweep \
  > "$D/eval_detect_ignore.txt" 2>&1
$N eval e2e --verifier-model "$D/verifier.onnx" --jitter 3 --jitter-reads 8 --errors > "$D/eval_e2e.txt" 2>&1
echo "-- eval detect --split val"; grep -E '^(egypt|kaggle|negatives|openlpr|romania|tunisia|all) +[0-9]' "$D/eval_detect.txt"
echo "-- ... --ignore data/detect/val_unboxed.csv"; grep -E '^all ' "$D/eval_detect_ignore.txt"
echo "-- openlpr misses: $(grep ' missed ' "$D/eval_detect.txt" | grep -c '^openlpr' || true)"
echo "-- eval e2e"; grep -E '^all ' "$D/eval_e2e.txt"
