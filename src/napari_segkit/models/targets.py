"""Training targets from instance labels: background, interior and boundary (or depth bins).

A pixel of an object within ``boundary_width`` face steps of another id
(another object or background) is *boundary*; the rest of the object is *interior*.
Touching objects are thus separated by a band of boundary pixels, and instances are
recovered from the interior (see :mod:`.instances`).  For sparse annotation,
pixels equal to ``ignore_label`` are left out of the loss, and so are object
pixels next to them (their class is unknown).  No torch here.

The *distance* target (:func:`distance_targets`) splits each object further by
its depth (distance to its edge) relative to the object's own deepest pixel,
as a distance map quantised into classes: the edge ring is *boundary*, the
core (depth >= 0.8 of the object's maximum) *interior*, in between two
*inner* bins.  Its first three classes mean what they mean in the boundary
target; :mod:`.instances` seeds objects from their deeper half and grows the
seeds over the expected depth.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from scipy import ndimage as ndi

__all__ = ["BACKGROUND", "BOUNDARY", "CLASSES", "DEPTH_LEVELS", "DISTANCE_CLASSES", "IGNORE", "INTERIOR",
           "TARGET_CLASSES", "distance_targets", "instance_targets", "target_kind"]

BACKGROUND, INTERIOR, BOUNDARY = 0, 1, 2
CLASSES = ("background", "interior", "boundary")
DISTANCE_CLASSES = ("background", "interior", "boundary", "inner 1", "inner 2")
#: relative depth each class of the distance target stands for (its bin's middle)
DEPTH_LEVELS = (0.0, 0.9, 0.1, 0.35, 0.65)
#: upper ends of the relative-depth bins of "inner 1" and "inner 2"; above: interior
_DEPTH_BINS = (0.5, 0.8)
TARGET_CLASSES = {"boundary": CLASSES, "distance": DISTANCE_CLASSES}
IGNORE = -1


def target_kind(classes) -> str:
    """The target (``"boundary"`` or ``"distance"``) a model with these classes was trained on."""
    for kind, names in TARGET_CLASSES.items():
        if list(classes) == list(names):
            return kind
    raise ValueError(f"no instance target has the classes {list(classes)}")


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


def distance_targets(labels: np.ndarray, *, ignore_label: Optional[int] = None) -> np.ndarray:
    """Per-pixel depth classes: 0 background, 1 core, 2 edge ring, 3 and 4 inner bins, -1 ignored.

    Parameters
    ----------
    labels, ignore_label
        As for :func:`instance_targets`.

    Returns
    -------
    ndarray of int64, same shape
        The depth of an object pixel is its Euclidean distance to the
        nearest pixel of another value (background, another object, the
        image border does not count), divided by the object's largest depth;
        the edge ring is *boundary* (2), relative depth below 0.5 *inner 1*
        (3), below 0.8 *inner 2* (4), the rest *interior* (1).
    """
    labels = np.asarray(labels)
    edges = instance_targets(labels, ignore_label=ignore_label, boundary_width=1)
    core = edges == INTERIOR
    depth = ndi.distance_transform_edt(core) + 1.0  # the edge ring is depth 1
    _, ids = np.unique(np.where(core, labels, 0), return_inverse=True)
    ids = ids.reshape(labels.shape)
    deepest = np.asarray(ndi.maximum(depth, ids, index=np.arange(int(ids.max()) + 1)))
    relative = depth / np.maximum(deepest[ids], 1.0)
    target = edges.copy()
    target[core & (relative < _DEPTH_BINS[1])] = 4
    target[core & (relative < _DEPTH_BINS[0])] = 3
    return target
