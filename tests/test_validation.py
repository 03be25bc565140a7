import numpy as np
import pytest

from napari_segkit import InputError
from napari_segkit._labels import label_dtype
from napari_segkit._validation import (
    as_image_array,
    check_channel_axis,
    check_finite,
    check_positive_number,
    check_spacing,
    check_spatial_dims,
    move_channels_last,
)


def test_as_image_array_rejects_complex_empty_object():
    with pytest.raises(InputError, match="complex"):
        as_image_array(np.zeros((3, 3), complex))
    with pytest.raises(InputError, match=r"shape \(0, 512\): empty"):
        as_image_array(np.zeros((0, 512)))
    with pytest.raises(InputError, match="dtype object"):
        as_image_array(np.array([[None, 1]], dtype=object))
    with pytest.raises(InputError, match="image is None"):
        as_image_array(None)


def test_as_image_array_accepts_dask_and_keeps_input():
    da = pytest.importorskip("dask.array")
    x = np.arange(12, dtype=np.uint16).reshape(3, 4)
    out = as_image_array(da.from_array(x, chunks=2))
    np.testing.assert_array_equal(out, x)


def test_check_finite_counts_nan_and_inf():
    x = np.zeros((4, 4))
    x[0, 0] = np.nan
    x[1, 1] = np.inf
    x[2, 2] = -np.inf
    with pytest.raises(InputError, match="1 NaN and 2 infinite"):
        check_finite(x, name="image")
    check_finite(np.zeros((2, 2), np.uint8))


@pytest.mark.parametrize("axis, ndim, expected", [(None, 3, None), (0, 3, 0), (-1, 3, 2)])
def test_channel_axis_normalised(axis, ndim, expected):
    assert check_channel_axis(axis, ndim) == expected


@pytest.mark.parametrize("axis", [3, -4, 1.0, True, "0"])
def test_channel_axis_rejected(axis):
    with pytest.raises(InputError, match="channel_axis"):
        check_channel_axis(axis, 3)


def test_move_channels_last_shapes():
    x = np.zeros((3, 5, 7))
    assert move_channels_last(x, 0).shape == (5, 7, 3)
    assert move_channels_last(x, None).shape == (3, 5, 7, 1)


def test_spacing_checked():
    assert check_spacing(None, 3) == (1.0, 1.0, 1.0)
    assert check_spacing(2, 2) == (2.0, 2.0)
    assert check_spacing([4, 1, 1], 3) == (4.0, 1.0, 1.0)
    with pytest.raises(InputError, match="one value per spatial axis"):
        check_spacing((1, 1), 3)
    with pytest.raises(InputError, match=r"positive and finite, got \(0.0, 1.0\)"):
        check_spacing((0, 1), 2)
    with pytest.raises(InputError, match="positive and finite"):
        check_spacing((np.nan, 1), 2)
    with pytest.raises(InputError, match="spacing must be numbers"):
        check_spacing(("a", 1), 2)


def test_spatial_dims():
    assert check_spatial_dims(None, 2, method="m") == 2
    assert check_spatial_dims(None, 3, method="m") == 3
    assert check_spatial_dims(2, 3, method="m") == 2
    with pytest.raises(InputError, match="m accepts 2-D or 3-D"):
        check_spatial_dims(None, 1, method="m")
    with pytest.raises(InputError, match="6 non-channel"):
        check_spatial_dims(None, 6, method="m")
    with pytest.raises(InputError, match="spatial_dims must be 2 or 3"):
        check_spatial_dims(4, 4, method="m")
    with pytest.raises(InputError, match="at most 2 are supported"):
        check_spatial_dims(2, 5, method="m")


def test_positive_number():
    assert check_positive_number(0, name="s", allow_zero=True) == 0.0
    with pytest.raises(InputError, match="s must be positive"):
        check_positive_number(0, name="s")
    with pytest.raises(InputError, match="s must be a number"):
        check_positive_number("1", name="s")
    with pytest.raises(InputError, match="non-negative and finite, got -1"):
        check_positive_number(-1, name="s", allow_zero=True)


def test_label_dtype_widens():
    assert label_dtype(5) == np.int32
    assert label_dtype(2**31 - 1) == np.int32
    assert label_dtype(2**31) == np.int64
    with pytest.raises(OverflowError):
        label_dtype(2**64)


# --- the numeric option checker -------------------------------------------------------------

from napari_segkit._validation import (  # noqa: E402
    check_choice,
    check_flag,
    check_float,
    check_int,
    check_int_tuple,
    check_memory_limit,
    check_rng,
    parse_byte_count,
)


