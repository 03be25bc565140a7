"""Random walker and seeded watershed: exact outcomes, scikit-image as reference, frames, IoU."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_segkit import InputError, ResourceLimitError, random_walker, watershed
from napari_segkit.samples import nuclei_2d

METHODS = [random_walker, watershed]


def iou(a, b):
    return (a & b).sum() / (a | b).sum()


def square_case():
    image = np.full((24, 24), 10.0)
    image[6:16, 6:16] = 200.0
    seeds = np.zeros((24, 24), np.int32)
    seeds[10, 10] = 1
    seeds[0, 0] = 2
    return image, seeds


def two_blobs():
    yy, xx = np.mgrid[:30, :50]
    image = np.exp(-((yy - 15) ** 2 + (xx - 15) ** 2) / 60) + np.exp(-((yy - 15) ** 2 + (xx - 32) ** 2) / 60)
    seeds = np.zeros((30, 50), np.int32)
    seeds[15, 15] = 3
    seeds[15, 32] = 5
    return image, seeds


def test_random_walker_exact_square_and_background_is_zero():
    image, seeds = square_case()
    labels = random_walker(image, seeds)
    assert labels.dtype == np.int32 and labels.shape == image.shape
    expected = np.zeros((24, 24), np.int32)
    expected[6:16, 6:16] = 1
    np.testing.assert_array_equal(labels, expected)
    # background_seed=0 keeps every value; an explicit value maps that one to 0
    np.testing.assert_array_equal(random_walker(image, seeds, background_seed=0), np.where(expected, 1, 2))
    np.testing.assert_array_equal(random_walker(image, seeds, background_seed=1), np.where(expected, 0, 2))


def test_random_walker_matches_scikit_image_with_spacing():
    from skimage.segmentation import random_walker as reference

    rng = np.random.default_rng(0)
    image = rng.normal(0, 1, (6, 20, 20))
    image[:, 5:15, 5:15] += 3
    seeds = np.zeros(image.shape, np.int32)
    seeds[3, 10, 10] = 1
    seeds[0, 0, 0] = 2
    ours = random_walker(image, seeds, spacing=(4.0, 1.0, 1.0), background_seed=0, beta=500)
    from napari_segkit._image import normalise_channels

    scaled = normalise_channels(image[..., None])[0][..., 0].astype(np.float64)
    ref = reference(scaled, seeds, beta=500, mode="cg_j", tol=1e-3, spacing=(4.0, 1.0, 1.0))
    np.testing.assert_array_equal(ours, ref)
    # only the ratios matter, and the spacing is used
    np.testing.assert_array_equal(random_walker(image, seeds, spacing=(8, 2, 2), background_seed=0, beta=500), ours)
    iso = random_walker(image, seeds, background_seed=0, beta=500)
    assert not np.array_equal(iso, ours)


def test_watershed_intensity_splits_touching_blobs_in_the_valley():
    image, seeds = two_blobs()
    labels = watershed(image, seeds, feature="intensity", mask=image > 0.3, background_seed=0)
    assert set(np.unique(labels)) == {0, 3, 5}
    assert np.flatnonzero(labels[15] == 3).max() == 23 and np.flatnonzero(labels[15] == 5).min() == 24
    assert (labels[image <= 0.3] == 0).all()
    # symmetric blobs: symmetric regions
    assert abs(int((labels == 3).sum()) - int((labels == 5).sum())) <= 2


def test_watershed_gradient_follows_edges_and_matches_scikit_image():
    from skimage.segmentation import watershed as reference

    image, seeds = square_case()
    labels = watershed(image, seeds, sigma=1.0)
    truth = np.zeros((24, 24), bool)
    truth[6:16, 6:16] = True
    assert iou(labels == 1, truth) > 0.95 and (labels[~truth] == 0).all()
    # the reference on the same landscape
    landscape = ndi.gaussian_gradient_magnitude(((image - 10.0) / 190.0).astype(np.float32).astype(float), 1.0)
    ref = reference(landscape, seeds)
    np.testing.assert_array_equal(labels, np.where(ref == 2, 0, ref))


def test_watershed_spacing_is_physical():
    rng = np.random.default_rng(1)
    image = rng.normal(0, 0.3, (8, 24, 24))
    image[2:6, 6:18, 6:18] += 2
    seeds = np.zeros(image.shape, np.int32)
    seeds[4, 12, 12] = 1
    seeds[0, 0, 0] = 2
    a = watershed(image, seeds, spacing=(4, 1, 1))
    np.testing.assert_array_equal(a, watershed(image, seeds, spacing=(8, 2, 2)))
    assert not np.array_equal(a, watershed(image, seeds))


@pytest.mark.parametrize("method", METHODS)
def test_frames_are_processed_one_by_one(method):
    image, seeds = square_case()
    moved = np.roll(image, 4, axis=1)
    series = np.stack([image, moved])
    both = np.stack([seeds, np.roll(seeds, 4, axis=1)])
    labels = method(series, both, spatial_dims=2)
    np.testing.assert_array_equal(labels[0], method(image, seeds))
    np.testing.assert_array_equal(labels[1], method(moved, both[1]))
    # one frame's seeds for every frame: used on each, with a warning
    with pytest.warns(UserWarning, match="every one of the 2 frames"):
        same = method(np.stack([image, image]), seeds, spatial_dims=2)
    np.testing.assert_array_equal(same[1], same[0])


@pytest.mark.parametrize("method", METHODS)
def test_colour_channels_and_dask(method):
    da = pytest.importorskip("dask.array")
    image, seeds = square_case()
    rgb = np.stack([image, image * 0.5, np.full_like(image, 7.0)], axis=-1)
    labels = method(rgb, seeds, channel_axis=-1)
    np.testing.assert_array_equal(labels, method(image, seeds))
    with pytest.warns(UserWarning, match="looks like colour"):
        with pytest.raises(InputError):
            method(rgb, seeds)  # read as a (24, 24, 3) volume: the 2-D seeds do not fit
    lazy = method(da.from_array(np.stack([image, image]), chunks=(1, 24, 24)), np.stack([seeds, seeds]),
                  spatial_dims=2)
    np.testing.assert_array_equal(lazy[1], method(image, seeds))


@pytest.mark.parametrize(("method", "options", "least"), [
    (random_walker, {}, 0.5), (random_walker, {"beta": 500}, 0.75), (watershed, {}, 0.85)])
def test_nuclei_sample_iou(method, options, least):
    # measured with the sample's own seeds: random walker 0.56 (beta 130, the default, which
    # real cells prefer) and 0.77 (beta 500), watershed 0.96, graph cut 0.90
    sample = nuclei_2d((128, 128), n_nuclei=14, rng=3)
    labels = method(sample.image, sample.seeds, **options)
    truth = sample.labels > 0
    assert iou(labels > 0, truth) > least, method.__name__


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(seeds=np.full((24, 24), 1.5)), "dtype float64"),
        (dict(seeds=np.zeros((24, 23), int)), r"shape \(24, 23\)"),
        (dict(background_seed=7), "background_seed=7"),
        (dict(spacing=(1, 0)), "spacing"),
        (dict(mask=np.ones((3, 3), bool)), "mask has shape"),
        (dict(channel_axis=5), "channel_axis=5"),
    ],
)
def test_bad_inputs_name_the_argument(method, kwargs, match):
    image, seeds = square_case()
    kwargs = dict(kwargs)
    seeds = kwargs.pop("seeds", seeds)
    with pytest.raises(InputError, match=match):
        method(image, seeds, **kwargs)


def test_option_checks_and_memory_limit():
    image, seeds = square_case()
    with pytest.raises(InputError, match="beta"):
        random_walker(image, seeds, beta=-1)
    with pytest.raises(InputError, match="feature"):
        watershed(image, seeds, feature="colour")
    with pytest.raises(InputError, match="at least 2"):
        random_walker(image, np.where(seeds == 1, 1, 0))
    with pytest.raises(ResourceLimitError, match="random_walker needs about"):
        random_walker(image, seeds, memory_limit=1000)
