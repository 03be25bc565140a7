"""Take docs/images/clicks.png: the Clicks widget docked in napari after a real run.

One positive click on each of six nuclei of the synthetic sample, and one negative click, in two Points
layers; the result is a Labels layer drawn as contours.  Run with a display, or under a virtual one::

    xvfb-run -a python docs/make_screenshots_clicks.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_screenshots import IMAGES, _save, _wait  # noqa: E402  (shared helpers)


def main() -> None:
    import napari

    from napari_segkit._napari._clicks_widget import ClicksWidget
    from napari_segkit.evaluation import ClickRobot

    viewer = napari.Viewer(title="napari-segkit: Clicks")
    viewer.window.resize(1300, 820)
    image, truth, seeds = viewer.open_sample("napari-segkit", "nuclei_2d")
    reference = np.asarray(truth.data)
    viewer.layers.remove(truth)
    viewer.layers.remove(seeds)
    ids = [i for i in np.unique(reference) if i][:6]
    clicks = np.array([ClickRobot(reference == i).first_click() for i in ids], dtype=float)
    positive = viewer.add_points(clicks, name="positive", face_color="lime", size=6)
    background = np.argwhere(reference == 0)[len(np.argwhere(reference == 0)) // 2][None].astype(float)
    negative = viewer.add_points(background, name="negative", face_color="magenta", size=6)
    widget = ClicksWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Clicks", area="right")
    widget.image_layer = image
    widget.set_layer("positive", positive)
    widget.set_layer("negative", negative)
    widget.run()
    _wait(widget)
    result = viewer.layers[-1]
    result.contour = 2
    viewer.layers.selection.active = positive
    viewer.reset_view()
    _wait(widget)
    IMAGES.mkdir(exist_ok=True)
    _save(viewer.screenshot(canvas_only=False, flash=False), IMAGES / "clicks.png")
    viewer.close()


if __name__ == "__main__":
    main()
