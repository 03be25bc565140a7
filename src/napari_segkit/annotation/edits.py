"""Splitting one object in two or more: by seed clicks or by a drawn line.

Pure functions on a boolean object mask (a crop); no state.  Both return an
int32 array, 0 outside the object and 1..n for the pieces, piece 1 being the
one holding the first seed (or the largest one, for a line).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
from scipy import ndimage as ndi

from .._errors import InputError

__all__ = ["split_by_line", "split_by_seeds"]


def _nearest_inside(mask: np.ndarray, point: Sequence[int]) -> tuple:
    """``point`` itself when it lies in ``mask``, else the nearest mask pixel."""
    point = tuple(int(p) for p in point)
    if all(0 <= p < s for p, s in zip(point, mask.shape)) and mask[point]:
        return point
    coords = np.argwhere(mask)
    d2 = ((coords - np.asarray(point)) ** 2).sum(axis=1)
    return tuple(int(c) for c in coords[int(np.argmin(d2))])


def split_by_seeds(mask: np.ndarray, seeds: Sequence[Sequence[int]], *, image: Optional[np.ndarray] = None) -> np.ndarray:
    """Watershed of ``mask`` from two or more seed points.

    Without ``image`` the relief is the negated distance to the object's edge,
    so the cut falls on the neck between the seeds (the usual way to part two
    touching round cells); with ``image`` (same shape as ``mask``) it is the
    image's gradient magnitude, so the cut follows a dim or bright line.
    Seeds outside the object move to its nearest pixel.
    """
    from skimage.segmentation import watershed

    mask = np.asarray(mask, dtype=bool)
    if len(seeds) < 2:
        raise InputError(f"a split needs at least two seed points, got {len(seeds)}")
    markers = np.zeros(mask.shape, dtype=np.int32)
    for k, point in enumerate(seeds, start=1):
        if len(point) != mask.ndim:
            raise InputError(f"seed {list(point)} has {len(point)} coordinates; the object is {mask.ndim}-D")
        where = _nearest_inside(mask, point)
        if markers[where]:
            raise InputError(f"seeds {k - 1} and {k} fall on the same pixel {where}; click two different places")
        markers[where] = k
    if image is None:
        relief = -ndi.distance_transform_edt(np.pad(mask, 1))[(slice(1, -1),) * mask.ndim]
    else:
        image = np.asarray(image, dtype=np.float64)
        if image.shape != mask.shape:
            raise InputError(f"image crop has shape {image.shape}, the object {mask.shape}")
        relief = ndi.gaussian_gradient_magnitude(image, 1.0)
    pieces = watershed(relief, markers=markers, mask=mask).astype(np.int32)
    return pieces


def _rasterise(points: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    from skimage.draw import line

    out = np.zeros(shape, dtype=bool)
    for (r0, c0), (r1, c1) in zip(points[:-1], points[1:]):
        rr, cc = line(int(round(r0)), int(round(c0)), int(round(r1)), int(round(c1)))
        keep = (rr >= 0) & (rr < shape[0]) & (cc >= 0) & (cc < shape[1])
        out[rr[keep], cc[keep]] = True
    # one pixel thick in 8-connectivity leaves diagonal leaks; thicken to 4-connected
    return ndi.binary_dilation(out, structure=np.array([[0, 0, 0], [0, 1, 1], [0, 1, 0]], bool))


def split_by_line(mask: np.ndarray, line: Any) -> np.ndarray:
    """Cut a 2-D ``mask`` along a polyline ``[(row, col), ...]`` (two or more points).

    The line's pixels are removed, the rest falls into connected pieces
    (face connectivity), and the line's pixels go to the nearest piece.
    Pieces smaller than 1 % of the object are given to their neighbour.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise InputError(f"a line splits a 2-D object (one plane); this object is {mask.ndim}-D")
    points = np.asarray(line, dtype=float)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) < 2:
        raise InputError(f"line must be two or more (row, col) points, got shape {points.shape}")
    if not np.isfinite(points).all():
        raise InputError("line has non-finite coordinates")
    cut = _rasterise(points, mask.shape)
    pieces, n = ndi.label(mask & ~cut)
    if n:
        sizes = ndi.sum(np.ones_like(pieces), pieces, index=np.arange(1, n + 1))
        small = np.flatnonzero(sizes < 0.01 * mask.sum()) + 1
        pieces[np.isin(pieces, small)] = 0
        pieces, n = ndi.label(pieces > 0)
    if n < 2:
        raise InputError("the line does not cut the object in two; draw it across the object, from edge to edge")
    # order pieces by size, largest first, then give the line pixels to the nearest piece
    sizes = ndi.sum(np.ones_like(pieces), pieces, index=np.arange(1, n + 1))
    order = np.argsort(-sizes, kind="stable") + 1
    lut = np.zeros(n + 1, dtype=np.int32)
    lut[order] = np.arange(1, n + 1, dtype=np.int32)
    pieces = lut[pieces]
    _, nearest = ndi.distance_transform_edt(pieces == 0, return_indices=True)
    filled = pieces[tuple(nearest)]
    return np.where(mask, filled, 0).astype(np.int32)
