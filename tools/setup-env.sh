#!/usr/bin/env bash
# Create (or reuse) a virtual environment with napari-segkit installed.
# Usage: tools/setup-env.sh EXTRA    (EXTRA: napari or test)
# Installs torch==2.13.0 (CPU build) first so pip never pulls a multi-GB CUDA
# build; the project itself only asks for a torch range.
set -euo pipefail
extra="${1:-napari}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${SEGKIT_VENV:-$root/.venv}"
python="${PYTHON:-python3}"

if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else sudo=""; fi

# Qt's xcb platform plugin and a virtual display (for napari on a machine without a screen)
need_apt=""
command -v xvfb-run >/dev/null || need_apt=1
ldconfig -p 2>/dev/null | grep -q libxcb-cursor.so.0 || need_apt=1
ldconfig -p 2>/dev/null | grep -q libxkbcommon-x11.so.0 || need_apt=1
if [ -n "$need_apt" ] && command -v apt-get >/dev/null; then
  echo "== installing xvfb and Qt's xcb libraries with apt" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    xvfb xauth libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 \
    libxcb-render-util0 libxcb-xinerama0 libxcb-xfixes0 libxcb-shape0 libxcb-cursor0 \
    libxkbcommon-x11-0 libdbus-1-3 libfontconfig1 libgl1 libegl1 >/dev/null
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "== creating $venv" >&2
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip install -q --disable-pip-version-check)
"$venv/bin/python" -c "import torch" 2>/dev/null || "${pip[@]}" "torch==2.13.0"
"${pip[@]}" -e "$root[$extra]"
echo "$venv"
