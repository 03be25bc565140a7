"""SLIC superpixels: in memory as scikit-image, per chunk on dask with unique ids."""

import dask.array as da
import numpy as np
import pytest
from skimage.segmentation import slic as sk_slic

from napari_segkit._errors import InputError
from napari_segkit.superpixels import slic
from napari_segkit.tiling.blocks import block_slices


def same_partition(a, b):
    pairs = np.unique(np.stack([np.ravel(a), np.ravel(b)]), axis=1)
    return len(np.unique(pairs[0])) == pairs.shape[1] == len(np.unique(pairs[1]))


def quadrants(seed=0):
    rng = np.random.default_rng(seed)
    image = np.zeros((20, 21))
    image[:10, :10] = 0.33
    image[:10, 10:] = 0.66
    image[10:, :10] = 1.0
    return image + rng.normal(0, 0.01, image.shape)


def test_quadrants_four_superpixels():
    labels = slic(quadrants(), 4, compactness=1)
    assert labels.dtype == np.int32
    truth = np.zeros((20, 21), int)
    truth[:10, 10:] = 1
    truth[10:, :10] = 2
    truth[10:, 10:] = 3
    assert same_partition(labels, truth)


def test_numpy_path_is_skimage_with_options_passed():
    rng = np.random.default_rng(0)
    image = rng.random((12, 30, 30))
    spacing = (3.0, 1.0, 1.0)
    expected = sk_slic(image, n_segments=50, compactness=0.2, spacing=spacing,
                       channel_axis=None, start_label=1)
    np.testing.assert_array_equal(slic(image, 50, compactness=0.2, spacing=spacing), expected)


def test_magnitude_invariance():  # A7, A10
    image = (quadrants() * 200).astype(np.uint8)
    reference = slic(image, 6, compactness=5)
    scaled = image * 1e3 + 1e6
    np.testing.assert_array_equal(slic(scaled, 6, compactness=5), reference)
    np.testing.assert_array_equal(slic(image.astype(np.uint16) * 200, 6, compactness=5), reference)
    lazy = slic(da.from_array(scaled, chunks=(20, 21)), 6, compactness=5).compute()
    assert same_partition(lazy, reference)


def test_spacing_changes_shapes():  # A21
    rng = np.random.default_rng(1)
    volume = rng.random((16, 32, 32))

    def mean_z_extent(labels):
        extents = [np.ptp(np.nonzero(labels == i)[0]) + 1 for i in np.unique(labels)]
        return float(np.mean(extents))

    iso = slic(volume, 64, compactness=50)
    aniso = slic(volume, 64, compactness=50, spacing=(4, 1, 1))
    assert mean_z_extent(aniso) < 0.7 * mean_z_extent(iso)


@pytest.mark.parametrize("chunks", [(8, 16, 16), (1, 32, 10), (16, 32, 32)])
def test_dask_ids_unique_per_chunk(chunks):  # D5: one-slice chunks are merged
    rng = np.random.default_rng(2)
    volume = rng.random((16, 32, 32)).astype(np.float32)
    lazy = slic(da.from_array(volume, chunks=chunks), 64, compactness=0.5)
    assert isinstance(lazy, da.Array)
    labels = lazy.compute()
    assert labels.shape == volume.shape and labels.min() >= 1
    owner = {}
    for index, slices in block_slices(lazy.chunks):
        for i in np.unique(labels[slices]):
            assert owner.setdefault(int(i), index) == index, "an id is shared by two chunks"
    assert 32 <= len(owner) <= 128  # about n_segments over the whole volume


def test_dask_single_chunk_equals_numpy():
    rng = np.random.default_rng(3)
    image = rng.random((40, 50))
    expected = slic(image, 20)
    assert same_partition(slic(da.from_array(image, chunks=(40, 50)), 20).compute(), expected)
    assert same_partition(slic(image, 20, chunks=(40, 50)).compute(), expected)


