"""The tight-box prior: an object drawn with a box reaches (nearly) every side of it.

A box drawn around an object is close to the object's bounding box, so a
connected object crosses every line (2-D) or plane (3-D) of the box apart
from a thin slack along each face (Lempitsky, Kohli, Rother and Sharp,
"Image segmentation with a bounding box prior", ICCV 2009).  GrabCut alone
often keeps only the most distinctive part of a box: the bright nucleus of a
whole cell, or a piece of a neighbour.  Here, when the cut's object stops
short of a face, the cheapest path through the box from the object to the
required line (cost: how much more background-like than object-like each
pixel is) is pinned as object and the box is cut again, so the object
grows along what looks most like it; the colour models then learn from it.
"""

from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

import numpy as np

__all__ = [
    "TIGHT_SLACK_PIXELS", "TIGHT_SLACK_FRACTION", "MIN_PIN_SUPPORT", "required_lines", "tightness_pins",
    "pins_supported",
]

#: the object must reach within this many pixels of each face of its box ...
TIGHT_SLACK_PIXELS = 3
#: ... plus this fraction of the box's side (a box is seldom drawn exactly tight)
TIGHT_SLACK_FRACTION = 0.2
#: fraction of pinned pixels the object must hold more than one pixel thick for the prior to stand
MIN_PIN_SUPPORT = 0.5
# cost of a pixel on a pinned path beyond its data term, so paths stay short
_PATH_STEP_COST = 0.1


def required_lines(box: Sequence[slice]) -> Tuple[Tuple[int, int], ...]:
    """Per axis, the first and last index (in region coordinates) the object must reach."""
    lines = []
    for s in box:
        size = s.stop - s.start
        slack = int(math.floor(TIGHT_SLACK_PIXELS + TIGHT_SLACK_FRACTION * size))
        lo, hi = s.start + slack, s.stop - 1 - slack
        if hi < lo:  # a box this small: the object only has to reach its middle
            lo = hi = (s.start + s.stop - 1) // 2
        lines.append((lo, hi))
    return tuple(lines)


def _extent(mask: np.ndarray, axis: int) -> Tuple[int, int]:
    other = tuple(a for a in range(mask.ndim) if a != axis)
    hits = np.flatnonzero(mask.any(axis=other))
    return int(hits[0]), int(hits[-1])


def tightness_pins(
    component: np.ndarray, cost: np.ndarray, allowed: np.ndarray, lines: Sequence[Tuple[int, int]]
) -> Optional[np.ndarray]:
    """Pixels to pin as object so that ``component`` reaches every required line.

    Parameters
    ----------
    component : (...) ndarray of bool
        The object's connected piece (not empty).
    cost : (...) ndarray of float
        Object-minus-background data cost per pixel (negative = object-like).
    allowed : (...) ndarray of bool
        Pixels a path may use (the box, less background scribbles).
    lines : per axis (first, last)
        From :func:`required_lines`.

    Returns
    -------
    (...) ndarray of bool or None
        The cheapest face-neighbour path from ``component`` to each required
        line it does not reach, or None when it reaches them all (or no
        path exists).
    """
    from skimage.graph import MCP

    missing: List[Tuple[int, int]] = []
    for axis, (lo, hi) in enumerate(lines):
        first, last = _extent(component, axis)
        if first > lo:
            missing.append((axis, lo))
        if last < hi:
            missing.append((axis, hi))
    if not missing:
        return None
    step = np.where(allowed, np.maximum(cost, 0.0) + _PATH_STEP_COST, np.inf).astype(np.float64)
    step[component] = 0.0
    finder = MCP(step, fully_connected=False)
    starts = np.argwhere(component)
    total, _ = finder.find_costs([tuple(p) for p in starts])
    pins = np.zeros(component.shape, dtype=bool)
    for axis, index in missing:
        on_line = np.take(total, index, axis=axis)
        if not np.isfinite(on_line).any():
            continue
        best = list(np.unravel_index(int(np.argmin(on_line)), on_line.shape))
        best.insert(axis, index)
        for point in finder.traceback(tuple(best)):
            pins[point] = True
    pins &= ~component
    return pins if pins.any() else None


def pins_supported(mask: np.ndarray, pins: np.ndarray) -> bool:
    """Whether the object grew around its pinned paths (the box was tight).

    Under a loose box the pinned paths cross background and stay one pixel
    wide; under a tight box they cross the object's dim parts, which the cut
    then fills.  True when at least :data:`MIN_PIN_SUPPORT` of the pinned
    pixels survive an opening of the object by the face-neighbour cross.
    """
    from scipy import ndimage as ndi

    pinned = pins & mask
    n_pinned = int(np.count_nonzero(pinned))
    if n_pinned == 0:
        return True
    thick = ndi.binary_opening(mask, structure=ndi.generate_binary_structure(mask.ndim, 1))
    return np.count_nonzero(thick & pinned) >= MIN_PIN_SUPPORT * n_pinned