@pytest.mark.parametrize("value", [0.5, np.float32(0.5), np.float16(0.5), np.int64(0), 1, np.array(0.25)])
def test_check_float_accepts_numpy_scalars(value):
    assert check_float(value, name="threshold", low=0, high=1) == float(np.asarray(value))
    assert type(check_float(value, name="threshold", low=0, high=1)) is float


@pytest.mark.parametrize("value, words", [
    (True, "boolean True"), (np.bool_(False), "boolean False"), ("0.5", "'0.5' (a str)"),
    (None, "None"), (np.nan, "finite number, got nan"), (np.inf, "finite"), (-np.inf, "finite"),
    (10**400, "finite"), ([0.5], "list"), (-0.1, ">= 0 and <= 1, got -0.1"), (1.5, "<= 1"),
])
def test_check_float_refuses_naming_argument_and_value(value, words):
    with pytest.raises(InputError, match="threshold") as info:
        check_float(value, name="threshold", low=0, high=1)
    assert words in str(info.value)


def test_check_float_open_bounds_and_none():
    assert check_float(None, name="x", none_ok=True) is None
    with pytest.raises(InputError, match="x must be > 0, got 0"):
        check_float(0, name="x", low=0, low_open=True)
    with pytest.raises(InputError, match="x must be < 1"):
        check_float(1.0, name="x", high=1, high_open=True)


def test_check_int():
    assert check_int(np.int16(3), name="batch_size", low=1) == 3
    assert check_int(4.0, name="batch_size", low=1) == 4
    assert check_int(np.float32(4), name="batch_size", low=1) == 4
    for bad, words in [(None, "whole number, got None"), (2.5, "whole number, got 2.5"),
                       (True, "boolean"), ("4", "'4'"), (0, ">= 1, got 0"),
                       (np.nan, "whole number, got nan"), (10**30, "64-bit")]:
        with pytest.raises(InputError, match="batch_size") as info:
            check_int(bad, name="batch_size", low=1)
        assert words in str(info.value)


def test_check_int_tuple():
    assert check_int_tuple(256, name="tile_shape", ndim=2) == (256, 256)
    assert check_int_tuple(np.array([3, 4]), name="tile_shape", ndim=2) == (3, 4)
    assert check_int_tuple(0, name="halo", ndim=3, low=0) == (0, 0, 0)
    for bad, words in [("abc", "'abc'"), ((1, 2, 3), "2 value(s)"), ((0, 2), "tile_shape[0]"),
                       (np.nan, "nan"), ((2, True), "tile_shape[1]"), (None, "None")]:
        with pytest.raises(InputError, match="tile_shape") as info:
            check_int_tuple(bad, name="tile_shape", ndim=2)
        assert words in str(info.value)


def test_check_flag_and_choice():
    assert check_flag(np.bool_(True), name="rgb") is True
    for bad in ["no", "False", 1, None]:
        with pytest.raises(InputError, match="rgb must be True or False"):
            check_flag(bad, name="rgb")
    assert check_choice("a", name="mode", choices=("a", "b")) == "a"
    with pytest.raises(InputError, match="mode must be one of 'a', 'b'; got 'c'"):
        check_choice("c", name="mode", choices=("a", "b"))


def test_check_rng_one_meaning():
    a = check_rng(7).random(3)
    np.testing.assert_array_equal(a, check_rng(np.int64(7)).random(3))
    gen = np.random.default_rng(1)
    assert check_rng(gen) is gen
    assert not np.array_equal(check_rng(None).random(4), check_rng(None).random(4))
    for bad in [-1, "abc", 1.5, True, np.random.RandomState(0)]:
        with pytest.raises(InputError, match="rng must be None, a non-negative integer seed"):
            check_rng(bad)


def test_memory_limit_parsed_deliberately():
    assert check_memory_limit(None) is None
    assert check_memory_limit("4G") == 4 * 2**30
    assert check_memory_limit("512MiB") == 512 * 2**20
    assert check_memory_limit(np.int64(10**9)) == 10**9
    assert check_memory_limit(4e9) == 4 * 10**9
    assert parse_byte_count(" 1.5 gb ") == int(1.5 * 2**30)
    for bad in [np.nan, np.inf, 0, -5, True, "4X", "", "-4G", [1]]:
        with pytest.raises(InputError, match="memory_limit"):
            check_memory_limit(bad)


@pytest.mark.parametrize("spacing, words", [
    ((1e300, 1e-300), "between"), ((1e4 * 2, 1), "anisotropic"), ((1e-13, 1e-13), "between"),
])
def test_spacing_extremes_refused(spacing, words):
    with pytest.raises(InputError, match="spacing") as info:
        check_spacing(spacing, 2)
    assert words in str(info.value)
