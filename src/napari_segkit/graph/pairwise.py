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

from .neighbourhood import grid_slices, offset_length

__all__ = ["EdgeWeights", "contrast_weights", "estimate_beta"]

# (offset, weights): weights[p] is the weight of the pair (p, p + offset); entries
# whose neighbour lies outside the grid are zero and never used.
EdgeWeights = List[Tuple[Tuple[int, ...], np.ndarray]]


def _squared_differences(features: np.ndarray, offset: Sequence[int]) -> Tuple[tuple, np.ndarray]:
    spatial_shape = features.shape[:-1]
    src, dst = grid_slices(spatial_shape, offset)
    diff = features[src] - features[dst]
    return src, np.einsum("...c,...c->...", diff, diff)


def estimate_beta(features: np.ndarray, offsets: Sequence[Sequence[int]]) -> float:
    """``1 / (2 * mean squared difference)`` over all neighbour pairs; 0 if constant."""
    total = 0.0
    count = 0
    for offset in offsets:
        _, sq = _squared_differences(features, offset)
        total += float(sq.sum(dtype=np.float64))
        count += sq.size
    mean = total / max(count, 1)
    return 0.0 if mean <= 0 else 1.0 / (2.0 * mean)


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
    beta = estimate_beta(features, offsets)
    unit = min(spacing)
    scaled = [s / unit for s in spacing]
    result: EdgeWeights = []
    for offset in offsets:
        src, sq = _squared_differences(features, offset)
        weights = np.zeros(features.shape[:-1], dtype=np.float64)
        np.multiply(sq, -beta, out=sq)
        np.exp(sq, out=sq)
        weights[src] = sq / offset_length(offset, scaled)
        result.append((tuple(offset), weights))
    return result
