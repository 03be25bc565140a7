"""Box checks: one object per box, ``[min corner, max corner)`` in pixels.

A box is an (2, d) array: its first row the minimum corner (inclusive), its
second the maximum corner (exclusive), in pixel indices of the image's
non-channel axes.  ``d`` is either the number of spatial axes (the box applies
to every frame of a time series) or the number of all non-channel axes (the
leading entries then select the frames the box applies to).
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence, Tuple

import numpy as np

from .._errors import InputError

__all__ = ["check_boxes", "MIN_OBJECT_PIXELS", "box_depth"]

#: a box must hold at least this many pixels (a 3 x 3 square) to learn an object model
MIN_OBJECT_PIXELS = 9


def _fmt(box: np.ndarray) -> str:
    lo = ", ".join(f"{v:g}" for v in box[0])
    hi = ", ".join(f"{v:g}" for v in box[1])
    return f"[({lo}), ({hi})]"


def check_boxes(
    boxes: Any,
    full_shape: Tuple[int, ...],
    spatial_ndim: int,
    *,
    name: str = "boxes",
    stacklevel: int = 3,
) -> np.ndarray:
    """Validate boxes and return them as (N, 2, len(full_shape)) int64, clipped.

    Non-integer corners are widened to whole pixels (minimum rounded down,
    maximum rounded up); the two corners may be given in either order.  A
    spatial-only box is extended over every frame.  A box partly outside the
    image is clipped to it with one warning listing the clipped boxes.

    Parameters
    ----------
    boxes : array-like, (N, 2, d) or (2, d)
    full_shape : tuple of int
        The image's shape without its channel axis.
    spatial_ndim : int
        Number of trailing spatial axes.

    Raises
    ------
    InputError
        Wrong shape or dtype, NaN or infinite corners, a box of zero size or
        wholly outside the image, or a box with fewer than
        :data:`MIN_OBJECT_PIXELS` pixels per frame after clipping.  The
        message names the box's index, its corners and the image bounds.
    """
    try:
        array = np.asarray(boxes, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be numbers, got {type(boxes).__name__}") from None
    ndim = len(full_shape)
    if array.ndim == 2 and array.shape[0] == 2:
        array = array[np.newaxis]
    if array.size == 0:
        return np.zeros((0, 2, ndim), dtype=np.int64)
    allowed = sorted({spatial_ndim, ndim})
    if array.ndim != 3 or array.shape[1] != 2 or array.shape[2] not in allowed:
        raise InputError(
            f"{name} must have shape (N, 2, d) with d in {allowed} ([min corner, max corner] "
            f"per box, in pixel coordinates of the image's non-channel axes {tuple(full_shape)}); "
            f"got shape {array.shape}"
        )
    bad = ~np.isfinite(array).all(axis=(1, 2))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"{name}[{i}] has NaN or infinite corners: {array[i].tolist()}")
    lo = np.floor(array.min(axis=1))
    hi = np.ceil(array.max(axis=1))
    if array.shape[2] < ndim:  # spatial boxes apply to every frame
        lead = ndim - array.shape[2]
        lo = np.concatenate([np.zeros((len(lo), lead)), lo], axis=1)
        hi = np.concatenate([np.tile(np.asarray(full_shape[:lead], float), (len(hi), 1)), hi], axis=1)
    bounds = f"the image spans [(0, ...), {tuple(full_shape)}) (non-channel axes)"
    size = np.asarray(full_shape, dtype=np.float64)
    for i in range(len(lo)):
        if np.any(hi[i] <= lo[i]):
            raise InputError(
                f"{name}[{i}] {_fmt(np.stack([lo[i], hi[i]]))} has zero size along axis "
                f"{int(np.flatnonzero(hi[i] <= lo[i])[0])}; {bounds}"
            )
        if np.any(hi[i] <= 0) or np.any(lo[i] >= size):
            raise InputError(f"{name}[{i}] {_fmt(np.stack([lo[i], hi[i]]))} lies wholly outside the image; {bounds}")
    clipped_lo = np.clip(lo, 0, size)
    clipped_hi = np.clip(hi, 0, size)
    clipped = np.flatnonzero(np.any(clipped_lo != lo, axis=1) | np.any(clipped_hi != hi, axis=1))
    if clipped.size:
        listed = ", ".join(str(i) for i in clipped[:10]) + (" ..." if clipped.size > 10 else "")
        warnings.warn(
            f"{clipped.size} box(es) extend beyond the image and were clipped to it "
            f"({name} index {listed}); {bounds}",
            UserWarning,
            stacklevel=stacklevel,
        )
    out = np.stack([clipped_lo, clipped_hi], axis=1).astype(np.int64)
    pixels = np.prod(out[:, 1, -spatial_ndim:] - out[:, 0, -spatial_ndim:], axis=1)
    small = np.flatnonzero(pixels < MIN_OBJECT_PIXELS)
    if small.size:
        i = int(small[0])
        raise InputError(
            f"{name}[{i}] {_fmt(out[i].astype(float))} covers {int(pixels[i])} pixel(s) per frame: too few "
            f"object samples ({int(pixels[i])} < {MIN_OBJECT_PIXELS}); draw a box at least 3 pixels wide "
            "on each axis around the object"
        )
    return out


def box_depth(coords: Sequence[np.ndarray], box: np.ndarray) -> np.ndarray:
    """How deep points lie inside a box: 0 at its centre, 1 on its faces.

    ``max_axis |x - centre| / half_size`` over the box's axes; used to give a
    pixel claimed by several objects to the box it lies deepest in.
    """
    depth = None
    for axis, x in enumerate(coords):
        lo, hi = float(box[0, axis]), float(box[1, axis])
        half = max((hi - lo) / 2.0, 0.5)
        centre = (lo + hi - 1) / 2.0
        d = np.abs(np.asarray(x, dtype=np.float64) - centre) / half
        depth = d if depth is None else np.maximum(depth, d)
    return depth
