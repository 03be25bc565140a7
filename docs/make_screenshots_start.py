"""Take the screenshots of docs/start-here.md from a real napari window.

Run with a display, or under a virtual one::

    xvfb-run -a -s "-screen 0 1400x1000x24" python docs/make_screenshots_start.py

(the menu pictures grab the screen, so the virtual one must hold the
1200x760 window: xvfb-run's default 640x480 screen is too small).

Generated sample images only: napari started with the plugin's widgets in the
Plugins menu, a 3-D stack opened with its voxel size, the methods listed under
Layers > Segment, cells being fixed with the Labels brush, and the Export labels
and measure widget after writing the measurement table.
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


def _menu(viewer, *path: str):
    """The QMenu reached from the menu bar through the entries named in ``path`` (no '&')."""
    menu = None
    actions = viewer.window._qt_window.menuBar().actions()
    for name in path:
        action = next(a for a in actions if a.text().replace("&", "") == name)
        menu = action.menu()
        actions = menu.actions()
    return menu


def _grab_with_menus(viewer, out_path: Path, *path: str) -> None:
    """Open the menus along ``path`` as a user would, then grab the screen region of the window."""
    from qtpy.QtCore import QPoint

    window = viewer.window._qt_window
    bar = window.menuBar()
    parent = None
    for depth, name in enumerate(path):
        menu = _menu(viewer, *path[: depth + 1])
        if parent is None:
            action = next(a for a in bar.actions() if a.menu() is menu)
            where = bar.mapToGlobal(bar.actionGeometry(action).bottomLeft())
        else:
            action = next(a for a in parent.actions() if a.menu() is menu)
            parent.setActiveAction(action)
            geometry = parent.actionGeometry(action)
            where = parent.mapToGlobal(geometry.topRight())
        menu.popup(where)
        _settle(viewer, 20)
        parent = menu
    frame = window.frameGeometry()
    screen = window.screen()
    picture = screen.grabWindow(0, frame.x(), frame.y(), frame.width(), frame.height())
    for depth in reversed(range(len(path))):
        _menu(viewer, *path[: depth + 1]).close()
    _save(_qimage_array(picture.toImage()), out_path)


def _qimage_array(image) -> np.ndarray:
    """An RGBA array from a QImage."""
    from qtpy.QtGui import QImage

    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    bits = image.constBits()
    if hasattr(bits, "setsize"):  # PyQt gives a sip.voidptr, PySide a memoryview
        bits.setsize(image.sizeInBytes())
    data = np.frombuffer(bits, dtype=np.uint8)
    return data.reshape(image.height(), image.bytesPerLine() // 4, 4)[:, : image.width()].copy()


def shot_started(out: Path) -> None:
    """napari just started, the plugin's widgets listed under Plugins > napari-segkit."""
    import napari

    viewer = napari.Viewer(title="napari: the napari-segkit plugin installed")
    viewer.window.resize(1200, 760)
    viewer.window._qt_window.move(0, 0)
    _settle(viewer)
    _grab_with_menus(viewer, out / "start-napari-plugin.png", "Plugins", "napari-segkit")
    viewer.close()


def shot_pick_method(out: Path) -> None:
    """The 2-D sample open, the methods listed under Layers > Segment."""
    import napari

    viewer = napari.Viewer(title="napari: pick a method under Layers > Segment")
    viewer.window.resize(1200, 760)
    viewer.window._qt_window.move(0, 0)
    viewer.open_sample("napari-segkit", "nuclei_2d")
    for name in [layer.name for layer in viewer.layers][1:]:
        viewer.layers.remove(name)
    viewer.reset_view()
    _settle(viewer)
    _grab_with_menus(viewer, out / "start-pick-method.png", "Layers", "Segment")
    viewer.close()


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


def _cells_and_export_widget(title: str, size: tuple):
    """A viewer with the 2-D sample, its cells (graph cut + one id per cell) and the export widget docked."""
    import napari
    from skimage.measure import label

    from napari_segkit import graph_cut, samples

    sample = samples.nuclei_2d()
    cells = label(graph_cut(sample.image, sample.seeds) == 1)
    viewer = napari.Viewer(title=title)
    viewer.window.resize(*size)
    viewer.add_image(sample.image, name="cells", colormap="gray")
    layer = viewer.add_labels(cells.astype(np.int32), name="cells labels")
    _, widget = viewer.window.add_plugin_dock_widget("napari-segkit", "Export labels and measure")
    widget._image_box.value = viewer.layers["cells"]
    return viewer, layer, widget


def shot_fix_and_export(out: Path, folder: Path) -> None:
    """Cells labelled, the brush selected for a new cell, the export widget docked."""
    viewer, layer, widget = _cells_and_export_widget("napari: fix the cells, then export", (1400, 860))
    layer.mode = "paint"
    layer.brush_size = 6
    layer.selected_label = int(np.max(layer.data)) + 1  # a new cell
    widget._format_box.value = "QuPath GeoJSON (.geojson)"
    widget._path_box.value = "cells.geojson"
    viewer.reset_view()
    _settle(viewer)
    _save(viewer.screenshot(canvas_only=False, flash=False), out / "start-fix-export.png")
    viewer.close()


def shot_measured(out: Path, folder: Path) -> None:
    """The Export labels and measure widget after writing the measurement table (.csv)."""
    viewer, _, widget = _cells_and_export_widget("napari: cells measured", (1300, 820))
    widget._format_box.value = "Measurements table (.csv)"
    widget._path_box.value = str(folder / "cells.csv")
    written = []
    worker = widget.export(on_done=written.append)
    while worker is not None and widget._worker is not None:
        _settle(viewer, 5)
    if not written:
        raise RuntimeError(f"the export did not write: {widget._status_box.value}")
    viewer.reset_view()
    _settle(viewer)
    _save(viewer.screenshot(canvas_only=False, flash=False), out / "start-measured.png")
    viewer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=IMAGES)
    args = parser.parse_args()
    args.output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        shot_started(args.output_dir)
        shot_open_stack(args.output_dir, Path(folder))
        shot_pick_method(args.output_dir)
        shot_fix_and_export(args.output_dir, Path(folder))
        shot_measured(args.output_dir, Path(folder))


if __name__ == "__main__":
    main()
