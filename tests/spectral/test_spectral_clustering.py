import numpy as np
import pytest

from napari_segkit import Cancelled, InputError
from napari_segkit.spectral import spectral_clustering

from spectral_cases import ari, regions_2d, same_partition, texture_2d


def test_three_regions_on_pixels():
    image, truth = regions_2d()
    labels = spectral_clustering(image, 3)
    assert labels.dtype == np.int32 and labels.shape == image.shape
    assert same_partition(labels, truth)
    assert labels[0, 0] == 1


def test_deterministic():
    image, _ = regions_2d(noise=0.08, seed=2)
    a = spectral_clustering(image, 4, rng=1)
    b = spectral_clustering(image, 4, rng=1)
    assert np.array_equal(a, b)


def test_texture_on_superpixels():
    image, truth = texture_2d()
    labels = spectral_clustering(image, 2, superpixels="slic", texture_weight=1.0)
    assert ari(truth, labels) > 0.7


def test_3d_anisotropic():
    rng = np.random.default_rng(1)
    truth = np.zeros((6, 20, 20), dtype=np.int32)
    truth[1:4, 4:12, 4:16] = 1
    image = truth * 0.7 + 0.2 + rng.normal(0, 0.03, truth.shape)
    labels = spectral_clustering(image, 2, spacing=(4.0, 1.0, 1.0))
    assert same_partition(labels, truth)


def test_progress_cancel():
    image, _ = regions_2d()

    def cancel(fraction, message):
        if message.startswith("k-means"):
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        spectral_clustering(image, 3, progress=cancel)


@pytest.mark.parametrize("n", [0, -2, 1.5, True])
def test_bad_n_clusters(n):
    with pytest.raises(InputError, match="n_clusters"):
        spectral_clustering(np.random.default_rng(0).random((8, 8)), n)
