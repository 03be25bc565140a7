"""Neighbourhoods on a pixel/voxel grid."""

from __future__ import annotations

import itertools
from typing import List, Sequence, Tuple

import numpy as np

from .._errors import InputError

__all__ = ["neighbour_offsets", "offset_length", "resolve_connectivity", "grid_slices"]

Offset = Tuple[int, ...]

# neighbour counts users know, mapped to scikit-image's connectivity convention
_COUNTS = {2: {4: 1, 8: 2}, 3: {6: 1, 18: 2, 26: 3}}


def resolve_connectivity(connectivity: int, ndim: int) -> int:
    """Return connectivity as the number of axes a neighbour may differ in.

    Accepts scikit-image's convention (1 to ``ndim``: 1 is face neighbours) or
    the neighbour count (4 or 8 in 2-D; 6, 18 or 26 in 3-D).

    Raises
    ------
    InputError
        If ``connectivity`` is neither.
    """
    counts = _COUNTS[ndim]
    if isinstance(connectivity, (bool, np.bool_)) or not isinstance(
        connectivity, (int, np.integer)
    ):
        raise InputError(f"connectivity must be an integer, got {connectivity!r}")
    if 1 <= connectivity <= ndim:
        return int(connectivity)
    if connectivity in counts:
        return counts[int(connectivity)]
    valid = list(range(1, ndim + 1)) + sorted(counts)
    raise InputError(
        f"connectivity={connectivity} is not valid for {ndim}-D images; use one of {valid}"
    )


def neighbour_offsets(ndim: int, connectivity: int) -> List[Offset]:
    """One offset of each +/- pair of neighbours (the first non-zero entry is +1).

    Each undirected neighbour pair (p, p + o) appears once.
    """
    offsets = []
    for offset in itertools.product((-1, 0, 1), repeat=ndim):
        nonzero = [o for o in offset if o != 0]
        if not nonzero or len(nonzero) > connectivity:
            continue
        if nonzero[0] > 0:
            offsets.append(tuple(offset))
    return offsets


def offset_length(offset: Sequence[int], spacing: Sequence[float]) -> float:
    """Physical length of a step by ``offset`` on a grid with ``spacing``."""
    return float(np.sqrt(sum((o * s) ** 2 for o, s in zip(offset, spacing))))


def grid_slices(shape: Sequence[int], offset: Sequence[int]) -> Tuple[tuple, tuple]:
    """Slices (src, dst) so that ``a[src]`` and ``a[dst]`` pair each p with p + offset."""
    src, dst = [], []
    for size, o in zip(shape, offset):
        if o > 0:
            src.append(slice(0, size - o))
            dst.append(slice(o, size))
        elif o < 0:
            src.append(slice(-o, size))
            dst.append(slice(0, size + o))
        else:
            src.append(slice(None))
            dst.append(slice(None))
    return tuple(src), tuple(dst)
