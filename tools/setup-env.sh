#!/usr/bin/env bash
# Create (or reuse) a virtual environment with napari-segkit installed.
# Usage: tools/setup-env.sh EXTRA    (EXTRA: napari or test)
# Prints the environment's path on its last line.
#
# Installs torch==2.13.0 first so that pip never pulls a multi-GB CUDA build
# by accident where a CPU wheel is on this machine's wheel path; set
# SEGKIT_TORCH_INDEX=https://download.pytorch.org/whl/cpu to take the CPU build
# from PyTorch's index instead (see the README); the project itself only asks
# for a torch range.  The system packages (Qt's xcb libraries, xvfb) come from
# apt only when they are missing AND root or sudo is available; otherwise the
# script says what is missing and carries on.
set -euo pipefail
extra="${1:-napari}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${SEGKIT_VENV:-$root/.venv}"
python="${PYTHON:-python3}"

if [ "$(id -u)" = 0 ]; then
  sudo=""; can_apt=1
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo="sudo"; can_apt=1
else
  sudo=""; can_apt=""
fi

# Qt's xcb platform plugin and a virtual display (for napari on a machine without a screen)
mapfile -t missing < <(bash "$root/tools/missing-system-libs.sh")
if [ "${#missing[@]}" -gt 0 ]; then
  if [ -n "$can_apt" ] && command -v apt-get >/dev/null; then
    echo "== installing xvfb and Qt's xcb libraries with apt (missing: ${missing[*]})" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      xvfb xauth libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 \
      libxcb-render-util0 libxcb-xinerama0 libxcb-xfixes0 libxcb-shape0 libxcb-cursor0 \
      libxkbcommon-x11-0 libdbus-1-3 libfontconfig1 libgl1 libegl1 >/dev/null
  else
    echo "== note: missing ${missing[*]} (napari's window or the virtual display may not start);" >&2
    echo "   on Debian/Ubuntu an administrator can run: apt-get install xvfb libxcb-cursor0 libxkbcommon-x11-0" >&2
  fi
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "== creating $venv" >&2
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip install -q --disable-pip-version-check)
# SEGKIT_TORCH_INDEX=https://download.pytorch.org/whl/cpu takes torch from PyTorch's CPU index
torch_from=()
[ -n "${SEGKIT_TORCH_INDEX:-}" ] && torch_from=(--index-url "$SEGKIT_TORCH_INDEX")
"$venv/bin/python" -c "import torch" 2>/dev/null || "${pip[@]}" "${torch_from[@]}" "torch==2.13.0"
"${pip[@]}" -e "$root[$extra]"
echo "$venv"
