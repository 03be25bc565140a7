"""Mean shift: modes as scikit-learn's MeanShift(bin_seeding=True), dask == numpy."""

import dask.array as da
import numpy as np
import pytest

from napari_segkit._errors import InputError
from napari_segkit.clustering import estimate_bandwidth, mean_shift
from napari_segkit.clustering.mean_shift import find_modes


def same_partition(a, b):
    pairs = np.unique(np.stack([np.ravel(a), np.ravel(b)]), axis=1)
    return len(np.unique(pairs[0])) == pairs.shape[1] == len(np.unique(pairs[1]))


def quadrants(noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    truth = np.ones((20, 21), int)
    truth[:10, 10:] = 2
    truth[10:, :10] = 3
    truth[10:, 10:] = 4
    return (truth - 1) + rng.normal(0, noise, truth.shape), truth


def blobs(seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0, 0], [3, 0, 1], [0, 3, 2], [3, 3, -1]], float)
    points = np.concatenate([c + rng.normal(0, 0.4, (150, 3)) for c in centres])
    return np.round(points, 1)  # repeated values, as pixel data has


def match_modes(a, b):
    """Largest distance from a mode of ``a`` to the nearest mode of ``b``, and back."""
    d = np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1))
    return max(d.min(1).max(), d.min(0).max())


def test_modes_match_sklearn_exactly_without_pooling():
    from sklearn.cluster import MeanShift

    points = blobs()
    bandwidth = 1.2
    reference = MeanShift(bandwidth=bandwidth, bin_seeding=True).fit(points).cluster_centers_
    modes, _ = find_modes(points / bandwidth)
    assert len(modes) == len(reference)
    assert match_modes(modes * bandwidth, reference) < 1e-9


def test_modes_match_sklearn_with_pooled_points():
    from sklearn.cluster import MeanShift

    points = blobs(1)
    bandwidth = 1.2
    reference = MeanShift(bandwidth=bandwidth, bin_seeding=True).fit(points).cluster_centers_
    modes, _ = find_modes(points / bandwidth, max_points=50)  # force cells of 1/8 bandwidth
    assert len(modes) == len(reference)
    assert match_modes(modes * bandwidth, reference) < 1e-9  # finished on the exact points


def test_bandwidth_estimate_matches_sklearn():
    from sklearn.cluster import estimate_bandwidth as sk_estimate

    points = blobs()
    assert estimate_bandwidth(points, quantile=0.3) == pytest.approx(
        sk_estimate(points, quantile=0.3), rel=1e-9
    )


def test_quadrants_exact_ids():
    image, truth = quadrants()
    labels = mean_shift(image, bandwidth=0.1)
    np.testing.assert_array_equal(labels, truth)
    scaled = image.astype(np.float32) * 1e3 + 5e5  # A9, A10: dtype and magnitude do not matter
    np.testing.assert_array_equal(mean_shift(scaled, bandwidth=0.1), truth)
    np.testing.assert_array_equal(mean_shift(scaled, rng=0), mean_shift(image, rng=0))


def test_rgb_and_five_channels():
    colours = np.array([[200, 30, 30], [30, 200, 30], [30, 30, 200]], np.uint8)
    truth = np.repeat(np.arange(3), 64).reshape(12, 16)
    rng = np.random.default_rng(0)
    image = np.clip(colours[truth] + rng.normal(0, 4, truth.shape + (3,)), 0, 255).astype(np.uint8)
    assert same_partition(mean_shift(image, channel_axis=-1, bandwidth=0.2), truth)
    fluo = rng.normal(100, 3, (5,) + truth.shape)
    for c in range(5):  # each channel bright in one of the three regions
        fluo[c] += 200 * (truth == c % 3)
    assert same_partition(mean_shift(fluo, channel_axis=0, bandwidth=0.2), truth)


def test_spatial_bandwidth_separates_distant_alike_regions():
    image = np.zeros((20, 40))
    image[5:15, 3:12] = 1
    image[5:15, 28:37] = 1
    plain = mean_shift(image, bandwidth=0.3)
    assert np.unique(plain).size == 2
    joint = mean_shift(image, bandwidth=0.3, spatial_bandwidth=12.0)
    left, right = joint[10, 7], joint[10, 32]
    assert left != right
    assert (joint[5:15, 3:12] == left).all() and (joint[5:15, 28:37] == right).all()


@pytest.mark.parametrize("chunks", [(6, 5), (20, 21)])
def test_dask_equals_numpy(chunks):
    image, truth = quadrants(noise=0.2, seed=2)
    expected = mean_shift(image, rng=1, max_samples=200)
    lazy = mean_shift(da.from_array(image, chunks=chunks), rng=1, max_samples=200)
    assert isinstance(lazy, da.Array)
    np.testing.assert_array_equal(lazy.compute(), expected)


def test_instances_dask_equals_numpy():
    image = np.zeros((16, 16))
    image[2:6, 2:14] = 1
    image[9:14, 1:4] = 1
    image[9:14, 8:15] = 1
    labels = mean_shift(image, bandwidth=0.3, instances=True)
    assert labels.max() == 4
    lazy = mean_shift(da.from_array(image, chunks=5), bandwidth=0.3, instances=True).compute()
    assert same_partition(lazy, labels)


def test_same_rng_same_labels():
    image = np.random.default_rng(3).random((25, 25))
    a = mean_shift(image, rng=4, max_samples=300)
    np.testing.assert_array_equal(a, mean_shift(image, rng=4, max_samples=300))


def test_constant_image_one_cluster():  # A16
    with pytest.warns(UserWarning, match="constant"):
        labels = mean_shift(np.full((6, 7), 3, np.uint16))
    assert (labels == 1).all()


def test_nan_raises_unless_masked():  # A14
    image, truth = quadrants()
    image[4, 4] = np.nan
    with pytest.raises(InputError, match="1 NaN"):
        mean_shift(image, bandwidth=0.1)
    mask = np.ones(image.shape, bool)
    mask[4, 4] = False
    labels = mean_shift(image, bandwidth=0.1, mask=mask)
    assert labels[4, 4] == 0 and (labels[mask] == truth[mask]).all()


@pytest.mark.parametrize("kwargs, match", [
    ({"bandwidth": 0}, "bandwidth"),
    ({"spatial_bandwidth": -2}, "spatial_bandwidth"),
    ({"quantile": 2}, "quantile"),
    ({"min_bin_freq": 0}, "min_bin_freq"),
])
def test_bad_options(kwargs, match):
    with pytest.raises(InputError, match=match):
        mean_shift(np.zeros((4, 4)), **kwargs)
