"""The Normalized cut and Spectral clustering dock widgets in a real viewer."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari")

from napari.layers import Labels

from napari_segkit import normalized_cut
from napari_segkit._napari._spectral_widget import NormalizedCutWidget, SpectralClusteringWidget


def _same_partition(labels, truth) -> bool:
    """Whether ``labels`` equals ``truth`` up to a renumbering (a bijection)."""
    pairs = np.unique(np.stack([np.ravel(labels), np.ravel(truth)]), axis=1)
    return len(set(pairs[0])) == len(set(pairs[1])) == pairs.shape[1]


def _quadrants(shape=(24, 28)):
    """Four quadrants of different brightness with seeded noise, and their truth 1..4."""
    truth = np.ones(shape, dtype=np.int32)
    h, w = shape[0] // 2, shape[1] // 2
    truth[:h, w:], truth[h:, :w], truth[h:, w:] = 2, 3, 4
    means = np.array([0, 10, 30, 60, 90], dtype=float)
    rng = np.random.default_rng(1)
    return means[truth] + rng.normal(0, 1.5, shape), truth


def test_normalized_cut_and_spectral_clustering(viewer, wait_idle):
    image, truth = _quadrants()
    layer = viewer.add_image(image, name="quad", scale=(1.5, 1.0), translate=(2.0, 4.0))
    ncut = NormalizedCutWidget(viewer)
    ncut.image_layer = layer
    ncut._n_segments.value = 4
    assert ncut.layer("superpixels") is None and ncut._nodes.enabled
    ncut.run()
    wait_idle(ncut)
    out = viewer.layers[-1]
    assert isinstance(out, Labels) and out.name == "quad normalized cut"
    assert tuple(out.scale) == (1.5, 1.0) and tuple(out.translate) == (2.0, 4.0)
    assert out.data.dtype == np.uint16 and _same_partition(out.data, truth)
    assert ncut.status.startswith("done")

    spectral = SpectralClusteringWidget(viewer)
    spectral.image_layer = layer
    spectral._n_clusters.value = 4
    spectral.run()
    wait_idle(spectral)
    out = viewer.layers[-1]
    assert out.name == "quad spectral clustering" and _same_partition(out.data, truth)

    # the nodes from a Labels layer: 4x2-pixel blocks, aligned with the quadrants
    blocks = (np.arange(24)[:, None] // 4) * 14 + np.arange(28)[None, :] // 2 + 1
    sp = viewer.add_labels(blocks.astype(np.int32), name="blocks", scale=(1.5, 1.0),
                           translate=(2.0, 4.0))
    ncut.set_layer("superpixels", sp)
    assert not ncut._nodes.enabled and not ncut._n_superpixels.enabled
    ncut._method.value = "kway"
    ncut.run()
    wait_idle(ncut)
    out = viewer.layers["quad normalized cut"]  # the widget's own unedited output, re-used
    assert viewer.layers[-1] is sp
    expected = normalized_cut(image, n_segments=4, method="kway", superpixels=blocks,
                              spacing=(1.5, 1.0), rng=0)
    assert np.array_equal(out.data, expected) and _same_partition(out.data, truth)


def test_bad_superpixels_and_core_error_are_shown(viewer, wait_idle, error_messages):
    image, _ = _quadrants()
    viewer.add_image(image, name="quad")
    viewer.add_labels(np.ones((10, 10), dtype=np.int32), name="small")
    widget = NormalizedCutWidget(viewer)
    widget.set_layer("superpixels", viewer.layers["small"])
    n_layers = len(viewer.layers)
    assert widget.run() is None  # refused before starting
    assert "'small'" in error_messages[-1] and "(10, 10)" in error_messages[-1]

    widget.set_layer("superpixels", None)
    widget._method.value = "kway"
    widget._n_segments.value = 0  # k-way needs a number of segments: the core says so
    widget.run()
    wait_idle(widget)
    assert "n_segments" in error_messages[-1]
    assert len(viewer.layers) == n_layers
    assert widget.status.startswith("error") and widget._run_button.enabled


def test_spatial_axes_choice_cuts_a_series_frame_by_frame(viewer, wait_idle):
    image, truth = _quadrants()
    series = np.stack([image, image[::-1]])  # (T, Y, X): the second frame upside down
    layer = viewer.add_image(series, name="series", scale=(1.0, 1.5, 1.0))
    ncut = NormalizedCutWidget(viewer)
    ncut.image_layer = layer
    ncut._n_segments.value = 4
    ncut._spatial_dims.value = 2
    ncut.run()
    wait_idle(ncut)
    out = viewer.layers[-1]
    expected = normalized_cut(series, n_segments=4, spatial_dims=2, spacing=(1.5, 1.0), n_superpixels=400, rng=0)
    np.testing.assert_array_equal(out.data, expected)
    assert _same_partition(out.data[0], truth) and _same_partition(out.data[1], truth[::-1])
    assert out.data[1].min() > out.data[0].max()  # each frame its own segments
