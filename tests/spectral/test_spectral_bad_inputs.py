"""Items of bad-inputs.md that apply to the spectral methods (A1-A3, A6-A11, A14-A17, A20, A21, D3)."""

import numpy as np
import pytest

from napari_segkit import InputError, ResourceLimitError
from napari_segkit.spectral import normalized_cut, spectral_clustering

from spectral_cases import regions_2d, same_partition

BOTH = [
    pytest.param(lambda im, **kw: normalized_cut(im, n_segments=3, **kw), id="ncut"),
    pytest.param(lambda im, **kw: spectral_clustering(im, 3, **kw), id="sc"),
]


@pytest.mark.parametrize("run", BOTH)
@pytest.mark.parametrize("shape", [(0, 16), (16, 0), (0, 4, 4)])
def test_a1_empty(run, shape):
    with pytest.raises(InputError, match="empty"):
        run(np.zeros(shape))


@pytest.mark.parametrize("run", BOTH)
@pytest.mark.parametrize("shape", [(16,), (2, 2, 2, 2, 2, 2), (2,) * 7])  # 4-D and 5-D are series of volumes
def test_a2_bad_ndim(run, shape):
    with pytest.raises(InputError, match="2-D or 3-D"):
        run(np.zeros(shape))


@pytest.mark.parametrize("run", BOTH)
def test_a3_singleton_axes(run):
    image, truth = regions_2d()
    ref = run(image)
    for shaped, kwargs in [
        (image[np.newaxis], {}),
        (image[:, :, np.newaxis], {}),
        (image[np.newaxis], {"spacing": (2.0, 1.0, 1.0)}),
    ]:
        out = run(shaped, **kwargs)
        assert out.shape == shaped.shape
        assert np.array_equal(out.reshape(image.shape), ref)


@pytest.mark.parametrize("run", BOTH)
def test_a6_bool(run):
    image, truth = regions_2d(noise=0.0)
    mask = image > 0.7
    with pytest.warns(UserWarning, match="boolean"):
        out = run(mask)
    assert same_partition(out, mask.astype(int)) or np.unique(out).size <= 3


@pytest.mark.parametrize("run", BOTH)
@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint16, np.uint32, np.float16])
def test_a7_a8_a9_dtypes_match_uint8(run, dtype):
    image, _ = regions_2d()
    u8 = np.round(np.clip(image, 0, 1) * 100).astype(np.uint8)
    ref = run(u8)
    if dtype == np.int8:
        other = (u8.astype(np.int16) - 50).astype(np.int8)
    elif dtype == np.float16:
        other = u8.astype(np.float16)
    else:
        info = np.iinfo(dtype)
        other = (u8.astype(np.float64) * 3 + (-1000 if info.min < 0 else 0)).astype(dtype)
    assert np.array_equal(run(other), ref)


@pytest.mark.parametrize("run", BOTH)
def test_a10_float_range_invariance(run):
    image, _ = regions_2d()
    u8 = np.round(np.clip(image, 0, 1) * 200).astype(np.uint8)
    ref = run(u8)
    assert np.array_equal(run(u8.astype(np.float64) * 300.0), ref)
    assert np.array_equal(run(u8.astype(np.float64) + 1e6), ref)


@pytest.mark.parametrize("run", BOTH)
def test_a11_complex(run):
    with pytest.raises(InputError, match="complex"):
        run(np.zeros((8, 8), dtype=complex))


@pytest.mark.parametrize("run", BOTH)
@pytest.mark.parametrize("bad, word", [(np.nan, "NaN"), (np.inf, "infinite"), (-np.inf, "infinite")])
def test_a14_a15_nan_inf(run, bad, word):
    image, _ = regions_2d()
    image[3, 4] = bad
    with pytest.raises(InputError, match=f"1 {word}"):
        run(image)


@pytest.mark.parametrize("run", BOTH)
def test_a16_constant(run):
    with pytest.warns(UserWarning, match="constant"):
        out = run(np.full((20, 20), 7.0))
    assert out.dtype == np.int32 and np.all(out == 1)


def test_a17_fewer_values_than_clusters():
    image = np.zeros((20, 20))
    image[:, 10:] = 1
    with pytest.warns(UserWarning, match="only 2 distinct"):
        out = spectral_clustering(image, 5)
    assert set(np.unique(out)) == {1, 2}


def test_a17_more_segments_than_nodes():
    image = np.arange(16.0).reshape(4, 4)
    with pytest.warns(UserWarning, match="only 16 nodes"):
        out = normalized_cut(image, n_segments=40)
    assert out.max() <= 16


@pytest.mark.parametrize("run", BOTH)
@pytest.mark.parametrize("shape", [(32, 32, 3), (32, 32, 4), (3, 32, 32), (2, 32, 32)])
def test_a20_ambiguous_channels(run, shape):
    with pytest.raises(InputError, match="channel_axis"):
        run(np.random.default_rng(0).random(shape))


def test_a20_spacing_confirms_volume():
    image = np.random.default_rng(0).random((3, 16, 16))
    out = normalized_cut(image, n_segments=2, spacing=(1, 1, 1))
    assert out.shape == image.shape


@pytest.mark.parametrize("run", BOTH)
@pytest.mark.parametrize("spacing, match", [((1.0, 0.0), "positive"), ((1.0,), "one value per"), ((1.0, np.nan), "positive")])
def test_a21_bad_spacing(run, spacing, match):
    with pytest.raises(InputError, match=match):
        run(np.zeros((8, 8)), spacing=spacing)


def test_a21_spacing_changes_the_graph():
    # a ramp of equal steps along every axis: only the spacing tells the axes apart
    z, y, x = np.indices((4, 12, 12), dtype=float)
    image = z + y + x
    iso = normalized_cut(image, n_segments=2, spacing=(1, 1, 1))
    deep = normalized_cut(image, n_segments=2, spacing=(10, 1, 1))
    # with z ten times coarser the links between slices are the weakest: the cut follows z
    assert all(np.unique(deep[k]).size == 1 for k in range(4))
    assert not all(np.unique(iso[k]).size == 1 for k in range(4))


def test_d3_forced_pixels_over_budget():
    with pytest.raises(ResourceLimitError, match="pixel graph"):
        spectral_clustering(np.zeros((64, 64)) + np.eye(64), 2, superpixels="pixels", memory_limit=10_000)


def test_d3_big_image_goes_to_superpixels():
    image, _ = regions_2d(shape=(200, 200))
    with pytest.warns(UserWarning, match="40,000 pixels"):
        out = spectral_clustering(image, 3, n_superpixels=60)
    assert out.shape == image.shape


def test_input_not_modified():
    image, _ = regions_2d()
    copy = image.copy()
    normalized_cut(image, n_segments=3)
    spectral_clustering(image, 3)
    assert np.array_equal(image, copy)
