#!/usr/bin/env bash
# Install the test needs (apt: xvfb + Qt xcb libraries; pip: the project and its
# test extra) and run the whole test suite under a virtual display.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$(bash "$root/tools/setup-env.sh" test | tail -n 1)"
cd "$root"
# pytest-xvfb starts Xvfb for the napari tests; exit code is pytest's
exec "$venv/bin/python" -m pytest -q "$@"
