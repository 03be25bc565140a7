"""Test-time augmentation: predict the flipped (and, in 2-D, transposed) image and average.

The eight transforms are the symmetries of the square in 2-D (flips of y and
x, with and without swapping the axes) and the eight flips of the axes in 3-D,
where the anisotropic z axis is never swapped.  Each transformed image is
predicted whole, with the usual tiling, so tiled and whole-image prediction
stay equal; the probabilities are mapped back and averaged.  No torch here.
"""

from __future__ import annotations

import itertools
from typing import Callable, List, Tuple

import numpy as np

__all__ = ["transforms"]

Transform = Tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray], bool]


def transforms(spatial_dims: int) -> List[Transform]:
    """``(forward, inverse, swaps_axes)`` for arrays ``(C, *spatial)``; the identity first."""
    out: List[Transform] = []
    axes = list(range(1, spatial_dims + 1))
    swaps = (False, True) if spatial_dims == 2 else (False,)
    for swap in swaps:
        for flips in itertools.product((False, True), repeat=spatial_dims):
            flipped = tuple(a for a, f in zip(axes, flips) if f)
            out.append((_forward(flipped, swap), _inverse(flipped, swap), swap))
    return out


def _forward(flipped, swap):
    def apply(array: np.ndarray) -> np.ndarray:
        if flipped:
            array = np.flip(array, flipped)
        if swap:
            array = np.swapaxes(array, -1, -2)
        return np.ascontiguousarray(array)

    return apply


def _inverse(flipped, swap):
    def apply(array: np.ndarray) -> np.ndarray:
        if swap:
            array = np.swapaxes(array, -1, -2)
        if flipped:
            array = np.flip(array, flipped)
        return np.ascontiguousarray(array)

    return apply
