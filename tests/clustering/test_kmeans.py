"""K-means pixel clustering: known clusters, invariances, dask == numpy, bad inputs."""

import dask.array as da
import numpy as np
import pytest

from napari_segkit._errors import Cancelled, InputError
from napari_segkit.clustering import kmeans


def same_partition(a, b):
    pairs = np.unique(np.stack([np.ravel(a), np.ravel(b)]), axis=1)
    return len(np.unique(pairs[0])) == pairs.shape[1] == len(np.unique(pairs[1]))


def quadrants(noise=0.05, seed=0):
    """A 20x21 four-quadrant image with values 0, 1, 2, 3 and its cluster ids."""
    rng = np.random.default_rng(seed)
    truth = np.ones((20, 21), int)
    truth[:10, 10:] = 2
    truth[10:, :10] = 3
    truth[10:, 10:] = 4
    image = (truth - 1) + rng.normal(0, noise, truth.shape)
    return image, truth


def test_quadrants_exact_ids():
    image, truth = quadrants()
    labels = kmeans(image, 4, rng=0)
    assert labels.dtype == np.int32 and labels.shape == image.shape
    np.testing.assert_array_equal(labels, truth)  # ids ordered by intensity


@pytest.mark.parametrize("convert", [
    lambda x: np.clip((x + 1) * 50, 0, 255).astype(np.uint8),
    lambda x: np.clip((x + 1) * 1000, 0, None).astype(np.uint16),
    lambda x: (x * 40 - 100).astype(np.int8),
    lambda x: x.astype(np.float16),
    lambda x: x * 1e4 + 1e6,
    lambda x: x.astype(">f8"),
    lambda x: x[::-1, ::-1].copy()[::-1, ::-1],
])
def test_dtype_and_magnitude_invariance(convert):  # bad inputs A7, A9, A10, A12, A13
    image, truth = quadrants(noise=0.1)
    reference = kmeans(np.clip((image + 1) * 60, 0, 255).astype(np.uint8), 4, rng=3)
    converted = convert(image)
    before = converted.copy()
    labels = kmeans(converted, 4, rng=3)
    np.testing.assert_array_equal(labels, truth)
    np.testing.assert_array_equal(labels, reference)
    np.testing.assert_array_equal(converted, before)  # input never mutated


def test_rgb_colours_in_lab():
    colours = np.array([[200, 30, 30], [30, 200, 30], [30, 30, 200], [240, 240, 240]], np.uint8)
    truth = np.repeat(np.repeat(np.arange(4).reshape(2, 2), 8, 0), 8, 1)
    rng = np.random.default_rng(0)
    image = np.clip(colours[truth] + rng.normal(0, 6, truth.shape + (3,)), 0, 255).astype(np.uint8)
    labels = kmeans(image, 4, channel_axis=-1, rng=0)
    assert same_partition(labels, truth)
    # ordered by lightness: white last
    assert (labels[truth == 3] == 4).all()
    rgba = np.concatenate([image, np.full(truth.shape + (1,), 255, np.uint8)], axis=-1)
    np.testing.assert_array_equal(kmeans(rgba, 4, channel_axis=-1, rng=0), labels)  # A18
    channels_first = np.moveaxis(image, -1, 0)
    np.testing.assert_array_equal(kmeans(channels_first, 4, channel_axis=0, rng=0), labels)


def test_five_channel_fluorescence_uses_every_channel():
    rng = np.random.default_rng(2)
    truth = np.zeros((30, 30), int)
    truth[:, 15:] = 1
    image = rng.normal(100, 5, (5, 30, 30))
    image[4] += 300 * truth  # only the last channel differs
    labels = kmeans(image.astype(np.uint16), 2, channel_axis=0, rng=0)
    np.testing.assert_array_equal(labels, truth + 1)
    # as grayscale (first channel only) no such split exists
    assert not same_partition(kmeans(image[0], 2, rng=0), truth)


def test_spatial_weight_splits_by_position_with_spacing():
    rng = np.random.default_rng(0)
    image = rng.normal(0, 1, (16, 16))
    labels = kmeans(image, 2, spatial_weight=20.0, rng=0)
    # position dominates: two compact halves
    halves_rows = np.repeat([[1], [2]], 8, axis=0).repeat(16, 1)
    halves_cols = halves_rows.T
    assert same_partition(labels, halves_rows) or same_partition(labels, halves_cols)
    # spacing 4 along rows: rows are "longer", so the split is across rows
    labels = kmeans(image, 2, spatial_weight=20.0, spacing=(4, 1), rng=0)
    assert same_partition(labels, halves_rows)


@pytest.mark.parametrize("chunks", [(5, 7), (20, 21), (3, 21)])
def test_dask_equals_numpy(chunks):
    image, truth = quadrants(noise=0.3, seed=1)
    expected = kmeans(image, 3, rng=5, max_samples=150)
    lazy = kmeans(da.from_array(image, chunks=chunks), 3, rng=5, max_samples=150)
    assert isinstance(lazy, da.Array)
    np.testing.assert_array_equal(lazy.compute(), expected)


