"""Neighbourhoods on a pixel/voxel grid."""

from __future__ import annotations

import itertools
from typing import Iterator, List, Sequence, Tuple

import numpy as np

from .._errors import InputError

__all__ = [
    "BLOCK_ELEMENTS",
    "blocks",
    "grid_slices",
    "neighbour_offsets",
    "offset_length",
    "resolve_connectivity",
    "row_ranges",
]

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


# values per block in block-wise passes: temporaries of a few hundred kB stay in
# the CPU cache, and no full-size temporary is allocated
BLOCK_ELEMENTS = 1 << 16


def blocks(shape: Sequence[int], size: int = BLOCK_ELEMENTS) -> Iterator[tuple]:
    """Index tuples that cover an array of ``shape`` in order, about ``size`` values each.

    Blocks run along the first axis; an axis whose sub-arrays are too big for
    one block is split along the next one.
    """
    shape = tuple(int(s) for s in shape)
    if not shape:
        yield ()
        return
    inner = int(np.prod(shape[1:], dtype=np.int64))
    if inner <= size or len(shape) == 1:
        step = max(1, size // max(inner, 1))
        for start in range(0, shape[0], step):
            yield (slice(start, min(start + step, shape[0])),)
        return
    for i in range(shape[0]):
        for rest in blocks(shape[1:], size):
            yield (i,) + rest


def row_ranges(
    shape: Sequence[int], size: int = BLOCK_ELEMENTS, start: int = 0, stop: int | None = None
) -> List[Tuple[int, int]]:
    """``(first, last)`` ranges of whole rows (axis 0) of about ``size`` values each,
    covering rows ``[start, stop)`` (default: all)."""
    stop = shape[0] if stop is None else stop
    row = int(np.prod(shape[1:], dtype=np.int64))
    step = max(1, size // max(row, 1))
    return [(first, min(first + step, stop)) for first in range(start, stop, step)]
