"""Checks and conversions shared by the refinement tools.

A probability map has one axis of classes (``class_axis``) and the image's
spatial shape on the other axes.  A single class (length 1 along the class
axis) is read as the probability of class 1, the object; class 2 is its
complement (background), as in :func:`napari_segkit.graph_cut`'s seeds.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any, Optional, Tuple

import numpy as np

from .._errors import InputError
from .._validation import as_image_array, check_channel_axis, check_finite, move_channels_last

__all__ = ["normalise_intensities", "prepare_image", "prepare_probabilities", "restore_class_axis"]

# sums over classes may differ from 1 by this much (float16 exports, rounding)
SUM_TOLERANCE = 1e-2
# values may leave [0, 1] by this much
RANGE_TOLERANCE = 1e-3
# percentiles that map to 0 and 1 in the robust intensity normalisation
LOW_PERCENTILE = 0.5
HIGH_PERCENTILE = 99.5


def prepare_image(
    image: Any, channel_axis: Optional[int], *, method: str
) -> Tuple[np.ndarray, Tuple[int, ...]]:
    """Return the image as (..., C) channels-last (a view) and its spatial shape.

    Raises
    ------
    InputError
        For a bad dtype, an empty array, a bad ``channel_axis``, non-finite
        values, or a spatial part that is not 2-D or 3-D.
    """
    array = as_image_array(image, name="image")
    axis = check_channel_axis(channel_axis, array.ndim)
    channels_last = move_channels_last(array, axis)
    spatial = tuple(channels_last.shape[:-1])
    if len(spatial) not in (2, 3):
        raise InputError(
            f"{method} accepts 2-D or 3-D images with an optional channel axis; image has "
            f"shape {array.shape} ({len(spatial)} non-channel dimension(s)"
            f"{'' if axis is None else f', channel_axis={axis}'})"
        )
    check_finite(array, name="image")
    return channels_last, spatial


def normalise_intensities(channels_last: np.ndarray) -> Tuple[np.ndarray, bool]:
    """Scale each channel so its 0.5th and 99.5th percentiles become 0 and 1.

    Robust to outliers (hot pixels, saturated spots) and independent of dtype
    and intensity range: a uint8 image, the same image as uint16, or as float
    with an offset of 1e6, give the same features.  A channel whose percentile
    range is zero falls back to its minimum and maximum; a constant channel
    becomes 0.  Values beyond the percentiles are not clipped.

    Returns
    -------
    features : (..., C) ndarray of float32
    varies : bool
        Whether any channel is not constant.
    """
    n_channels = channels_last.shape[-1]
    flat = channels_last.reshape(-1, n_channels)
    out = np.empty(channels_last.shape, dtype=np.float32)
    out_flat = out.reshape(-1, n_channels)
    varies = False
    for c in range(n_channels):
        values = flat[:, c]
        if values.dtype.kind == "b":
            values = values.view(np.uint8)
        values = values.astype(np.float64, copy=False)
        lo, hi = np.percentile(values, [LOW_PERCENTILE, HIGH_PERCENTILE])
        if not hi > lo:
            lo, hi = float(values.min()), float(values.max())
        if hi > lo:
            varies = True
            out_flat[:, c] = (values - lo) / (hi - lo)
        else:
            out_flat[:, c] = 0.0
    return out, varies


def _check_class_axis(class_axis: Any, ndim: int) -> int:
    if isinstance(class_axis, (bool, np.bool_)) or not isinstance(class_axis, numbers.Integral):
        raise InputError(f"class_axis must be an integer, got {class_axis!r}")
    if not -ndim <= class_axis < ndim:
        raise InputError(
            f"class_axis={class_axis} is out of range for probabilities with {ndim} dimensions "
            f"(valid: {-ndim} to {ndim - 1})"
        )
    return int(class_axis) % ndim


def prepare_probabilities(
    probabilities: Any,
    spatial_shape: Tuple[int, ...],
    *,
    class_axis: int = 0,
    from_logits: bool = False,
) -> Tuple[np.ndarray, int, bool]:
    """Validate a probability map and return it as (K, ...) float32, K >= 2.

    Parameters
    ----------
    probabilities : array-like of float
        Classes on ``class_axis``, the image's spatial shape on the others.
    spatial_shape : tuple of int
    class_axis : int
    from_logits : bool
        Values are logits: a softmax over the classes (a sigmoid for one
        class) turns them into probabilities.

    Returns
    -------
    probs : (K, ...) ndarray of float32
        Rows sum to 1.  A single class ``p`` becomes ``[p, 1 - p]``.
    class_axis : int
        Non-negative.
    single : bool
        Whether the input had one class.

    Raises
    ------
    InputError
        Non-float dtype, wrong shape, NaN/inf, values outside [0, 1] or not
        summing to 1 over the classes (unless ``from_logits``).
    """
    array = as_image_array(probabilities, name="probabilities")
    if array.dtype.kind != "f":
        raise InputError(
            f"probabilities has dtype {array.dtype}: expected floats (probabilities in [0, 1], "
            "or logits with from_logits=True); divide an 8-bit export by 255 first"
        )
    if array.ndim != len(spatial_shape) + 1:
        raise InputError(
            f"probabilities has shape {array.shape} but needs {len(spatial_shape) + 1} dimensions: "
            f"one class axis and the image's spatial shape {tuple(spatial_shape)}"
        )
    axis = _check_class_axis(class_axis, array.ndim)
    rest = array.shape[:axis] + array.shape[axis + 1 :]
    if rest != tuple(spatial_shape):
        raise InputError(
            f"probabilities has shape {array.shape}; without its class axis ({axis}) that is "
            f"{rest}, but the image's spatial shape is {tuple(spatial_shape)}"
        )
    check_finite(array, name="probabilities")
    classes_first = np.moveaxis(array, axis, 0)
    n_classes = classes_first.shape[0]
    single = n_classes == 1
    if from_logits:
        logits = classes_first.astype(np.float32)
        if single:
            p = np.empty(logits.shape, dtype=np.float32)
            # sigmoid without overflow
            np.negative(np.abs(logits[0]), out=p[0])
            np.exp(p[0], out=p[0])
            p[0] = np.where(logits[0] >= 0, 1.0 / (1.0 + p[0]), p[0] / (1.0 + p[0]))
            probs = np.concatenate([p, 1.0 - p])
        else:
            logits -= logits.max(axis=0, keepdims=True)
            np.exp(logits, out=logits)
            logits /= logits.sum(axis=0, keepdims=True)
            probs = logits
        return probs, axis, single
    lo = float(classes_first.min())
    hi = float(classes_first.max())
    if lo < -RANGE_TOLERANCE or hi > 1 + RANGE_TOLERANCE:
        outside = int(np.count_nonzero((classes_first < 0) | (classes_first > 1)))
        raise InputError(
            f"probabilities has {outside} values outside [0, 1] (range {lo:.4g} to {hi:.4g}); "
            "pass from_logits=True for a network's raw outputs (logits)"
        )
    probs = np.clip(classes_first, 0.0, 1.0).astype(np.float32)
    if single:
        return np.concatenate([probs, 1.0 - probs]), axis, True
    sums = probs.sum(axis=0, dtype=np.float64)
    bad = np.abs(sums - 1.0) > SUM_TOLERANCE
    if bad.any():
        raise InputError(
            f"probabilities do not sum to 1 over the {n_classes} classes (axis {axis}) at "
            f"{int(bad.sum())} of {bad.size} pixels (sums {sums.min():.4g} to {sums.max():.4g}); "
            "pass a softmax output with every class, a single-class map, or logits with "
            "from_logits=True"
        )
    probs /= sums.astype(np.float32)
    return probs, axis, False


def restore_class_axis(probs: np.ndarray, axis: int, single: bool) -> np.ndarray:
    """(K, ...) refined probabilities -> the caller's layout (class axis, one class)."""
    if single:
        probs = probs[:1]
    return np.ascontiguousarray(np.moveaxis(probs, 0, axis))


def warn_constant(method: str) -> None:
    warnings.warn(
        f"image is constant: {method} follows the probabilities and the spatial "
        "smoothness term only",
        UserWarning,
        stacklevel=3,
    )
