"""SLIC picks its defaults from the image: useful superpixels on fluorescence nuclei without tuning."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from napari_segkit import slic
from napari_segkit._scale import object_radius
from napari_segkit.samples import nuclei_2d

DEVDATA = Path(os.environ.get("SEGKIT_DEVDATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "devdata"))


def achievable_accuracy(superpixels, truth):
    """Fraction of pixels right when every superpixel takes its majority true label."""
    n, m = int(superpixels.max()) + 1, int(truth.max()) + 1
    joint = np.bincount(superpixels.ravel().astype(np.int64) * m + truth.ravel(), minlength=n * m)
    return joint.reshape(n, m).max(axis=1).sum() / truth.size


def test_object_radius_of_discs():
    yy, xx = np.mgrid[:200, :200]
    image = np.zeros((200, 200))
    for cy, cx in [(40, 40), (40, 150), (150, 60), (140, 150)]:
        image[(yy - cy) ** 2 + (xx - cx) ** 2 < 12**2] = 1.0
    assert 9 <= object_radius(image[..., None]) <= 16


def test_defaults_beat_photograph_defaults_on_synthetic_nuclei():
    sample = nuclei_2d((256, 256), n_nuclei=30, rng=1)
    truth = sample.labels.astype(np.int64)
    old = achievable_accuracy(slic(sample.image, 100, compactness=10.0), truth)
    new = achievable_accuracy(slic(sample.image), truth)
    assert new > 0.95 and new > old + 0.03  # measured 0.97 vs 0.86


@pytest.mark.skipif(not (DEVDATA / "kc167_cells_2d_image.tif").exists(), reason="devdata absent")
def test_defaults_on_real_fluorescence_cells():
    tifffile = pytest.importorskip("tifffile")
    dna = tifffile.imread(DEVDATA / "kc167_cells_2d_image.tif")[1]
    truth = tifffile.imread(DEVDATA / "kc167_cells_2d_labels.tif").astype(np.int64)
    old = achievable_accuracy(slic(dna, 100, compactness=10.0), truth)
    new = achievable_accuracy(slic(dna), truth)
    assert new > 0.85 and old < 0.55  # measured 0.88 vs 0.49


def test_time_series_frame_by_frame_with_unique_ids():
    from napari_segkit.samples import nuclei_time_series

    series = nuclei_time_series().image[:3]
    labels = slic(series, 50, spatial_dims=2)
    first, second = slic(series[0], 50), slic(series[1], 50)
    np.testing.assert_array_equal(labels[0], first)
    np.testing.assert_array_equal(labels[1], np.where(second > 0, second + first.max(), 0))
    assert len(np.unique(labels)) == labels[2].max()  # ids 1..n over the whole result, none shared
