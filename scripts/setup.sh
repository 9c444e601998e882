#!/usr/bin/env bash
# One-time (and idempotent) set-up of a fresh machine for CLIPDraw Studio:
#   - the system libraries Qt needs (Debian/Ubuntu, when run as root or with sudo),
#   - a virtual environment in .venv with the project and its dependencies.
# Usage: scripts/setup.sh [--test]   (--test also installs test tools: pytest, resvg, Inkscape)
# Re-running is fast: the pip step is skipped while pyproject.toml is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

WITH_TEST=0
[ "${1:-}" = "--test" ] && WITH_TEST=1
PYTHON="${PYTHON:-python3}"

log() { printf '[setup] %s\n' "$*" >&2; }

apt_install() {
    # Install Debian packages that are missing; needs root (or sudo) and apt-get.
    command -v apt-get >/dev/null 2>&1 || return 0
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
            log "please install: ${missing[*]} (needs root)"; return 0; fi
    fi
    log "installing system packages: ${missing[*]}"
    $sudo apt-get update -qq >/dev/null || log "apt-get update failed (offline?)"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || log "could not install ${missing[*]}; Qt or the Inkscape tests may not work"
}

# Libraries PySide6 needs to import and run (offscreen and in a real X11 window).
QT_LIBS=(libegl1 libgl1 libxkbcommon0 libfontconfig1 libfreetype6 libglib2.0-0 libdbus-1-3 fonts-dejavu-core
         libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-randr0
         libxcb-render-util0 libxcb-shape0 libxcb-xfixes0 libxcb-xkb1 libxcb-shm0 libxcb-sync1 libx11-xcb1)
if [ "$(uname -s)" = "Linux" ]; then
    apt_install "${QT_LIBS[@]}"
    if [ "$WITH_TEST" = 1 ]; then apt_install inkscape; fi
fi

if [ ! -x .venv/bin/python ]; then
    log "creating .venv"
    "$PYTHON" -m venv .venv
fi
VPY=.venv/bin/python
EXTRAS=""
[ "$WITH_TEST" = 1 ] && EXTRAS="[test]"
STAMP=".venv/.clipdraw-installed${EXTRAS}"
HASH="$(sha256sum pyproject.toml | cut -c1-16)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$HASH" ]; then
    log "dependencies up to date"
    exit 0
fi
"$VPY" -m pip install -q --upgrade pip >/dev/null
if [ -d /etc/xdg/pip ] && ! "$VPY" -c "import torch, torchvision" >/dev/null 2>&1; then
    # A machine-wide pip configuration in /etc/xdg/pip (pip.conf naming a constraints
    # file) caps torch at 2.14.1 and torchvision at 0.29.1. Left to itself, pip may then
    # pick a torch and a torchvision that do not belong together (an older CPU-only torch
    # with a torchvision built for 2.14 fails at import), so on such a machine we ask for
    # the matching pair explicitly. Without that configuration pip's own choice is used.
    log "pip is capped by /etc/xdg/pip: installing the matching torch/torchvision pair"
    "$VPY" -m pip install -q "torch==2.14.1" "torchvision==0.29.1"
fi
log "installing CLIPDraw Studio and its dependencies (first time: a few minutes, torch is large)"
"$VPY" -m pip install -q -e ".${EXTRAS}"
echo "$HASH" > "$STAMP"
log "done"
