"""Contrast-sensitive neighbour weights (Boykov and Jolly 2001).

``w(p, q) = exp(-beta * ||I_p - I_q||^2) / dist(p, q)`` with
``beta = 1 / (2 * <||I_p - I_q||^2>)`` estimated from the image (the mean over
all neighbour pairs), so the weights do not depend on the image's dtype or
intensity range.  ``dist`` is the physical distance, from the spacing scaled so
its smallest value is 1: the units of ``spacing`` do not change the result,
only its ratios do.
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np

from .neighbourhood import grid_slices, offset_length, row_ranges

__all__ = [
    "ContrastWeights",
    "EdgeWeights",
    "contrast_weights",
    "estimate_beta",
    "unit_contrast_weights",
]

# (offset, weights): weights[p] is the weight of the pair (p, p + offset); entries
# whose neighbour lies outside the grid are zero and never used.
EdgeWeights = List[Tuple[Tuple[int, ...], np.ndarray]]


def _float_dtype(features: np.ndarray) -> np.dtype:
    """float32 features give float32 weights; float64 features float64 ones."""
    return np.result_type(features.dtype, np.float32)


def _squared_differences_into(features: np.ndarray, src: tuple, dst: tuple, out: np.ndarray) -> None:
    """``out = sum_c (features[src, c] - features[dst, c]) ** 2`` in ``out``'s dtype."""
    np.subtract(features[src + (0,)], features[dst + (0,)], out=out)
    np.square(out, out=out)
    if features.shape[-1] > 1:
        tmp = np.empty_like(out)
        for c in range(1, features.shape[-1]):
            np.subtract(features[src + (c,)], features[dst + (c,)], out=tmp)
            np.square(tmp, out=tmp)
            out += tmp


def _squared_differences(features: np.ndarray, offset: Sequence[int]) -> Tuple[tuple, np.ndarray]:
    src, dst = grid_slices(features.shape[:-1], offset)
    out = np.empty(features[src].shape[:-1], dtype=_float_dtype(features))
    _squared_differences_into(features, src, dst, out)
    return src, out


def estimate_beta(features: np.ndarray, offsets: Sequence[Sequence[int]]) -> float:
    """``1 / (2 * mean squared difference)`` over all neighbour pairs; 0 if constant."""
    total = 0.0
    count = 0
    for offset in offsets:
        _, sq = _squared_differences(features, offset)
        total += float(sq.sum(dtype=np.float64))
        count += sq.size
    return _beta(total, count)


def _beta(total: float, count: int) -> float:
    mean = total / max(count, 1)
    return 0.0 if mean <= 0 else 1.0 / (2.0 * mean)


class ContrastWeights:
    """Boykov-Jolly weights, one neighbour offset and one block of rows at a time.

    ``beta`` is estimated on construction (one pass over every offset's
    squared differences, nothing stored); :meth:`fill_rows` then writes
    ``exp(-beta d^2) / dist`` for the pairs starting in a range of rows (axis
    0) and :meth:`fill` for the whole grid.  The work runs in blocks of about
    ``BLOCK_ELEMENTS`` values, so the intermediate steps stay in the CPU cache.

    Parameters
    ----------
    features : (..., C) ndarray of float
    offsets : sequence of tuple of int
        One offset per undirected pair, first non-zero entry +1 (see
        ``neighbour_offsets``), so a pair never reaches back along axis 0.
    spacing : sequence of float
    """

    def __init__(
        self, features: np.ndarray, offsets: Sequence[Sequence[int]], spacing: Sequence[float]
    ) -> None:
        self.features = features
        self.offsets = [tuple(int(o) for o in offset) for offset in offsets]
        self.shape = features.shape[:-1]
        self.dtype = _float_dtype(features)
        self.rows = row_ranges(self.shape)
        unit = min(spacing)
        self._scaled = [s / unit for s in spacing]
        step = max(stop - start for start, stop in self.rows)
        self._scratch = np.empty(step * int(np.prod(self.shape[1:], dtype=np.int64)), self.dtype)
        total = 0.0
        count = 0
        for offset in self.offsets:
            for start, stop in self.rows:
                _, square = self._squares(offset, start, stop)
                total += float(square.sum(dtype=np.float64))
                count += square.size
        self.beta = _beta(total, count)

    def _squares(self, offset, start: int, stop: int) -> Tuple[tuple, np.ndarray]:
        """Squared differences of the pairs (p, p + offset) with p in rows [start, stop).

        Returns the slices of those p in the sub-grid of rows
        ``[start, stop + offset[0])`` and the squares (in scratch memory).
        """
        sub = self.features[start : min(stop + offset[0], self.shape[0])]
        src, dst = grid_slices(sub.shape[:-1], offset)
        block_shape = tuple(len(range(*s.indices(n))) for s, n in zip(src, sub.shape[:-1]))
        square = self._scratch[: int(np.prod(block_shape, dtype=np.int64))].reshape(block_shape)
        _squared_differences_into(sub, src, dst, square)
        return src, square

    def fill_rows(self, offset: Sequence[int], start: int, stop: int, out: np.ndarray) -> np.ndarray:
        """Weights of the pairs (p, p + offset) with p in rows [start, stop).

        ``out`` covers rows ``[start, min(stop + offset[0], n_rows))``; entry
        ``out[p - start]`` gets the weight of the pair starting at ``p``.
        Entries whose neighbour lies outside those rows are left as they are.
        """
        offset = tuple(int(o) for o in offset)
        length = offset_length(offset, self._scaled)
        for first, last in row_ranges(self.shape, start=start, stop=stop):
            src, square = self._squares(offset, first, last)
            np.multiply(square, -self.beta, out=square)
            np.exp(square, out=square)
            if length != 1.0:
                np.divide(square, length, out=square)
            target = out[first - start : min(last + offset[0], self.shape[0]) - start]
            target[src] = square
        return out

    def fill(self, offset: Sequence[int], out: np.ndarray) -> np.ndarray:
        """Write the weights of the pairs (p, p + offset) into ``out[p]`` over the grid.

        Entries whose neighbour lies outside the grid are left as they are.
        """
        return self.fill_rows(offset, 0, self.shape[0], out)


def unit_contrast_weights(
    features: np.ndarray,
    offsets: Sequence[Sequence[int]],
    spacing: Sequence[float],
) -> EdgeWeights:
    """:func:`contrast_weights` in the features' precision (float32 for
    :func:`~.unary.normalise_features` output), before any smoothness factor.
    """
    contrast = ContrastWeights(features, offsets, spacing)
    return [
        (offset, contrast.fill(offset, np.zeros(contrast.shape, dtype=contrast.dtype)))
        for offset in contrast.offsets
    ]


def contrast_weights(
    features: np.ndarray,
    offsets: Sequence[Sequence[int]],
    spacing: Sequence[float],
) -> EdgeWeights:
    """Neighbour weights in (0, 1] for each offset.

    Parameters
    ----------
    features : (..., C) ndarray of float
        The spatial grid with a trailing channel axis.
    offsets : sequence of tuple of int
        One offset per undirected neighbour pair (see ``neighbour_offsets``).
    spacing : sequence of float
        Physical size of a pixel along each spatial axis.

    Returns
    -------
    list of (offset, (...) ndarray of float64)
    """
    return [
        (offset, weights.astype(np.float64, copy=False))
        for offset, weights in unit_contrast_weights(features, offsets, spacing)
    ]
