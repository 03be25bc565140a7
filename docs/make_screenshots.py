"""Take the screenshots in docs/images/ from a real napari window.

Run with a display, or under a virtual one::

    xvfb-run -a python docs/make_screenshots.py

Each image shows the Graph cut widget docked in napari after a real run on
one of the plugin's sample data sets.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

IMAGES = Path(__file__).resolve().parent / "images"
MAX_BYTES = 300_000


def _wait(widget, timeout: float = 60.0) -> None:
    from qtpy.QtWidgets import QApplication

    end = time.monotonic() + timeout
    while (widget.busy or widget._pending) and time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.01)
    for _ in range(20):  # let the canvas draw the new layer
        QApplication.processEvents()
        time.sleep(0.01)


def _run_docked(viewer, widget, name: str, image, layers: dict, contour: int):
    """Dock ``widget``, choose ``image`` and the named ``layers``, run it, wait; its output drawn as contours."""
    viewer.window.add_dock_widget(widget, name=name, area="right")
    widget.image_layer = image
    for role, layer in layers.items():
        widget.set_layer(role, layer)
    widget.run()
    _wait(widget)
    result = viewer.layers[-1]
    result.contour = contour
    return result


def _save(array: np.ndarray, path: Path) -> None:
    """Save an RGBA screenshot as a PNG under MAX_BYTES (palette if needed)."""
    from PIL import Image

    picture = Image.fromarray(np.asarray(array)[..., :3])
    picture.save(path, optimize=True)
    if path.stat().st_size > MAX_BYTES:
        picture.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    if path.stat().st_size > MAX_BYTES:
        half = picture.resize((picture.width * 3 // 4, picture.height * 3 // 4), Image.LANCZOS)
        half.quantize(colors=256).save(path, optimize=True)
    print(f"{path} {picture.width}x{picture.height} {path.stat().st_size / 1000:.0f} kB")


def _objects_only(layer, colour="yellow"):
    """Show label 1 (the objects) only; label 2 (background) stays transparent."""
    from napari.utils.colormaps import DirectLabelColormap

    layer.colormap = DirectLabelColormap(color_dict={None: "transparent", 1: colour})


def _dock(viewer, image, seeds):
    _, widget = viewer.window.add_plugin_dock_widget("napari-segkit", "Graph cut")
    widget.image_layer, widget.seeds_layer = image, seeds
    return widget


def shot_2d(out: Path) -> None:
    import napari

    viewer = napari.Viewer(title="napari-segkit: graph cut")
    viewer.window.resize(1300, 820)
    image, _truth, seeds = viewer.open_sample("napari-segkit", "nuclei_2d")
    widget = _dock(viewer, image, seeds)
    widget.run()
    _wait(widget)
    result = viewer.layers["nuclei 2D graph cut"]
    _objects_only(result)
    result.contour = 1  # outlines, so the nuclei stay visible underneath
    result.opacity = 1.0
    seeds.opacity = 0.5
    viewer.layers.selection.active = seeds
    viewer.reset_view()
    _wait(widget)
    _save(viewer.screenshot(canvas_only=False, flash=False), out / "graph-cut-2d.png")
    viewer.close()


def shot_3d(out: Path) -> None:
    import napari

    viewer = napari.Viewer(title="napari-segkit: graph cut in 3D")
    viewer.window.resize(1300, 820)
    image, _truth, seeds = viewer.open_sample("napari-segkit", "nuclei_3d")
    widget = _dock(viewer, image, seeds)
    widget.run()
    _wait(widget)
    result = viewer.layers["nuclei 3D graph cut"]
    seeds.visible = False
    image.visible = False
    _objects_only(result, "orange")
    result.opacity = 1.0
    viewer.dims.ndisplay = 3
    viewer.reset_view()
    camera = viewer.scene.camera if hasattr(viewer, "scene") else viewer.camera
    camera.angles = (-20, 40, 75)  # after reset_view, which resets them
    camera.zoom *= 0.9
    viewer.layers.selection.active = result
    _wait(widget)
    _save(viewer.screenshot(canvas_only=False, flash=False), out / "graph-cut-3d.png")
    viewer.close()


def shot_time_series(out: Path) -> None:
    import napari

    viewer = napari.Viewer(title="napari-segkit: graph cut per frame")
    viewer.window.resize(1300, 820)
    image, _truth, seeds = viewer.open_sample("napari-segkit", "nuclei_time_series")
    widget = _dock(viewer, image, seeds)
    widget._per_plane.value = True
    widget.run()
    _wait(widget)
    result = viewer.layers["nuclei time series graph cut"]
    _objects_only(result)
    result.contour = 1
    result.opacity = 1.0
    viewer.dims.set_current_step(0, 5)  # a frame without seeds
    viewer.layers.selection.active = result
    viewer.reset_view()
    _wait(widget)
    _save(viewer.screenshot(canvas_only=False, flash=False), out / "graph-cut-time-series.png")
    viewer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=IMAGES)
    args = parser.parse_args()
    args.output_dir.mkdir(parents=True, exist_ok=True)
    shot_2d(args.output_dir)
    shot_3d(args.output_dir)
    shot_time_series(args.output_dir)


if __name__ == "__main__":
    main()
