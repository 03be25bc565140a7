"""Turning the user's image into the float array the spectral methods work on.

One place for the checks both :func:`normalized_cut` and
:func:`spectral_clustering` make before any work: dtype, emptiness, channel
axis, ambiguous colour axes, singleton axes, spacing, NaN and infinity, and the
scale-invariant rescaling.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Tuple

import numpy as np

from .._errors import InputError
from .._image import parse_image

__all__ = ["PreparedImage", "prepare_image", "restore_shape"]

# a short axis of this length or less next to long ones could be colour channels
_CHANNEL_LIKE = 4


@dataclass
class PreparedImage:
    """The image as the spectral methods see it.

    Attributes
    ----------
    data : ndarray of float64, shape (M, N[, P], C)
        Singleton spatial axes removed, channels last, rescaled jointly over all
        channels to [0, 1] (a constant image is all zeros).
    spacing : tuple of float
        One value per axis of ``data`` without its channel axis.
    spatial_shape : tuple of int
        The shape of the output labels (the input's shape without channels).
    kept_axes : tuple of int
        Which axes of ``spatial_shape`` survive in ``data``.
    constant : bool
        True when every pixel has the same value.
    was_bool : bool
    """

    data: np.ndarray
    spacing: Tuple[float, ...]
    spatial_shape: Tuple[int, ...]
    kept_axes: Tuple[int, ...]
    constant: bool
    was_bool: bool


def prepare_image(
    image: Any,
    *,
    channel_axis: Optional[int],
    spacing: Optional[Sequence[float]],
    method: str,
) -> PreparedImage:
    """Check ``image`` and return it as channels-last float64 in [0, 1].

    Integer, float and bool images are rescaled by their own minimum and
    maximum over all channels (min-max), so a uint8 image, the same image as
    uint16 times 257 and the same as float64 plus an offset of 1e6 give the
    same result; colour ratios between channels are kept.

    Raises
    ------
    InputError
        Empty, complex or non-numeric image; bad ``channel_axis``; a shape
        whose colour axis is ambiguous; not 2-D or 3-D; bad ``spacing``; NaN
        or infinite values.
    """
    # the package's image front end: channels last, spacing, NaN and infinity; one image, no frames
    parsed = parse_image(image, method=method, channel_axis=channel_axis, spacing=spacing, lazy=False,
                         colour_warning=False, frames=False)
    spatial_shape = parsed.spatial_shape
    spatial_ndim = len(spatial_shape)
    if parsed.channel_axis is None and spatial_ndim == 3 and spacing is None:
        _refuse_ambiguous_channels(spatial_shape)
    spacing_full = parsed.spacing

    was_bool = parsed.data.dtype == bool
    if was_bool:
        warnings.warn(
            "image is boolean: it has only two values, so the segments follow the "
            "True/False regions",
            UserWarning,
            stacklevel=3,
        )
    data = parsed.data
    # squeeze singleton spatial axes (keep at least two axes)
    kept = [i for i, s in enumerate(spatial_shape) if s > 1]
    for i in reversed(range(spatial_ndim)):
        if len(kept) >= 2:
            break
        if i not in kept:
            kept.append(i)
    kept.sort()
    index = tuple(slice(None) if i in kept else 0 for i in range(spatial_ndim))
    data = data[index + (slice(None),)]
    spacing_kept = tuple(spacing_full[i] for i in kept)

    data = np.asarray(data, dtype=np.float64)  # a copy for any non-float64 input
    low = float(data.min())
    high = float(data.max())
    constant = not high > low
    if constant:
        data = np.zeros(data.shape, dtype=np.float64)
    else:
        data = (data - low) / (high - low)  # new array: the input is never written
    return PreparedImage(
        data=np.ascontiguousarray(data),
        spacing=spacing_kept,
        spatial_shape=spatial_shape,
        kept_axes=tuple(kept),
        constant=constant,
        was_bool=was_bool,
    )


def _refuse_ambiguous_channels(shape: Tuple[int, ...]) -> None:
    """A 3-D array with a short first or last axis may be a colour image."""
    first, last = shape[0], shape[-1]
    if 1 < last <= _CHANNEL_LIKE < min(shape[:-1]):
        raise InputError(
            f"image has shape {shape} and channel_axis=None: the last axis (length {last}) "
            "looks like colour channels; pass channel_axis=-1 for a colour image, or "
            "spacing=(dz, dy, dx) to confirm it is a 3-D volume"
        )
    if 1 < first <= _CHANNEL_LIKE < min(shape[1:]):
        raise InputError(
            f"image has shape {shape} and channel_axis=None: the first axis (length {first}) "
            "could be channels or a few z-slices; pass channel_axis=0 for channels, or "
            "spacing=(dz, dy, dx) to confirm it is a 3-D volume"
        )


def restore_shape(labels: np.ndarray, prepared: PreparedImage) -> np.ndarray:
    """Put back the singleton axes removed by :func:`prepare_image`."""
    return labels.reshape(prepared.spatial_shape)
