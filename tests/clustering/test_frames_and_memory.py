"""K-means and mean shift on series (spatial_dims: frame by frame, ids unique) and under a memory limit."""

import dask.array as da
import numpy as np
import pytest

from napari_segkit._errors import InputError, ResourceLimitError
from napari_segkit.clustering import kmeans, mean_shift
from napari_segkit.cli import main


def series():
    """Three 16x18 frames: a bright square that moves, on a dark background."""
    image = np.zeros((3, 16, 18))
    truth = np.ones((3, 16, 18), int)
    for t in range(3):
        image[t, 4:10, 2 + 4 * t:8 + 4 * t] = 1.0
        truth[t, 4:10, 2 + 4 * t:8 + 4 * t] = 2
    return image, truth


@pytest.mark.parametrize("method, task, options", [
    (kmeans, (2,), {}),
    (mean_shift, (), {"bandwidth": 0.3}),
])
def test_series_frame_by_frame_with_unique_ids(method, task, options):
    image, truth = series()
    labels = method(image, *task, spatial_dims=2, rng=0, **options)
    assert labels.shape == image.shape and labels.dtype == np.int32
    for t in range(3):  # frame t: background 2t + 1, square 2t + 2
        np.testing.assert_array_equal(labels[t], truth[t] + 2 * t)
        np.testing.assert_array_equal(labels[t], method(image[t], *task, rng=0, **options) + 2 * t)
    # without spatial_dims the series is one volume: the same two ids in every frame
    volume = method(image, *task, rng=0, **options)
    np.testing.assert_array_equal(volume, truth)


def test_series_with_channels_mask_and_instances():
    image, truth = series()
    colour = np.stack([image, 1 - image], axis=-1)  # (T, Y, X, C)
    mask = np.ones((16, 18), bool)
    mask[:, :2] = False  # the same mask for every frame
    labels = kmeans(colour, 2, channel_axis=-1, spatial_dims=2, mask=mask, rng=0)
    for t in range(3):
        expected = np.where(mask, truth[t] + 2 * t, 0)
        np.testing.assert_array_equal(labels[t], expected)
    objects = kmeans(image, 2, spatial_dims=2, instances=True, rng=0)
    # per frame one background and one square component; ids never repeat across frames
    ids = [set(np.unique(objects[t]).tolist()) for t in range(3)]
    assert [len(i) for i in ids] == [2, 2, 2]
    assert not (ids[0] & ids[1]) and not (ids[1] & ids[2]) and not (ids[0] & ids[2])


def test_frame_with_empty_mask_is_zero():
    image, truth = series()
    mask = np.ones(image.shape, bool)
    mask[1] = False
    labels = kmeans(image, 2, spatial_dims=2, mask=mask, rng=0)
    np.testing.assert_array_equal(labels[0], truth[0])
    assert not labels[1].any()
    np.testing.assert_array_equal(labels[2], truth[2] + 2)


def test_series_same_seed_same_labels_and_dask_equals_numpy():
    rng = np.random.default_rng(1)
    image = rng.normal(size=(2, 20, 20))
    a = kmeans(image, 3, spatial_dims=2, rng=5)
    b = kmeans(image, 3, spatial_dims=2, rng=5)
    c = kmeans(da.from_array(image, chunks=(1, 10, 10)), 3, spatial_dims=2, rng=5)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, np.asarray(c))
    assert set(np.unique(a[1]).tolist()) == {4, 5, 6}


def test_spatial_dims_matching_the_image_changes_nothing():
    image, _ = series()
    np.testing.assert_array_equal(kmeans(image, 2, spatial_dims=3, rng=0), kmeans(image, 2, rng=0))
    lazy = kmeans(da.from_array(image[0], chunks=8), 2, spatial_dims=2, rng=0)
    assert hasattr(lazy, "compute")  # no frames: the method's own (lazy) result


@pytest.mark.parametrize("value, match", [(4, "spatial_dims must be 2 or 3"), (True, "spatial_dims")])
def test_bad_spatial_dims(value, match):
    with pytest.raises(InputError, match=match):
        kmeans(series()[0], 2, spatial_dims=value)


@pytest.mark.parametrize("method, task", [(kmeans, (2,)), (mean_shift, ())])
def test_memory_limit(method, task):
    image, truth = series()
    with pytest.raises(ResourceLimitError, match=f"{method.__name__} needs about .* kB .*memory_limit"):
        method(image[0], *task, memory_limit=1000)
    with pytest.raises(InputError, match="memory_limit"):
        method(image[0], *task, memory_limit=-5)
    options = {"bandwidth": 0.3} if method is mean_shift else {}
    labels = method(image[0], *task, memory_limit="1G", rng=0, **options)
    np.testing.assert_array_equal(labels, truth[0])


def test_cli_kmeans_spatial_dims(tmp_path):
    image, truth = series()
    path = tmp_path / "series.npy"
    np.save(path, (image * 200).astype(np.uint8))
    out = tmp_path / "labels.npy"
    assert main(["kmeans", str(path), "-k", "2", "--spatial-dims", "2", "-o", str(out), "--quiet"]) == 0
    labels = np.load(out)
    for t in range(3):
        np.testing.assert_array_equal(labels[t], truth[t] + 2 * t)


@pytest.mark.parametrize("method, task, options", [
    (kmeans, (2,), {}),
    (mean_shift, (), {"bandwidth": 0.3}),
])
def test_a_4d_image_is_a_series_of_volumes_by_default(method, task, options):
    image, truth = series()
    stack = np.stack([image, image[::-1]])  # (2, 3, 16, 18): two volumes
    labels = method(stack, *task, rng=0, **options)
    np.testing.assert_array_equal(labels[0], truth)  # each volume clustered on its own
    np.testing.assert_array_equal(labels[1], truth[::-1] + 2)  # ids follow the first volume's


def test_one_front_end_rules_apply_to_clustering():
    image, truth = series()
    # a last axis of size 3 without channel_axis looks like colour: the shared warning says so
    with pytest.warns(UserWarning, match="kmeans: image has shape .* looks like colour"):
        kmeans(np.repeat(image[0][..., None], 3, axis=-1) + 0 * np.arange(3), 2, rng=0)
    # one frame's mask is used on every frame; a dask mask of a dask series stays lazy until read
    mask = np.ones((16, 18), bool)
    mask[:4] = False
    lazy_mask = da.from_array(np.broadcast_to(mask, image.shape).copy(), chunks=(1, 8, 9))
    for given in (mask, lazy_mask):
        labels = kmeans(da.from_array(image, chunks=(1, 8, 9)), 2, spatial_dims=2, mask=given, rng=0)
        for t in range(3):
            np.testing.assert_array_equal(labels[t], np.where(mask, truth[t] + 2 * t, 0))
