"""What to annotate next: objects and regions ranked by model uncertainty.

Per object, the score is the mean uncertainty (e.g. the mutual information of
:func:`napari_segkit.models.uncertainty.mc_dropout`) over the object and a
ring of ``ring`` pixels around it, where a doubtful boundary shows.  Per
region, windows of a fixed size are scored by their mean uncertainty over the
pixels nobody has annotated yet.  Highest first.  numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

import numpy as np
from scipy import ndimage as ndi

from .._errors import InputError

__all__ = ["Ranked", "rank_objects", "rank_regions"]


@dataclass(frozen=True)
class Ranked:
    """One object or region: its id (0 for a region), score, centre and box (start, stop)."""

    id: int
    score: float
    centre: Tuple[float, ...]
    box: Tuple[Tuple[int, ...], Tuple[int, ...]]


def _check(labels: Any, uncertainty: Any) -> Tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels)
    uncertainty = np.asarray(uncertainty, dtype=np.float64)
    if labels.shape != uncertainty.shape:
        raise InputError(f"labels have shape {labels.shape}, uncertainty {uncertainty.shape}; they must match")
    return labels, uncertainty


def rank_objects(labels: Any, uncertainty: Any, *, ring: int = 2,
                 exclude: Optional[Any] = None) -> List[Ranked]:
    """Objects of ``labels`` ordered by mean ``uncertainty`` over the object and a ring around it.

    ``exclude``: a boolean mask of already annotated pixels; objects mostly
    (over half) inside it are left out.
    """
    labels, uncertainty = _check(labels, uncertainty)
    if labels.dtype.kind not in "iu":
        raise InputError(f"labels must be integer instance labels, got dtype {labels.dtype}")
    out = []
    slices = ndi.find_objects(np.where(labels > 0, labels, 0))
    for oid, box in enumerate(slices, start=1):
        if box is None:
            continue
        grown = tuple(slice(max(0, s.start - ring), min(n, s.stop + ring)) for s, n in zip(box, labels.shape))
        obj = labels[grown] == oid
        if exclude is not None and np.asarray(exclude)[grown][obj].mean() > 0.5:
            continue
        region = ndi.binary_dilation(obj, iterations=int(ring)) if ring > 0 else obj
        score = float(uncertainty[grown][region].mean())
        centre = tuple(float(c + s.start) for c, s in zip(ndi.center_of_mass(obj), grown))
        out.append(Ranked(oid, score, centre, (tuple(s.start for s in box), tuple(s.stop for s in box))))
    out.sort(key=lambda r: -r.score)
    return out


def rank_regions(uncertainty: Any, *, window: int = 64, exclude: Optional[Any] = None,
                 top: Optional[int] = None) -> List[Ranked]:
    """Non-overlapping windows ordered by mean uncertainty of their unannotated pixels.

    Windows are ``window`` wide in the last two axes and one plane (frame) deep
    in any leading axes; windows less than a quarter unannotated are skipped.
    """
    uncertainty = np.asarray(uncertainty, dtype=np.float64)
    if isinstance(window, bool) or int(window) < 1:
        raise InputError(f"window must be a positive integer, got {window!r}")
    window = int(window)
    free = np.ones(uncertainty.shape, bool) if exclude is None else ~np.asarray(exclude, dtype=bool)
    if free.shape != uncertainty.shape:
        raise InputError(f"exclude has shape {free.shape}, uncertainty {uncertainty.shape}")
    steps = [1] * (uncertainty.ndim - 2) + [window, window]
    ranges = [range(0, n, k) for n, k in zip(uncertainty.shape, steps)]
    out = []
    for start in np.ndindex(*[len(r) for r in ranges]):
        lo = tuple(r[i] for r, i in zip(ranges, start))
        box = tuple(slice(a, min(a + k, n)) for a, k, n in zip(lo, steps, uncertainty.shape))
        keep = free[box]
        if keep.mean() < 0.25:
            continue
        score = float(uncertainty[box][keep].mean())
        centre = tuple((s.start + s.stop - 1) / 2.0 for s in box)
        out.append(Ranked(0, score, centre, (tuple(s.start for s in box), tuple(s.stop for s in box))))
    out.sort(key=lambda r: -r.score)
    return out[:top] if top else out
