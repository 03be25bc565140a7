"""Checks for seed (scribble) arrays: integer labels, 0 = unknown."""

from __future__ import annotations

from typing import Any, Tuple

import numpy as np

from ._errors import InputError
from ._validation import as_image_array

__all__ = ["check_seeds", "seed_array"]


def seed_array(
    seeds: Any,
    *,
    full_shape: Tuple[int, ...],
    spatial_shape: Tuple[int, ...],
    name: str,
    meaning: str,
) -> np.ndarray:
    """``seeds`` as an array of integer (or bool) labels, with the image's
    shape without channels or one frame's shape.

    ``meaning`` (for example ``"0 = unknown, 1, 2, ... = regions"``) is
    named in the error for float seeds.  Raises :class:`InputError` for a
    float dtype or a shape that matches neither.
    """
    array = as_image_array(seeds, name=name)
    if array.dtype.kind == "f":
        raise InputError(
            f"{name} has dtype {array.dtype}: seeds must be integer labels "
            f"({meaning}), as in a napari Labels layer"
        )
    if array.shape not in (tuple(full_shape), tuple(spatial_shape)):
        expected = f"{tuple(full_shape)}"
        if tuple(spatial_shape) != tuple(full_shape):
            expected += f" or {tuple(spatial_shape)} (one frame, used for every frame)"
        raise InputError(f"{name} has shape {array.shape} but the image needs {expected}")
    return array


def check_seeds(
    seeds: Any,
    *,
    full_shape: Tuple[int, ...],
    spatial_shape: Tuple[int, ...],
    min_values: int = 2,
    name: str = "seeds",
) -> Tuple[np.ndarray, np.ndarray]:
    """Validate seeds against the image and return them with their values.

    Parameters
    ----------
    seeds : array-like of int or bool
        0 = unknown, each positive value one region.  Its shape is the image's
        shape without the channel axis, or the spatial shape alone, which then
        applies to every frame.
    full_shape : tuple of int
        The image's shape without its channel axis.
    spatial_shape : tuple of int
        The trailing spatial part of ``full_shape``.
    min_values : int
        How many distinct non-zero values are required.

    Returns
    -------
    seeds : ndarray
        The seeds (a read-only view is fine; never written to).
    values : (K,) ndarray of int64
        The distinct non-zero seed values, ascending.

    Raises
    ------
    InputError
        For float seeds, a shape that matches neither, negative values, or
        fewer than ``min_values`` distinct values.
    """
    array = seed_array(seeds, full_shape=full_shape, spatial_shape=spatial_shape, name=name,
                       meaning="0 = unknown, 1, 2, ... = regions")
    if array.dtype.kind == "b":
        array = array.view(np.uint8)
    smallest = array.min()
    if smallest < 0:
        raise InputError(
            f"{name} holds negative values (smallest {int(smallest)}); "
            "use 0 for unknown and positive values for regions"
        )
    # only the painted pixels need sorting: seeds are mostly 0
    values = np.unique(array[array != 0])
    if values.size and values[-1] > np.iinfo(np.int64).max:
        raise InputError(f"{name} holds value {values[-1]}, larger than int64 allows")
    values = values.astype(np.int64)
    if values.size == 0:
        raise InputError(
            f"{name} are empty (all zero): paint at least one foreground and one "
            "background region with different label values"
        )
    if values.size < min_values:
        raise InputError(
            f"{name} hold only the value {values.tolist()}; paint at least {min_values} "
            "regions with different label values (for example 1 = object, 2 = background)"
        )
    return array, values
