"""The GrabCut dock widget and the shapes -> boxes conversion."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari")

from napari.layers import Image, Shapes

from napari_segkit import InputError, grabcut
from napari_segkit._napari import _grabcut_widget
from napari_segkit._napari._grabcut_widget import GrabCutWidget
from napari_segkit._napari._jobs import JobResult
from napari_segkit._napari._layers import image_input
from napari_segkit._napari._shapes import shapes_to_boxes


def _blobs():
    rng = np.random.default_rng(0)
    image = rng.normal(0.2, 0.04, (64, 96)).astype(np.float32)
    image[10:26, 10:30] += 0.6
    image[36:54, 40:60] += 0.6
    image[12:30, 66:86] += 0.6
    return image


def test_shapes_to_boxes_world_frame_types_and_depth():
    image_layer = Image(np.zeros((20, 64, 64), np.float32), scale=(2.0, 0.5, 0.5), translate=(0, 10, 0))
    image = image_input(image_layer)
    # a 2-D Shapes layer with its own grid: data (4, 2) at scale 1 = world (4, 12)..(14, 22)
    shapes = Shapes([np.array([[0, 0], [0, 10], [10, 10], [10, 0]]) + [4, 12]], shape_type="rectangle",
                    scale=(1.0, 1.0))
    with pytest.warns(UserWarning, match=r"1 shape\(s\) of 'Shapes' extend beyond .* clipped .*index 0\)"):
        boxes = shapes_to_boxes(shapes, image_layer, image, (10.0, 0.0, 0.0), spatial_dims=3, depth=5)
    # world y 4..14 -> data (4-10)/0.5 = -12..8 (clipped at 0); x 12..22 -> 24..44; z plane 5, 5 deep
    assert boxes.tolist() == [[[3, 0, 24], [8, 9, 45]]]
    flat = shapes_to_boxes(shapes, image_layer, image, (10.0, 0.0, 0.0), spatial_dims=2)
    assert flat[0, :, 0].tolist() == [5, 6]
    shapes.add_ellipses(np.array([[20, 20], [30, 30]]))
    with pytest.warns(UserWarning, match=r"shapes \[1\].*bounding boxes"):
        assert len(shapes_to_boxes(shapes, image_layer, image, (10.0, 0, 0), spatial_dims=3)) == 2
    shapes.add_lines(np.array([[1, 1], [5, 5]]))
    with pytest.raises(InputError, match="shape 2 of 'Shapes' is a line"):
        shapes_to_boxes(shapes, image_layer, image, (10.0, 0, 0), spatial_dims=3)
    far = Shapes([np.array([[500, 500], [600, 600]])], shape_type="rectangle")
    with pytest.raises(InputError, match="shape 0 .* lies outside"):
        shapes_to_boxes(far, image_layer, image, (10.0, 0, 0), spatial_dims=3)


def test_grabcut_widget_cache_and_add_to_layer(viewer, wait_idle, monkeypatch):
    image = _blobs()
    layer = viewer.add_image(image, name="blobs", scale=(0.5, 0.5))
    # rectangles drawn in a Shapes layer at scale 1: world = image data * 0.5
    boxes = np.array([[[4, 4], [32, 36]], [[30, 34], [60, 66]]])
    shapes = viewer.add_shapes([b * 0.5 for b in boxes], shape_type="rectangle", name="boxes")
    calls = []
    real = _grabcut_widget.grabcut
    monkeypatch.setattr(_grabcut_widget, "grabcut",
                        lambda img, b, **kw: calls.append(len(b)) or real(img, b, **kw))
    widget = GrabCutWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.image_layer = layer
    widget.set_layer("boxes", shapes)
    widget.run()
    wait_idle(widget)
    out = viewer.layers[-1]
    assert out.name == "blobs grabcut" and tuple(out.scale) == (0.5, 0.5)
    # pixel boxes from the world frame: corners at pixel edges (4..32 -> centres 4..32 inclusive)
    expected = grabcut(image, boxes + [[0, 0], [1, 1]], rng=0)
    assert np.array_equal(out.data, expected)
    assert calls == [2]

    shapes.add_rectangles(np.array([[5, 32], [16, 44]]))  # third box, world coordinates
    widget.run()
    wait_idle(widget)
    assert calls == [2, 1]  # only the new box was cut
    assert out.data.max() == 3 and np.array_equal(out.data == 1, expected == 1)
    third = grabcut(image, [[[10, 64], [33, 89]]], rng=0)
    assert np.array_equal(out.data == 3, third == 1)

    # add to an existing Labels layer: its labels untouched, new ids past its max
    existing = np.zeros(image.shape, np.int32)
    existing[0:20, 0:20] = 7
    target = viewer.add_labels(existing.copy(), name="mine", scale=(0.5, 0.5))
    widget._add.value = True
    widget._target.value = target
    n_layers = len(viewer.layers)
    widget.run()
    wait_idle(widget)
    assert len(viewer.layers) == n_layers and calls == [2, 1]  # all cached
    assert np.array_equal(target.data[existing == 7], existing[existing == 7])
    added = target.data[(existing == 0) & (out.data > 0)]
    assert set(np.unique(added)) == {8, 9, 10}
    assert np.array_equal(target.data[(existing == 0)] - 7 * (out.data[existing == 0] > 0),
                          out.data[existing == 0])

    # the target changed shape while the run went: the objects go to a new layer, the target is untouched
    target.data = np.zeros((8, 8), np.int32)
    widget.result_ready(JobResult(value={"labels": out.data.copy()}), [])
    assert not target.data.any() and len(viewer.layers) == n_layers + 1
    assert np.array_equal(viewer.layers[-1].data, out.data)


def test_grabcut_widget_refuses_lines(viewer, error_messages):
    layer = viewer.add_image(_blobs(), name="blobs")
    shapes = viewer.add_shapes([np.array([[4, 4], [32, 36]])], shape_type="line", name="boxes")
    widget = GrabCutWidget(viewer)
    widget.image_layer = layer
    widget.set_layer("boxes", shapes)
    assert widget.run() is None
    assert "shape 0 of 'boxes' is a line" in error_messages[-1]
