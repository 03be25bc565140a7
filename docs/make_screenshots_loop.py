"""Take the annotation-loop screenshots in docs/images/ (annotate, train on the annotations).

Run with a display, or under a virtual one::

    xvfb-run -a python docs/make_screenshots_loop.py

One napari session on the plugin's synthetic nuclei time series (4 frames,
axis labels t, y, x): GrabCut boxes on frame 0 are accepted into an
annotation set with background clicks; a tiny U-Net is trained on the set
(2-D, on the annotated frame), its plan line and live loss plot in the dock.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from scipy import ndimage as ndi

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_screenshots import _save, _wait  # noqa: E402  (shared helpers)

IMAGES = Path(__file__).resolve().parent / "images"
MODEL = Path("/tmp/napari-segkit-docs-loop-unet")


def _shoot(viewer, widget, path: Path) -> None:
    viewer.window.resize(1300, 900)
    _wait(widget)
    _save(viewer.screenshot(canvas_only=False, flash=False), path)


def shoot_all(out: Path) -> None:
    import napari

    import napari_segkit
    from napari_segkit._napari._annotation_widget import AnnotationWidget
    from napari_segkit._napari._train_widget import TrainWidget
    from napari_segkit.samples import nuclei_time_series

    shutil.rmtree(MODEL, ignore_errors=True)
    sample = nuclei_time_series(n_frames=4, shape=(128, 128), n_nuclei=14, rng=3)
    viewer = napari.Viewer(title="napari-segkit: the annotation loop")
    viewer.window.resize(1300, 900)
    movie = viewer.add_image(sample.image, name="movie", axis_labels=("t", "y", "x"))

    # 1. cut: GrabCut boxes on frame 0; accept them, add background clicks
    regions = [r for r in ndi.find_objects(sample.labels[0]) if r is not None][:6]
    boxes = np.array([[[max(0, s.start - 3) for s in r], [min(127, s.stop + 3) for s in r]] for r in regions])
    cut = np.zeros_like(sample.labels)
    cut[0] = napari_segkit.grabcut(sample.image[0], boxes)
    cuts = viewer.add_labels(cut, name="movie grabcut")
    viewer.add_shapes([np.array([[0, lo[0], lo[1]], [0, lo[0], hi[1]], [0, hi[0], hi[1]], [0, hi[0], lo[1]]])
                       for lo, hi in boxes],
                      shape_type="rectangle", edge_color="yellow", face_color="transparent", name="boxes")
    far = np.argwhere(ndi.distance_transform_edt(sample.labels[0] == 0) > 8)
    picks = far[np.random.default_rng(0).choice(len(far), 12, replace=False)]
    clicks = viewer.add_points(np.c_[np.zeros(len(picks)), picks], name="background clicks",
                               face_color="cyan", size=4)
    annotate = AnnotationWidget(viewer)
    dock = viewer.window.add_dock_widget(annotate, name="Annotate", area="right")
    dock.setMaximumWidth(520)
    annotate._image.value = movie
    annotate.new_set()
    annotate._source.value = cuts
    annotate.accept_all()
    annotate._points.value = clicks
    annotate.background_from_points()
    cuts.visible = False
    viewer.dims.set_point(0, 0)
    _shoot(viewer, SimpleNamespace(busy=False, _pending=False), out / "annotate.png")  # no background run

    # 2. train on the annotations (2-D network on the annotated frame)
    viewer.window.remove_dock_widget(dock)
    train = TrainWidget(viewer)
    tdock = viewer.window.add_dock_widget(train, name="Train network", area="right")
    tdock.setMaximumWidth(520)
    train.image_layer = movie
    train.set_layer("labels", annotate.layer)
    train._depth.value, train._width.value, train._epochs.value = 2, 8, 12
    train._budget.value = 60.0
    train._folder.value = str(MODEL)
    train._overwrite.value = True
    train.run()
    _wait(train, timeout=300)
    print("train:", train.status)
    _shoot(viewer, train, out / "train-annotations.png")

    viewer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=IMAGES)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    shoot_all(args.out)


if __name__ == "__main__":
    main()
