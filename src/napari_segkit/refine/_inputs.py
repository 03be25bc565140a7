"""Checks and conversions shared by the refinement tools.

A probability map has the image's spatial shape and a LAST axis of classes,
class 0 being the background, as :func:`napari_segkit.predict_probabilities`
returns it.  A single map (no class axis, or one of length 1) is the
probability of the object: class 1; the background, class 0, is its
complement.  Internally the classes go first, (K, ...).
"""

from __future__ import annotations

import warnings
from typing import Any, Optional, Tuple

import numpy as np

from .._errors import InputError
from .._image import normalise_channels as normalise_intensities
from .._seeds import check_seeds
from .._validation import as_image_array, check_finite

__all__ = [
    "normalise_intensities",
    "prepare_class_seeds",
    "prepare_image",
    "prepare_probabilities",
    "restore_class_axis",
]

# sums over classes may differ from 1 by this much (float16 exports, rounding)
SUM_TOLERANCE = 1e-2
# values may leave [0, 1] by this much
RANGE_TOLERANCE = 1e-3


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
    from .._image import parse_image

    parsed = parse_image(image, method=method, channel_axis=channel_axis, lazy=False, frames=False)
    return parsed.data, parsed.spatial_shape


def prepare_probabilities(
    probabilities: Any,
    spatial_shape: Tuple[int, ...],
    *,
    from_logits: bool = False,
) -> Tuple[np.ndarray, bool]:
    """Validate a class-last probability map and return it as (K, ...) float32, K >= 2.

    Parameters
    ----------
    probabilities : array-like of float
        The image's spatial shape plus a last axis of K classes (class 0 =
        background), as :func:`napari_segkit.predict_probabilities` returns;
        or the spatial shape alone (or with a last axis of length 1): the
        probability of the object, whose complement is the background.
    spatial_shape : tuple of int
    from_logits : bool
        Values are logits: a softmax over the classes (a sigmoid for one
        class) turns them into probabilities.

    Returns
    -------
    probs : (K, ...) ndarray of float32
        Classes first (the internal layout), summing to 1.  A single object
        map ``p`` becomes ``[1 - p, p]``: class 0 background, class 1 object.
    single : bool
        Whether the input had one class (no class axis, or one of length 1).

    Raises
    ------
    InputError
        Non-float dtype, wrong shape (a class-first map is named as such, with
        the fix), NaN/inf, values outside [0, 1] or not summing to 1 over the
        classes (unless ``from_logits``).
    """
    array = as_image_array(probabilities, name="probabilities")
    if array.dtype.kind != "f":
        raise InputError(
            f"probabilities has dtype {array.dtype}: expected floats (probabilities in [0, 1], "
            "or logits with from_logits=True); divide an 8-bit export by 255 first"
        )
    spatial_shape = tuple(int(s) for s in spatial_shape)
    if array.shape == spatial_shape:
        array = array[..., np.newaxis]
    if array.ndim != len(spatial_shape) + 1 or array.shape[:-1] != spatial_shape:
        hint = ""
        if array.ndim == len(spatial_shape) + 1 and array.shape[1:] == spatial_shape:
            hint = (
                f"; it looks class-first ({array.shape[0]} classes on axis 0): the class axis "
                "is last everywhere in napari_segkit, pass np.moveaxis(probabilities, 0, -1)"
            )
        raise InputError(
            f"probabilities has shape {array.shape} but needs the image's spatial shape "
            f"{spatial_shape} plus a last axis of classes (or the spatial shape alone for one "
            f"object-probability map){hint}"
        )
    check_finite(array, name="probabilities")
    classes_first = np.moveaxis(array, -1, 0)
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
            return np.concatenate([1.0 - p, p]), True
        logits -= logits.max(axis=0, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=0, keepdims=True)
        return logits, False
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
        return np.concatenate([1.0 - probs, probs]), True
    sums = probs.sum(axis=0, dtype=np.float64)
    bad = np.abs(sums - 1.0) > SUM_TOLERANCE
    if bad.any():
        raise InputError(
            f"probabilities do not sum to 1 over the {n_classes} classes (last axis) at "
            f"{int(bad.sum())} of {bad.size} pixels (sums {sums.min():.4g} to {sums.max():.4g}); "
            "pass a softmax output with every class, a single-class map, or logits with "
            "from_logits=True"
        )
    probs /= sums.astype(np.float32)
    return probs, False


def restore_class_axis(probs: np.ndarray, single: bool, *, keepdims: bool) -> np.ndarray:
    """(K, ...) refined probabilities -> the caller's layout (class axis last, or one map).

    ``keepdims``: a single map given with a last axis of length 1 keeps it.
    """
    if single:
        object_map = np.ascontiguousarray(probs[1])
        return object_map[..., np.newaxis] if keepdims else object_map
    return np.ascontiguousarray(np.moveaxis(probs, 0, -1))


def prepare_class_seeds(seeds: Any, spatial: Tuple[int, ...], n_classes: int):
    """Seeds naming classes -> (per-pixel class index or -1 = unknown, or None).

    0 = unknown; value ``v`` in 1..K-1 marks class ``v``; value ``K`` marks
    class 0, the background (for two classes: 1 = object, 2 = background,
    as painted for :func:`napari_segkit.graph_cut`).
    """
    if seeds is None:
        return None
    array = as_image_array(seeds, name="seeds")
    if array.dtype.kind in "biu" and array.shape == tuple(spatial) and not array.any():
        return None
    array, values = check_seeds(array, full_shape=spatial, spatial_shape=spatial, min_values=1)
    if values[-1] > n_classes:
        raise InputError(
            f"seeds hold values {values.tolist()} but the probabilities have {n_classes} classes; "
            f"seed values must be 1 to {n_classes} (0 = unknown, 1..{n_classes - 1} = that class, "
            f"{n_classes} = background, class 0)"
        )
    classes = array.astype(np.int64) if array.dtype != np.int64 else array.copy()
    classes[array == n_classes] = 0
    classes[array == 0] = -1
    return classes


def warn_constant(method: str) -> None:
    warnings.warn(
        f"image is constant: {method} follows the probabilities and the spatial "
        "smoothness term only",
        UserWarning,
        stacklevel=3,
    )
