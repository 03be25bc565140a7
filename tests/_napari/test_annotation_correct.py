"""Correcting a proposal by clicks in the Annotate widget, on one frame of a time series, then accepting it."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari")

from napari_segkit._napari._annotation_widget import AnnotationWidget
from napari_segkit.evaluation import iou


def _movie():
    rng = np.random.default_rng(0)
    yy, xx = np.indices((80, 80))
    truth = np.zeros((2, 80, 80), np.int32)
    truth[1][(yy - 25) ** 2 + (xx - 25) ** 2 <= 100] = 1
    truth[1][(yy - 55) ** 2 + (xx - 50) ** 2 <= 120] = 2
    image = (100 + 500 * (truth > 0) + rng.normal(0, 40, truth.shape)).astype(np.float32)
    return image, truth


def test_correct_selected_proposal_with_clicks_and_accept(viewer, error_messages):
    image, truth = _movie()
    proposals = truth.copy()
    proposals[1, 40:75, 60:78] = 2  # proposal 2 took a slab of background on frame 1
    movie = viewer.add_image(image, name="movie", axis_labels=("t", "y", "x"))
    layer = viewer.add_labels(proposals, name="proposals")
    annotate = AnnotationWidget(viewer)
    annotate._image.value = movie
    annotate.new_set()
    annotate._source.value = layer
    layer.selected_label = 2

    clicks = [(1, 50, 70), (1, 66, 72)]  # negative: "the slab is not the object"
    points = viewer.add_points(clicks, name="fix", features={"positive": [False, False]})
    annotate._points.value = points
    ids = annotate.correct_selected()
    accepted = annotate.layer.data[1] == ids[0]
    assert iou(proposals[1] == 2, truth[1] == 2) < 0.6 and iou(accepted, truth[1] == 2) > 0.85
    assert not annotate.layer.data[0].any()  # frame 0 untouched
    assert annotate.annotations.effort().interactions == 2
    assert not error_messages
