"""Take docs/images/grabcut.png: the GrabCut widget docked in napari after a real run.

Run with a display, or under a virtual one::

    xvfb-run -a python docs/make_screenshots_grabcut.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_screenshots import IMAGES, _run_docked, _save, _wait  # noqa: E402  (shared helpers)


def main() -> None:
    import napari
    from scipy import ndimage as ndi

    from napari_segkit._napari._grabcut_widget import GrabCutWidget

    viewer = napari.Viewer(title="napari-segkit: GrabCut")
    viewer.window.resize(1300, 820)
    image, truth, seeds = viewer.open_sample("napari-segkit", "nuclei_2d")
    boxes_from = np.asarray(truth.data)
    viewer.layers.remove(truth)
    viewer.layers.remove(seeds)
    boxes = []
    for where in ndi.find_objects(boxes_from)[:6]:
        if where is not None:
            lo = [s.start - 4 for s in where]
            hi = [s.stop + 4 for s in where]
            boxes.append(np.array([[lo[0], lo[1]], [hi[0], hi[1]]], dtype=float))
    shapes = viewer.add_shapes(boxes, shape_type="rectangle", name="boxes", edge_color="cyan",
                               face_color="transparent", edge_width=1.5)
    widget = GrabCutWidget(viewer)
    _run_docked(viewer, widget, "GrabCut", image, {"boxes": shapes}, contour=2)
    viewer.layers.selection.active = shapes
    viewer.reset_view()
    _wait(widget)
    IMAGES.mkdir(exist_ok=True)
    _save(viewer.screenshot(canvas_only=False, flash=False), IMAGES / "grabcut.png")
    viewer.close()


if __name__ == "__main__":
    main()
