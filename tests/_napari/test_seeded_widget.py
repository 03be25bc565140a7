"""The Random walker and Watershed dock widgets give the headless result on the image's grid."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari")

from napari.layers import Labels

from napari_segkit import random_walker, watershed
from napari_segkit._napari._seeded_widget import RandomWalkerWidget, WatershedWidget


@pytest.mark.parametrize(("widget_class", "function"), [(RandomWalkerWidget, random_walker),
                                                         (WatershedWidget, watershed)])
def test_widget_matches_headless(viewer, wait_idle, widget_class, function):
    image = np.full((2, 24, 24), 10.0)
    image[:, 6:16, 6:16] = 200.0
    seeds = np.zeros(image.shape, np.int32)
    seeds[:, 10, 10] = 1
    seeds[:, 0, 0] = 2
    img = viewer.add_image(image, name="cells", scale=(1.0, 2.0, 2.0))
    viewer.add_labels(seeds, name="seeds", scale=(1.0, 2.0, 2.0))
    widget = widget_class(viewer)
    viewer.window.add_dock_widget(widget)
    widget.image_layer = img
    widget.set_layer("seeds", viewer.layers["seeds"])
    widget._spatial_dims.value = 2
    widget.run()
    wait_idle(widget)
    out = viewer.layers[f"cells {widget.method_name}"]
    assert isinstance(out, Labels) and tuple(out.scale) == (1.0, 2.0, 2.0)
    expected = function(image, seeds, spatial_dims=2, spacing=(2.0, 2.0))
    np.testing.assert_array_equal(out.data, expected)
    assert set(np.unique(out.data)) == {0, 1}
