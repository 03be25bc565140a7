"""Reproducible cluster ids: clusters numbered by their centre, not by chance."""

from __future__ import annotations

import numpy as np

__all__ = ["cluster_ids"]


def cluster_ids(centres: np.ndarray) -> np.ndarray:
    """Return the id (1..k) of each of the k cluster ``centres`` (k, F).

    Clusters are numbered by their first feature, ascending (the first
    channel's intensity, or lightness L* for colour), ties broken by the next
    features; so on a bright-object image the background is cluster 1 whatever
    the random initialisation found first.
    """
    centres = np.asarray(centres, dtype=np.float64)
    if centres.ndim != 2 or centres.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort(centres.T[::-1])
    ids = np.empty(len(centres), dtype=np.int64)
    ids[order] = np.arange(1, len(centres) + 1)
    return ids