def test_instances_numpy_and_dask():
    image = np.zeros((20, 20))
    image[2:6, 2:6] = 1
    image[10:18, 3:5] = 1
    image[12:15, 12:19] = 2
    labels = kmeans(image, 3, rng=0, instances=True)
    assert labels.max() == 4  # background + 3 objects
    lazy = kmeans(da.from_array(image, chunks=(7, 6)), 3, rng=0, instances=True).compute()
    assert same_partition(lazy, labels)


def test_mask_excluded_pixels_are_zero_and_nan_allowed_there():  # A14 under a mask
    image, truth = quadrants()
    image[0, 0] = np.nan
    mask = np.ones(image.shape, bool)
    mask[0, :] = False
    labels = kmeans(image, 4, mask=mask, rng=0)
    assert (labels[0] == 0).all()
    np.testing.assert_array_equal(labels[1:], truth[1:])
    lazy = kmeans(da.from_array(image, chunks=7), 4, mask=da.from_array(mask, chunks=7), rng=0)
    np.testing.assert_array_equal(lazy.compute(), labels)


def test_fewer_distinct_values_than_clusters():  # A17
    image = np.repeat([0, 5, 9], 12).reshape(6, 6)
    with pytest.warns(UserWarning, match="only 3 distinct"):
        labels = kmeans(image, 5, rng=0)
    assert sorted(np.unique(labels).tolist()) == [1, 2, 3]
    np.testing.assert_array_equal(labels, np.repeat([1, 2, 3], 12).reshape(6, 6))


def test_constant_image_one_cluster():  # A16
    with pytest.warns(UserWarning, match="constant"):
        labels = kmeans(np.full((8, 9), 7.0), 3)
    assert (labels == 1).all()


def test_bool_image_warns():  # A6
    image = np.zeros((10, 10), bool)
    image[3:6, 3:6] = True
    with pytest.warns(UserWarning, match="boolean"):
        labels = kmeans(image, 2, rng=0)
    np.testing.assert_array_equal(labels, image + 1)


def test_same_rng_same_labels():
    rng = np.random.default_rng(0)
    image = rng.random((30, 30))
    a = kmeans(image, 5, rng=7, max_samples=200)
    b = kmeans(image, 5, rng=7, max_samples=200)
    np.testing.assert_array_equal(a, b)
    assert np.array_equal(a, kmeans(image, 5, rng=np.random.default_rng(7), max_samples=200))


@pytest.mark.parametrize("bad, match", [(np.nan, "1 NaN"), (np.inf, "1 infinite")])
def test_non_finite_raises(bad, match):  # A14, A15
    image, _ = quadrants()
    image[3, 4] = bad
    with pytest.raises(InputError, match=match):
        kmeans(image, 2)
    with pytest.raises(InputError, match=match):
        kmeans(da.from_array(image, chunks=5), 2)


@pytest.mark.parametrize("image, kwargs, match", [
    (np.zeros((0, 5)), {}, "empty"),
    (np.zeros(10), {}, "2-D or 3-D"),
    (np.zeros((2, 2, 3, 4, 5, 6)), {}, "2-D or 3-D"),
    (np.zeros((5, 5), complex), {}, "complex"),
    (np.zeros((5, 5)), {"n_clusters": 0}, "n_clusters"),
    (np.zeros((5, 5)), {"channel_axis": 3}, "channel_axis"),
    (np.zeros((5, 5, 5)), {"channel_axis": -1, "rgb": True}, "rgb=True"),
    (np.zeros((5, 5)), {"mask": np.ones((4, 5), bool)}, "mask has shape"),
    (np.zeros((5, 5)), {"mask": np.zeros((5, 5), bool)}, "no pixel"),
    (np.zeros((5, 5)), {"spatial_weight": -1}, "spatial_weight"),
    (np.zeros((5, 5)), {"spacing": (1, 0)}, "spacing"),
])
def test_bad_inputs(image, kwargs, match):  # A1, A2, A11, A20, A22
    kwargs = {"n_clusters": 2, **kwargs}
    n = kwargs.pop("n_clusters")
    with pytest.raises(InputError, match=match):
        kmeans(image, n, **kwargs)


def test_progress_and_cancel():
    image, _ = quadrants()
    seen = []
    kmeans(image, 4, rng=0, progress=lambda f, m: seen.append(f))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)

    def cancel(fraction, message):
        if fraction > 0.2:
            raise Cancelled()

    with pytest.raises(Cancelled):
        kmeans(image, 4, rng=0, progress=cancel)


def test_dask_result_writes_to_zarr(tmp_path):
    zarr = pytest.importorskip("zarr")
    image, truth = quadrants()
    lazy = kmeans(da.from_array(image, chunks=8), 4, rng=0)
    path = str(tmp_path / "labels.zarr")
    lazy.to_zarr(path)
    np.testing.assert_array_equal(np.asarray(zarr.open_array(path, mode="r")), truth)


def test_distributed_client_runs_chunks():
    distributed = pytest.importorskip("distributed")
    image, truth = quadrants()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        out = kmeans(da.from_array(image, chunks=8), 4, rng=0).compute()
    np.testing.assert_array_equal(out, truth)
