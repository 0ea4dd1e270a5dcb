#!/usr/bin/env bash
# Measure a detector checkpoint the way the shipped one was made: export it int8 at the shipped threshold with
# 600 calibration scenes, then scripts/eval-detection.sh with the shipped verifier or VERIFIER.onnx.
#   usage: scripts/eval-detector-candidate.sh CHECKPOINT OUTDIR [VERIFIER.onnx]
set -euo pipefail
[ $# -eq 2 ] || [ $# -eq 3 ] || { echo "usage: $0 CHECKPOINT OUTDIR [VERIFIER.onnx]" >&2; exit 2; }
[ -f "$1" ] || { echo "$1: no such checkpoint" >&2; exit 2; }
N=${NUMBERPLATE:-.venv/bin/numberplate}
mkdir -p "$2/export"
$N train export-detect "$1" --out "$2/export/detector.onnx" --threshold 0.5 --calibration-images 600 2>&1 | tail -1
exec "$(dirname "$0")/eval-detection.sh" "$2/export/detector.onnx" "${3:-src/numberplate/models/verifier.onnx}" "$2"
