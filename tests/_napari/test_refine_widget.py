"""The Refine probabilities dock widget (dense CRF, graph cut, live mode)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari")

from napari.layers import Image, Labels

from napari_segkit import crf_refine, graph_cut_refine
from napari_segkit._napari._refine_widget import GRAPH_CUT, RefineWidget


def _case():
    rng = np.random.default_rng(1)
    image = rng.normal(0.2, 0.05, (48, 48)).astype(np.float32)
    image[12:36, 14:34] += 0.6
    p = np.full((48, 48), 0.35, np.float32)
    p[10:38, 12:36] = 0.65  # a blurred, too-large object map
    p = np.clip(p + rng.normal(0, 0.1, p.shape), 0.01, 0.99).astype(np.float32)
    return image, p


def test_crf_and_graph_cut_match_headless_and_live(viewer, qtbot, wait_idle, error_messages):
    image, p = _case()
    img = viewer.add_image(image, name="cells", scale=(2.0, 2.0))
    probs = viewer.add_image(np.stack([1 - p, p]), name="cells prob", scale=(1.0, 2.0, 2.0))
    widget = RefineWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.image_layer = img
    widget.set_layer("probabilities", probs)
    widget.run()
    wait_idle(widget)
    refined = crf_refine(image, np.stack([1 - p, p], axis=-1), spacing=(2.0, 2.0))
    labels = refined.argmax(axis=-1)
    out = viewer.layers["cells refined CRF"]
    assert isinstance(out, Labels) and np.array_equal(out.data, labels)
    assert tuple(out.scale) == (2.0, 2.0)
    prob_out = viewer.layers["cells refined CRF probabilities"]
    assert isinstance(prob_out, Image) and np.allclose(prob_out.data, np.moveaxis(refined, -1, 0))
    assert (labels[12:36, 14:34] == 1).mean() > 0.95 and (labels == 1).sum() < 1.2 * 24 * 20

    # graph cut of a single object-probability map, with scribbles; labels 1 = object, 0 = background
    single = viewer.add_image(p, name="object prob", scale=(2.0, 2.0))
    seeds = np.zeros(image.shape, np.int32)
    seeds[24, 20:28] = 1
    seeds[2, 2:40] = 2
    scribbles = viewer.add_labels(seeds.copy(), name="scribbles", scale=(2.0, 2.0))
    widget.set_layer("probabilities", single)
    widget.set_layer("scribbles", scribbles)
    widget._method.value = GRAPH_CUT
    widget.run()
    wait_idle(widget)
    expected = graph_cut_refine(image, p, seeds=seeds, spacing=(2.0, 2.0))
    cut = viewer.layers["cells refined graph cut"]
    assert np.array_equal(cut.data, expected)
    assert set(np.unique(cut.data)) == {0, 1}

    # live: a stroke re-cuts on its own (background scribble over the object's left part)
    widget._live.value = True
    before = cut.data.copy()
    scribbles.paint((24, 16), 2, refresh=True)
    qtbot.waitUntil(lambda: not np.array_equal(cut.data, before), timeout=10000)
    wait_idle(widget)
    assert cut.data[24, 16] == 0

    # a probability map that does not fit the image is refused
    widget._live.value = False
    bad = viewer.add_image(np.zeros((2, 40, 40), np.float32), name="bad prob")
    widget.set_layer("probabilities", bad)
    assert widget.run() is None
    assert "bad prob" in error_messages[-1] and "(48, 48)" in error_messages[-1]
