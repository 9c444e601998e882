#!/usr/bin/env bash
# GPU check (issue 10): it/s of the default scene (256 strokes, 224 px, 4 augmentations,
# ViT-B/32 random weights: no downloads) at fp32 and at --precision auto, and the
# renderer's share of a step. At most 4 minutes. Usage: benchmarks/gpu_check.sh [python]
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${1:-${PYTHON:-python}}"
export HF_HUB_OFFLINE=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true
exec timeout 240 "$PY" benchmarks/gpu_check.py --device cuda --steps 100 --warmup 10