def test_rgb_uint8_lab_and_alpha():  # A18
    rng = np.random.default_rng(0)
    image = np.zeros((20, 20, 3), np.uint8)
    image[:, :10] = (200, 20, 20)
    image[:, 10:] = (20, 20, 200)
    image = np.clip(image + rng.normal(0, 3, image.shape), 0, 255).astype(np.uint8)
    truth = np.zeros((20, 20), int)
    truth[:, 10:] = 1

    def respects_colours(labels):  # no superpixel mixes red and blue
        return all(len(np.unique(truth[labels == i])) == 1 for i in np.unique(labels))

    labels = slic(image, 9, channel_axis=-1, compactness=10)
    assert respects_colours(labels) and len(np.unique(labels)) >= 4
    rgba = np.concatenate([image, np.full((20, 20, 1), 255, np.uint8)], axis=-1)
    np.testing.assert_array_equal(slic(rgba, 9, channel_axis=-1, compactness=10), labels)
    lazy = slic(da.from_array(image, chunks=(20, 20, 3)), 9, channel_axis=-1, compactness=10)
    assert respects_colours(lazy.compute())


def test_mask_and_nan_under_mask():  # A14
    image = quadrants()
    image[0, 0] = np.nan
    mask = np.ones(image.shape, bool)
    mask[:2] = False
    labels = slic(image, 4, mask=mask, compactness=1)
    assert (labels[:2] == 0).all() and (labels[2:] > 0).all()
    lazy = slic(da.from_array(image, chunks=10), 4, mask=mask, compactness=1).compute()
    assert (lazy[:2] == 0).all() and (lazy[2:] > 0).all()
    with pytest.raises(InputError, match="1 NaN"):
        slic(image, 4)
    with pytest.raises(InputError, match="1 NaN"):
        slic(da.from_array(image, chunks=10), 4)


def test_dask_result_writes_to_zarr(tmp_path):
    zarr = pytest.importorskip("zarr")
    volume = np.random.default_rng(4).random((8, 20, 20))
    lazy = slic(da.from_array(volume, chunks=(8, 10, 10)), 16)
    path = str(tmp_path / "sp.zarr")
    lazy.to_zarr(path)
    np.testing.assert_array_equal(np.asarray(zarr.open_array(path, mode="r")), lazy.compute())


@pytest.mark.parametrize("kwargs, match", [
    ({"n_segments": 0}, "n_segments"),
    ({"compactness": 0}, "compactness"),
    ({"spacing": (1, 2, 3)}, "spacing"),
    ({"channel_axis": 2}, "channel_axis"),
])
def test_bad_options(kwargs, match):
    kwargs = {"n_segments": 4, **kwargs}
    n = kwargs.pop("n_segments")
    with pytest.raises(InputError, match=match):
        slic(np.zeros((6, 6)), n, **kwargs)


@pytest.mark.parametrize("image, match", [
    (np.zeros((0, 4)), "empty"),
    (np.zeros(5), "2-D or 3-D"),
    (np.zeros((4, 4), complex), "complex"),
])
def test_bad_images(image, match):  # A1, A2, A11
    with pytest.raises(InputError, match=match):
        slic(image, 4)


def test_noisy_rgb_is_not_left_as_one_superpixel():
    # unsmoothed SLIC merges the fragments of this noisy image into one superpixel;
    # slic notices, warns and smooths
    from napari_segkit.samples import voronoi_rgb

    image = voronoi_rgb((256, 256), n_regions=5, noise=20.0, rng=1).image
    with pytest.warns(UserWarning, match="segmented again with sigma=1"):
        labels = slic(image, 200, channel_axis=-1)
    counts = np.bincount(labels.ravel())[1:]
    assert counts.size > 100 and counts.max() < 20 * labels.size / 200
    quiet = slic(image, 200, channel_axis=-1, sigma=1.0)  # asked for: no warning, same result
    assert np.array_equal(quiet, labels)
    plain = slic(image, 200, channel_axis=-1, sigma=0)  # explicitly unsmoothed: as scikit-image
    assert np.unique(plain).size < 10
