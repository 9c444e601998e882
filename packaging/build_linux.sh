#!/usr/bin/env bash
# Build the one-folder Linux app with PyInstaller: dist/clipdraw-studio/clipdraw-studio
#
# Usage (from anywhere):  packaging/build_linux.sh [--venv PATH] [--fresh-venv]
#   --venv PATH     Python environment to build with (default: .venv in the repo root,
#                   or the active $VIRTUAL_ENV). The app's own dependencies must already be
#                   installed there (pip install -e .); PyInstaller is added if missing.
#   --fresh-venv    create build/pyinstaller-venv, install the project into it, build there.
# Environment: CLIPDRAW_BUILD_DIR (PyInstaller work dir, default build/pyinstaller),
#              CLIPDRAW_DIST_DIR (output dir, default dist).
# Prints the build time and the size of the result at the end.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="${VIRTUAL_ENV:-$ROOT/.venv}"
FRESH=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --venv) VENV="$2"; shift 2 ;;
        --fresh-venv) FRESH=1; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
done

WORK="${CLIPDRAW_BUILD_DIR:-$ROOT/build/pyinstaller}"
DIST="${CLIPDRAW_DIST_DIR:-$ROOT/dist}"

if [[ "$FRESH" == 1 ]]; then
    VENV="$ROOT/build/pyinstaller-venv"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --upgrade pip
    "$VENV/bin/python" -m pip install -e "$ROOT"
fi

PY="$VENV/bin/python"
if [[ ! -x "$PY" ]]; then
    echo "no Python at $PY (create the venv first, or pass --venv)" >&2
    exit 1
fi
if ! "$PY" -c "import PyInstaller" 2>/dev/null; then
    "$PY" -m pip install "pyinstaller>=6.10"
fi

start=$(date +%s)
"$PY" -m PyInstaller --noconfirm --clean \
    --workpath "$WORK" --distpath "$DIST" \
    "$ROOT/packaging/clipdraw_studio.spec"
end=$(date +%s)

APP="$DIST/clipdraw-studio"
echo "build time: $((end - start)) s"
echo "result:     $APP/clipdraw-studio"
echo "size:       $(du -sh "$APP" | cut -f1)"
