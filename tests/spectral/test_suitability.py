"""Normalized cut and spectral clustering say so when an image does not suit them."""

import warnings

import numpy as np
import pytest

from napari_segkit import normalized_cut, spectral_clustering
from napari_segkit.samples import nuclei_2d
from napari_segkit.spectral._suitability import explained_variance, warn_if_unsuited


def _messages(function, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        labels = function(*args, **kwargs)
    return labels, [str(w.message) for w in caught if "does not suit" in str(w.message)]


def test_explained_variance_exact():
    intensity = np.array([0.0, 0.0, 1.0, 1.0])
    assert explained_variance(intensity, np.array([1, 1, 2, 2])) == 1.0
    assert explained_variance(intensity, np.array([1, 2, 1, 2])) == 0.0
    assert explained_variance(np.array([0.0, 1.0, 2.0, 3.0]), np.array([1, 1, 2, 2])) == pytest.approx(0.8)


def test_one_segment_for_the_whole_image_is_reported():
    image = nuclei_2d((64, 64), n_nuclei=4).image
    labels, messages = _messages(normalized_cut, image, threshold=1e-6, rng=0)
    assert np.unique(labels).tolist() == [1]
    assert len(messages) == 1
    assert messages[0].startswith("normalized_cut found one segment for the whole image")
    assert "n_segments=N" in messages[0] and "kmeans(image, 2)" in messages[0]


def test_worse_than_a_threshold_is_reported():
    # spectral clustering's two clusters on fluorescence nuclei follow position, not the nuclei
    image = nuclei_2d().image
    labels, messages = _messages(spectral_clustering, image, 2, rng=0)
    assert np.unique(labels).tolist() == [1, 2]
    assert len(messages) == 1
    assert "spectral_clustering: its 2 segments explain" in messages[0]
    assert "worse than a threshold" in messages[0] and "n_clusters" in messages[0]


@pytest.mark.parametrize("function, task", [(normalized_cut, {"n_segments": 2}), (spectral_clustering, {"n_clusters": 2})])
def test_an_image_that_suits_gives_no_warning(function, task):
    image = np.zeros((30, 30))
    image[:, 15:] = 1
    image += np.random.default_rng(0).normal(0, 0.05, image.shape)
    labels, messages = _messages(function, image, rng=0, **task)
    assert messages == []
    assert len(np.unique(labels[:, :15])) == 1 and len(np.unique(labels[:, 15:])) == 1


def test_constant_image_and_direct_call():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_if_unsuited(np.ones((4, 4), int), np.zeros((4, 4, 1)), method="m", advice="x")
    assert caught == []  # a constant image has its own warning
    data = np.zeros((4, 4, 1))
    data[:, 2:] = 1
    with pytest.warns(UserWarning, match="m: its 2 segments explain 0 % .* Otsu threshold 100 %"):
        warn_if_unsuited(np.tile([1, 2], (4, 2)), data, method="m", advice="x")
