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
    with pytest.raises(InputError, match="non-negative and finite, got -1.0"):
        check_positive_number(-1, name="s", allow_zero=True)


def test_label_dtype_widens():
    assert label_dtype(5) == np.int32
    assert label_dtype(2**31 - 1) == np.int32
    assert label_dtype(2**31) == np.int64
    with pytest.raises(OverflowError):
        label_dtype(2**64)
