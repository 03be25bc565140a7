"""Take docs/images/clicks.png and clicks-correction.png: the Clicks widget docked in napari after real runs.

clicks.png: one positive click on each of six nuclei of the synthetic sample, and one negative click, in two
Points layers; the result is a Labels layer drawn as contours.  clicks-correction.png: one nucleus whose first
click misses part of it, and the correction click the click robot places at the deepest missed point; the
first click's result alone is drawn beside the corrected one.  Run with a display, or under a virtual one::

    xvfb-run -a python docs/make_screenshots_clicks.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_screenshots import IMAGES, _run_docked, _save, _wait  # noqa: E402  (shared helpers)


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
    _run_docked(viewer, widget, "Clicks", image, {"positive": positive, "negative": negative}, contour=2)
    viewer.layers.selection.active = positive
    viewer.reset_view()
    _wait(widget)
    IMAGES.mkdir(exist_ok=True)
    _save(viewer.screenshot(canvas_only=False, flash=False), IMAGES / "clicks.png")
    viewer.close()
    correction()


def correction(nucleus: int = 4) -> None:
    """One nucleus: its first click's object (orange outline), then the robot's correction click."""
    import napari
    from napari.utils.colormaps import DirectLabelColormap

    from napari_segkit import segment_clicks
    from napari_segkit._napari._clicks_widget import ClicksWidget
    from napari_segkit.evaluation import ClickRobot, iou

    viewer = napari.Viewer(title="napari-segkit: a click correction")
    viewer.window.resize(1300, 820)
    image, truth, seeds = viewer.open_sample("napari-segkit", "nuclei_2d")
    reference = np.asarray(truth.data) == nucleus
    viewer.layers.remove(truth)
    viewer.layers.remove(seeds)
    robot = ClickRobot(reference)
    first = robot.first_click()
    before = segment_clicks(np.asarray(image.data), [first], rng=0)
    point, positive = robot.next_click(before != 0)
    layer = viewer.add_labels((before != 0).astype(np.uint8), name="first click only", opacity=1.0)
    layer.contour = 1
    layer.colormap = DirectLabelColormap(color_dict={None: "transparent", 1: "orange"})
    clicks = viewer.add_points(np.array([first, point], dtype=float), name="positive", face_color="lime", size=1.5)
    widget = ClicksWidget(viewer)
    result = _run_docked(viewer, widget, "Clicks", image, {"positive": clicks}, contour=1)
    after = np.asarray(result.data) != 0
    print(f"nucleus {nucleus}: IoU {iou(before != 0, reference):.2f} after the first click, "
          f"{iou(after, reference):.2f} after the correction ({'positive' if positive else 'negative'} at {point})")
    where = np.argwhere(reference)
    centre = where.mean(axis=0)
    viewer.camera.center = tuple(centre)
    viewer.camera.zoom = 8
    viewer.layers.selection.active = clicks
    _wait(widget)
    _save(viewer.screenshot(canvas_only=False, flash=False), IMAGES / "clicks-correction.png")
    viewer.close()


if __name__ == "__main__":
    main()
