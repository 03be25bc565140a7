"""The Clustering dock widget (K-means, mean shift, SLIC) in a real viewer."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari")

import dask.array as da
from napari.layers import Labels

from napari_segkit import Cancelled, kmeans, slic
from napari_segkit._napari._clustering_widget import ClusteringWidget, compute_lazy


def _same_partition(labels, truth) -> bool:
    """Whether ``labels`` equals ``truth`` up to a renumbering (a bijection)."""
    pairs = np.unique(np.stack([np.ravel(labels), np.ravel(truth)]), axis=1)
    return len(set(pairs[0])) == len(set(pairs[1])) == pairs.shape[1]


def _bands(shape=(36, 30)):
    """Three horizontal bands (dark, mid, bright) with seeded noise, and their truth 1..3."""
    truth = np.repeat(np.arange(1, 4), shape[0] // 3)[:, None].repeat(shape[1], axis=1)
    rng = np.random.default_rng(0)
    image = 100.0 * (truth - 1) + rng.normal(0, 5, shape)
    return image, truth.astype(np.int32)


def _run(widget, wait_idle, method, **controls):
    widget.method = method
    for name, value in controls.items():
        getattr(widget, f"_{name}").value = value
    assert widget.run() is not None
    wait_idle(widget)
    return widget.viewer.layers[-1]


def test_three_methods_on_grayscale_and_lazy_rgba(viewer, wait_idle):
    image, truth = _bands()
    layer = viewer.add_image(image, name="bands", scale=(2.0, 0.5), translate=(3.0, -1.0))
    widget = ClusteringWidget(viewer)
    widget.image_layer = layer

    out = _run(widget, wait_idle, "K-means", n_clusters=3)
    assert isinstance(out, Labels) and out.name == "bands k-means"
    assert tuple(out.scale) == (2.0, 0.5) and tuple(out.translate) == (3.0, -1.0)
    assert out.data.dtype == np.uint16 and np.array_equal(out.data, truth)  # ids by brightness
    assert widget.status.startswith("done") and widget._run_button.enabled

    out = _run(widget, wait_idle, "Mean shift", bandwidth=0.2)
    assert out.name == "bands mean shift" and np.array_equal(out.data, truth)

    out = _run(widget, wait_idle, "SLIC superpixels", n_segments=6, compactness=0.1)
    assert out.name == "bands SLIC" and tuple(out.scale) == (2.0, 0.5)
    expected = slic(image, 6, compactness=0.1, spacing=(2.0, 0.5))
    assert np.array_equal(out.data, expected)
    assert not np.array_equal(expected, slic(image, 6, compactness=0.1))  # spacing mattered
    assert [l.name for l in viewer.layers][1:] == ["bands k-means", "bands mean shift", "bands SLIC"]

    # RGBA uint8 held in dask: colour clustering, alpha dropped, the layer stays lazy
    rgba = np.zeros((24, 32, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    rgba[:, :16, 0] = 200  # red left half
    rgba[:, 16:, 2] = 200  # blue right half
    rgba[5:9, 20:24] = (200, 200, 0, 255)  # a yellow square inside the blue half
    colour = viewer.add_image(da.from_array(rgba, chunks=(8, 8, 4)), name="colour", rgb=True)
    widget.image_layer = colour
    assert not widget._channel_axis.enabled
    out = _run(widget, wait_idle, "K-means", n_clusters=3, instances=True)
    assert isinstance(colour.data, da.Array)
    assert out.name == "colour k-means" and out.data.shape == (24, 32)
    assert isinstance(out.data, np.ndarray)
    truth_rgb = np.where(np.arange(32) < 16, 1, 2)[None, :].repeat(24, axis=0)
    truth_rgb[5:9, 20:24] = 3
    assert _same_partition(out.data, truth_rgb)
    assert np.array_equal(out.data, kmeans(rgba, 3, channel_axis=-1, rgb=True, instances=True, rng=0))


def test_core_error_is_shown_and_ui_re_enabled(viewer, wait_idle, error_messages):
    image, _ = _bands()
    image[3, 4] = np.nan
    viewer.add_image(image, name="holes")
    widget = ClusteringWidget(viewer)
    n_layers = len(viewer.layers)
    widget.method = "Mean shift"
    widget.run()
    wait_idle(widget)
    assert len(viewer.layers) == n_layers
    assert error_messages and "NaN" in error_messages[-1]
    assert widget.status.startswith("error") and widget._run_button.enabled
    assert not widget._cancel_button.enabled
    # controls follow the method
    assert widget._bandwidth.native.isVisibleTo(widget.native)
    assert not widget._n_clusters.native.isVisibleTo(widget.native)
    widget.method = "SLIC superpixels"
    assert widget._compactness.native.isVisibleTo(widget.native)
    assert not widget._seed.native.isVisibleTo(widget.native)


def test_compute_lazy_reports_and_cancels_between_blocks():
    labels = da.ones((40, 40), chunks=10, dtype=np.int32) + 1
    seen = []
    out = compute_lazy(labels, lambda f, m: seen.append(f))
    assert out.dtype == np.int32 and np.all(out == 2)
    assert seen[0] == 0.5 and seen[-1] == 1.0 and seen == sorted(seen) and len(seen) > 16

    calls = []

    def cancel_after_three(fraction, message):
        calls.append(fraction)
        if len(calls) > 3:
            raise Cancelled("cancelled by the user")

    with pytest.raises(Cancelled):
        compute_lazy(labels, cancel_after_three)
    assert len(calls) == 4


def test_slic_defaults_come_from_the_image(viewer, wait_idle):
    image, _ = _bands()
    layer = viewer.add_image(image, name="bands")
    widget = ClusteringWidget(viewer)
    widget.image_layer = layer
    widget.method = "SLIC superpixels"
    assert widget._n_segments.value == 0 and widget._compactness.value == 0  # 0 = from the image
    out = _run(widget, wait_idle, "SLIC superpixels")
    np.testing.assert_array_equal(out.data, slic(image))


def test_spatial_axes_choice_clusters_a_series_frame_by_frame(viewer, wait_idle):
    image, truth = _bands((24, 20))
    series = np.stack([image, image[::-1]])  # (T, Y, X): the second frame upside down
    layer = viewer.add_image(series, name="series", scale=(1.0, 2.0, 0.5))
    widget = ClusteringWidget(viewer)
    widget.image_layer = layer
    assert widget._spatial_dims.value is None  # default: a 3-D image is one volume
    out = _run(widget, wait_idle, "K-means", n_clusters=3, spatial_dims=2)
    np.testing.assert_array_equal(out.data, kmeans(series, 3, spatial_dims=2, spacing=(2.0, 0.5), rng=0))
    np.testing.assert_array_equal(out.data[0], truth)  # each frame has its own ids, 1..3 then 4..6
    np.testing.assert_array_equal(out.data[1], truth[::-1] + 3)
    out = _run(widget, wait_idle, "SLIC superpixels", n_segments=4, compactness=0.1, spatial_dims=2)
    np.testing.assert_array_equal(out.data, slic(series, 4, compactness=0.1, spatial_dims=2, spacing=(2.0, 0.5)))
    assert out.data[1].min() > out.data[0].max()  # superpixel ids never span frames
