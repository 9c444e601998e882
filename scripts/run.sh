#!/usr/bin/env bash
# Set up (first time) and start the CLIPDraw Studio window. Extra arguments go to the app,
# e.g. `scripts/run.sh --weights random` to try it without downloading CLIP weights.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m app "$@"
