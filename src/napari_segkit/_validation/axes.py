"""An image's axes: the channel axis, how many axes are spatial, the pixel spacing."""

from __future__ import annotations

import numbers
from typing import Optional, Sequence, Tuple

import numpy as np

from .._errors import InputError
from ._text import _describe


def check_channel_axis(
    channel_axis: Optional[int], ndim: int, *, name: str = "image", min_plain_ndim: int = 2
) -> Optional[int]:
    """Return ``channel_axis`` as a non-negative index, or None.

    Raises
    ------
    InputError
        If ``channel_axis`` is not an integer within ``[-ndim, ndim)``, or
        if it leaves fewer than ``min_plain_ndim`` other axes (every method
        needs a 2-D or 3-D image); the message names ``channel_axis`` and
        its value.
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
    if ndim - 1 < min_plain_ndim:
        raise InputError(
            f"channel_axis={channel_axis} leaves {name} (with {ndim} dimensions) only {ndim - 1} "
            f"non-channel dimension(s); a 2-D or 3-D image needs at least {min_plain_ndim} besides "
            "its channel axis (pass channel_axis=None for a grayscale image)"
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


#: Largest ratio between the biggest and smallest pixel size that methods accept.
MAX_SPACING_RATIO = 1e4
_MIN_SPACING, _MAX_SPACING = 1e-12, 1e12


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
    if np.any(values < _MIN_SPACING) or np.any(values > _MAX_SPACING):
        raise InputError(
            f"spacing values must lie between {_MIN_SPACING:g} and {_MAX_SPACING:g}, got "
            f"{_describe(tuple(values.tolist()))}; give the pixel size in a unit near the pixel "
            "scale (e.g. micrometres)"
        )
    ratio = float(values.max() / values.min())
    if ratio > MAX_SPACING_RATIO:
        raise InputError(
            f"spacing {_describe(tuple(values.tolist()))} is {ratio:.3g}x anisotropic "
            f"(at most {MAX_SPACING_RATIO:g}x is supported); resample the image first"
        )
    return tuple(float(v) for v in values)
