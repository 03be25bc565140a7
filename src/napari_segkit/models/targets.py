"""Training targets from instance labels: background, interior and boundary.

A pixel of an object within ``boundary_width`` face steps of another id
(another object or background) is *boundary*; the rest of the object is *interior*.
Touching objects are thus separated by a band of boundary pixels, and instances are
recovered from the interior (see :mod:`.instances`).  For sparse annotation,
pixels equal to ``ignore_label`` are left out of the loss, and so are object
pixels next to them (their class is unknown).  No torch here.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

__all__ = ["BACKGROUND", "BOUNDARY", "CLASSES", "IGNORE", "INTERIOR", "instance_targets"]

BACKGROUND, INTERIOR, BOUNDARY = 0, 1, 2
CLASSES = ("background", "interior", "boundary")
IGNORE = -1


def _shifted_pairs(labels: np.ndarray):
    """Yield (a, b) views of face-neighbouring pixel pairs, both directions."""
    for axis in range(labels.ndim):
        lo = [slice(None)] * labels.ndim
        hi = [slice(None)] * labels.ndim
        lo[axis] = slice(0, -1)
        hi[axis] = slice(1, None)
        yield tuple(lo), tuple(hi)
        yield tuple(hi), tuple(lo)


def instance_targets(
    labels: np.ndarray, *, ignore_label: Optional[int] = None, boundary_width: int = 2
) -> np.ndarray:
    """Per-pixel classes for training: 0 background, 1 interior, 2 boundary, -1 ignored.

    Parameters
    ----------
    labels : (M, N[, P]) ndarray of int
        Instance labels, 0 = background.
    ignore_label : int, optional
        The value marking pixels that were not annotated.
    boundary_width : int
        Thickness of the boundary inside each object, in pixels; two pixels
        (four between touching objects) give the network a clear line to
        learn.

    Returns
    -------
    ndarray of int64, same shape
    """
    labels = np.asarray(labels)
    ignored = labels == ignore_label if ignore_label is not None else np.zeros(labels.shape, bool)
    objects = (labels != 0) & ~ignored
    boundary = np.zeros(labels.shape, dtype=bool)
    near_ignored = np.zeros(labels.shape, dtype=bool)
    for here, there in _shifted_pairs(labels):
        a, b = labels[here], labels[there]
        other_ignored = ignored[there]
        boundary[here] |= objects[here] & (a != b) & ~other_ignored
        near_ignored[here] |= objects[here] & other_ignored
    for _ in range(int(boundary_width) - 1):
        grown = boundary.copy()
        for here, there in _shifted_pairs(labels):
            grown[here] |= objects[here] & boundary[there] & (labels[here] == labels[there])
        boundary = grown
    target = np.full(labels.shape, BACKGROUND, dtype=np.int64)
    target[objects] = INTERIOR
    target[boundary] = BOUNDARY
    target[ignored | near_ignored] = IGNORE
    return target
