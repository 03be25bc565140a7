"""Take the Train network, Predict and Refine screenshots in docs/images/.

Run with a display, or under a virtual one::

    xvfb-run -a python docs/make_screenshots_deep.py

One napari session trains a tiny U-Net (depth 2, width 8) on the plugin's
128 x 128 nuclei sample and its ground truth, predicts a second sample with
the saved model, and refines the predicted probabilities with a dense CRF.
Each step is screenshotted with its widget docked.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_screenshots import _save, _wait  # noqa: E402  (shared helpers)

IMAGES = Path(__file__).resolve().parent / "images"
MODEL = Path("/tmp/napari-segkit-docs-unet")


def _new_layers(viewer, before):
    return [layer for layer in viewer.layers if layer not in before]


def _shoot(viewer, widget, path: Path) -> None:
    viewer.window.resize(1300, 900)
    viewer.reset_view()
    _wait(widget)
    _save(viewer.screenshot(canvas_only=False, flash=False), path)


def shoot_all(out: Path) -> None:
    import napari

    from napari_segkit._napari._predict_widget import PredictWidget
    from napari_segkit._napari._refine_widget import RefineWidget
    from napari_segkit._napari._train_widget import TrainWidget
    from napari_segkit.samples import nuclei_2d

    shutil.rmtree(MODEL, ignore_errors=True)
    viewer = napari.Viewer(title="napari-segkit: deep learning")
    viewer.window.resize(1300, 900)

    # 1. train
    train = nuclei_2d((128, 128), rng=1)
    image = viewer.add_image(train.image, name="train image")
    truth = viewer.add_labels(train.labels, name="train labels", opacity=0.4)
    widget = TrainWidget(viewer)
    dock = viewer.window.add_dock_widget(widget, name="Train network", area="right")
    dock.setMaximumWidth(520)
    widget.image_layer = image
    widget.set_layer("labels", truth)
    widget._architecture.value = "unet"
    widget._depth.value = 2
    widget._width.value = 8
    widget._budget.value = 20.0
    widget._epochs.value = 15
    widget._device.value = "auto"
    widget._folder.value = str(MODEL)
    widget._overwrite.value = True
    widget.run()
    _wait(widget, timeout=180)
    print("train:", widget.status)
    _shoot(viewer, widget, out / "train-network.png")
    viewer.window.remove_dock_widget(dock)

    # 2. predict on a second sample
    for layer in (image, truth):
        layer.visible = False
    test = nuclei_2d((128, 128), rng=2)
    test_image = viewer.add_image(test.image, name="test image")
    widget = PredictWidget(viewer)
    dock = viewer.window.add_dock_widget(widget, name="Predict", area="right")
    dock.setMaximumWidth(520)
    widget.image_layer = test_image
    widget._model.value = str(MODEL)
    before = list(viewer.layers)
    widget.run()
    _wait(widget, timeout=120)
    print("predict:", widget.status)
    predicted = _new_layers(viewer, before)
    probs = next(layer for layer in predicted if "probabilit" in layer.name)
    labels = next(layer for layer in predicted if layer is not probs)
    probs.visible = False
    labels.opacity = 0.5
    _shoot(viewer, widget, out / "predict-network.png")
    viewer.window.remove_dock_widget(dock)

    # 3. refine the predicted probabilities
    labels.visible = False
    widget = RefineWidget(viewer)
    dock = viewer.window.add_dock_widget(widget, name="Refine", area="right")
    dock.setMaximumWidth(520)
    widget.image_layer = test_image
    widget.set_layer("probabilities", probs)
    widget._method.value = "Dense CRF"
    before = list(viewer.layers)
    widget.run()
    _wait(widget, timeout=120)
    print("refine:", widget.status)
    for layer in _new_layers(viewer, before):
        if "probabilit" in layer.name:
            layer.visible = False  # show the refined labels over the image
        else:
            layer.opacity = 0.5
    _shoot(viewer, widget, out / "refine.png")
    viewer.close()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=IMAGES)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    shoot_all(args.out)


if __name__ == "__main__":
    main()
