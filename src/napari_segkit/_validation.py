"""Checks shared by every method: one place that turns user input into arrays.

Each check names the argument and the value received, so a user sees what was
wrong without reading a traceback into numpy, scikit-image or PyMaxflow.
"""

from __future__ import annotations

import numbers
from typing import Any, Optional, Sequence, Tuple

import numpy as np

from ._errors import InputError

__all__ = [
    "as_image_array",
    "check_channel_axis",
    "check_finite",
    "check_positive_number",
    "check_spacing",
    "check_spatial_dims",
    "move_channels_last",
]


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def as_image_array(image: Any, *, name: str = "image", lazy: bool = False) -> np.ndarray:
    """Return ``image`` as a numpy array of a real dtype, never a view to write into.

    Accepts numpy arrays, dask arrays and anything ``np.asarray`` understands.
    With ``lazy=True`` a dask (or other lazy) array is checked from its
    metadata and returned as it is, so a caller can check its size first.
    Rejects complex, object, string and structured dtypes and empty arrays.
    Big-endian and non-contiguous data are accepted (callers convert to
    native float before computing).  The caller's array is never modified.

    Raises
    ------
    InputError
        If the dtype is not real-valued or the array is empty.
    """
    if image is None:
        raise InputError(f"{name} is None; expected an array")
    if hasattr(image, "compute") and hasattr(image, "dtype"):
        dtype = np.dtype(image.dtype)
        _check_dtype(dtype, name)
        _check_not_empty(tuple(image.shape), name)
        if lazy:
            return image
        image = image.compute()
    array = np.asarray(image)
    _check_dtype(array.dtype, name)
    _check_not_empty(array.shape, name)
    return array


def _check_dtype(dtype: np.dtype, name: str) -> None:
    if dtype.kind == "c":
        raise InputError(f"{name} has complex dtype {dtype}: complex input is not supported")
    if dtype.kind not in "biuf":
        raise InputError(
            f"{name} has dtype {dtype}: expected booleans, integers or floats"
        )


def _check_not_empty(shape: Tuple[int, ...], name: str) -> None:
    if 0 in shape:
        raise InputError(f"{name} has shape {shape}: empty")


def check_finite(values: np.ndarray, *, name: str = "image") -> None:
    """Raise if ``values`` holds NaN or infinite entries, giving their count."""
    if values.dtype.kind != "f":
        return
    finite = np.isfinite(values)
    if finite.all():
        return
    n_nan = int(np.isnan(values).sum())
    n_inf = int(finite.size - finite.sum()) - n_nan
    parts = []
    if n_nan:
        parts.append(f"{n_nan} NaN")
    if n_inf:
        parts.append(f"{n_inf} infinite")
    raise InputError(
        f"{name} has {' and '.join(parts)} values (shape {values.shape}); "
        "fill or crop them before segmenting"
    )


def check_channel_axis(channel_axis: Optional[int], ndim: int, *, name: str = "image") -> Optional[int]:
    """Return ``channel_axis`` as a non-negative index, or None.

    Raises
    ------
    InputError
        If ``channel_axis`` is not an integer within ``[-ndim, ndim)``.
    """
    if channel_axis is None:
        return None
    if isinstance(channel_axis, (bool, np.bool_)) or not isinstance(channel_axis, numbers.Integral):
        raise InputError(
            f"channel_axis must be an integer or None, got {_describe(channel_axis)}"
        )
    if not -ndim <= channel_axis < ndim:
        raise InputError(
            f"channel_axis={channel_axis} is out of range for {name} with {ndim} "
            f"dimensions (valid: {-ndim} to {ndim - 1}, or None)"
        )
    return int(channel_axis) % ndim


def move_channels_last(image: np.ndarray, channel_axis: Optional[int]) -> np.ndarray:
    """Return an (..., C) view of ``image``; a grayscale image gets C = 1."""
    if channel_axis is None:
        return image[..., np.newaxis]
    return np.moveaxis(image, channel_axis, -1)


def check_spatial_dims(
    spatial_dims: Optional[int], ndim: int, *, method: str, name: str = "image"
) -> int:
    """Return how many trailing axes are spatial (2 or 3).

    ``ndim`` counts the axes of the image without its channel axis.  Leading
    axes beyond the spatial ones (time, position, ...) are processed frame by
    frame.  By default a 2-D image is 2-D, and anything with 3 or more axes is
    treated as 3-D volumes.
    """
    if ndim < 2 or ndim > 5:
        raise InputError(
            f"{method} accepts 2-D or 3-D images, optionally with leading time axes "
            f"and one channel axis; {name} has {ndim} non-channel dimension(s)"
        )
    if spatial_dims is None:
        return 2 if ndim == 2 else 3
    if spatial_dims not in (2, 3) or isinstance(spatial_dims, bool):
        raise InputError(f"spatial_dims must be 2 or 3, got {_describe(spatial_dims)}")
    if spatial_dims > ndim:
        raise InputError(
            f"spatial_dims={spatial_dims} but {name} has only {ndim} non-channel dimensions"
        )
    if ndim - spatial_dims > 2:
        raise InputError(
            f"{name} has {ndim} non-channel dimensions; with spatial_dims={spatial_dims} "
            f"that leaves {ndim - spatial_dims} leading axes (at most 2 are supported)"
        )
    return int(spatial_dims)


def check_spacing(spacing: Optional[Sequence[float]], ndim: int) -> Tuple[float, ...]:
    """Return ``spacing`` as a tuple of ``ndim`` positive finite floats.

    None means isotropic unit spacing.  A scalar applies to every axis.

    Raises
    ------
    InputError
        If the length is not ``ndim`` or any value is not positive and finite.
    """
    if spacing is None:
        return (1.0,) * ndim
    try:
        values = np.asarray(spacing, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"spacing must be numbers, got {_describe(spacing)}") from None
    if values.ndim == 0:
        values = np.full(ndim, float(values))
    if values.ndim != 1 or values.size != ndim:
        raise InputError(
            f"spacing must give one value per spatial axis ({ndim}), got {_describe(spacing)}"
        )
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise InputError(
            f"spacing values must be positive and finite, got {_describe(tuple(values.tolist()))}"
        )
    return tuple(float(v) for v in values)


def check_positive_number(value: Any, *, name: str, allow_zero: bool = False) -> float:
    """Return ``value`` as a float, raising unless it is finite and positive."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be a number, got {_describe(value)}")
    value = float(value)
    ok = value >= 0 if allow_zero else value > 0
    if not np.isfinite(value) or not ok:
        bound = "non-negative" if allow_zero else "positive"
        raise InputError(f"{name} must be {bound} and finite, got {value!r}")
    return value
