#!/usr/bin/env bash
# Measure an exported plate verifier with the shipped detector (scripts/eval-detection.sh: calibrated together,
# eval detect, --dark-plates, --ignore with the sweep, eval e2e). The shipped models are left untouched.
#   usage: scripts/eval-verifier-candidate.sh VERIFIER.onnx OUTDIR
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 VERIFIER.onnx OUTDIR" >&2; exit 2; }
exec "$(dirname "$0")/eval-detection.sh" src/numberplate/models/detector.onnx "$1" "$2"
