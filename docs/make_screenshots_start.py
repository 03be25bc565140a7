"""Take the screenshots of docs/start-here.md from a real napari window.

Run with a display, or under a virtual one::

    xvfb-run -a python docs/make_screenshots_start.py

Generated sample images only: a 3-D stack opened with its voxel size, cells
being fixed with the Labels brush, and the Export labels and measure widget.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_screenshots import IMAGES, _save  # noqa: E402


def _settle(viewer, rounds: int = 40) -> None:
    import time

    from qtpy.QtWidgets import QApplication

    for _ in range(rounds):
        QApplication.processEvents()
        time.sleep(0.02)


def shot_open_stack(out: Path, folder: Path) -> None:
    """A 3-D TIFF opened with its voxel size (Z steps 4x the pixel size)."""
    import napari
    import tifffile

    from napari_segkit import samples
    from napari_segkit.io import read_image

    sample = samples.nuclei_3d()
    path = folder / "stack.tif"
    tifffile.imwrite(path, sample.image, imagej=True, resolution=(1.0, 1.0),
                     metadata={"axes": "ZYX", "spacing": 4.0, "unit": "um"})
    stack = read_image(path)
    viewer = napari.Viewer(title="napari: stack.tif with its voxel size")
    viewer.window.resize(1300, 820)
    viewer.add_image(stack.array, scale=stack.spacing, name="stack", colormap="gray")
    viewer.dims.ndisplay = 3
    viewer.reset_view()
    viewer.camera.angles = (-20, 35, 70)
    _settle(viewer)
    _save(viewer.screenshot(canvas_only=False, flash=False), out / "start-open-stack.png")
    viewer.close()


def shot_fix_and_export(out: Path, folder: Path) -> None:
    """Cells labelled (graph cut + one id per cell), the brush selected, the export widget docked."""
    import napari
    from skimage.measure import label

    from napari_segkit import graph_cut, samples

    sample = samples.nuclei_2d()
    cells = label(graph_cut(sample.image, sample.seeds) == 1)
    viewer = napari.Viewer(title="napari: fix the cells, then export")
    viewer.window.resize(1400, 860)
    viewer.add_image(sample.image, name="cells", colormap="gray")
    layer = viewer.add_labels(cells.astype(np.int32), name="cells labels")
    layer.mode = "paint"
    layer.brush_size = 6
    layer.selected_label = int(cells.max()) + 1  # a new cell
    _, widget = viewer.window.add_plugin_dock_widget("napari-segkit", "Export labels and measure")
    widget._image_box.value = viewer.layers["cells"]
    widget._format_box.value = "QuPath GeoJSON (.geojson)"
    widget._path_box.value = "cells.geojson"
    viewer.reset_view()
    _settle(viewer)
    _save(viewer.screenshot(canvas_only=False, flash=False), out / "start-fix-export.png")
    viewer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=IMAGES)
    args = parser.parse_args()
    args.output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        shot_open_stack(args.output_dir, Path(folder))
        shot_fix_and_export(args.output_dir, Path(folder))


if __name__ == "__main__":
    main()
