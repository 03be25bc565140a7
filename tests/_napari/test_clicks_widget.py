"""The Clicks dock widget: Points layers (world coordinates) -> objects in a Labels layer."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("napari")

from napari_segkit import segment_clicks
from napari_segkit._napari._clicks_widget import ClicksWidget
from napari_segkit.evaluation import iou

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "prompts"))
from _click_helpers import _discs  # noqa: E402


def test_clicks_widget_points_in_world_coordinates(viewer, wait_idle):
    image, truth = _discs()
    layer = viewer.add_image(image, name="discs", scale=(0.5, 0.5))
    # points at pixel (40, 40) and (95, 90), drawn in world coordinates (scale 0.5)
    positive = viewer.add_points(np.array([[40, 40], [95, 90]]) * 0.5, name="positive")
    negative = viewer.add_points(np.zeros((0, 2)), name="negative")
    widget = ClicksWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.image_layer = layer
    widget.set_layer("positive", positive)
    widget.set_layer("negative", negative)
    widget.run()
    wait_idle(widget)
    out = viewer.layers[-1]
    assert out.name == "discs clicks" and tuple(out.scale) == (0.5, 0.5)
    expected = segment_clicks(image, [[40, 40], [95, 90]], rng=0, n_components=3)
    np.testing.assert_array_equal(out.data, expected)
    assert iou(out.data == 1, truth == 1) > 0.85 and iou(out.data == 2, truth == 3) > 0.85
