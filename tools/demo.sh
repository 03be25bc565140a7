#!/usr/bin/env bash
# Install napari with the plugin and run the main job: napari opens with the
# sample nuclei, their seeds and the Graph cut widget docked.  Without a display
# the same job runs headless and writes segkit-demo/labels.tif and overlay.png.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$(bash "$root/tools/setup-env.sh" napari | tail -n 1)"
exec "$venv/bin/napari-segkit" demo "$@"
