"""Clusters -> instances: each connected piece of a cluster gets its own id."""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from .._labels import label_dtype
from ..tiling.blocks import map_blocks_unique_labels, stitch_labels

__all__ = ["clusters_to_instances"]


def _label_block(block: np.ndarray, block_info=None) -> np.ndarray:
    from skimage.measure import label

    return label(np.asarray(block), background=0, connectivity=1)


def clusters_to_instances(
    labels: Any, *, progress: Optional[Callable[[float, str], None]] = None
) -> Any:
    """Give each face-connected region of equal cluster id its own id.

    Parameters
    ----------
    labels : (M, N[, P]) ndarray or dask array of int
        Cluster ids, 0 = not clustered (stays 0).
    progress : callable, optional
        ``progress(fraction, message)``.

    Returns
    -------
    instances : ndarray or dask array
        Ids ``1..n`` (int32, int64 when needed).  numpy: numbered in raster
        order.  dask: a lazy array numbered block by block, regions crossing
        chunk boundaries merged (equal to the numpy result up to a permutation
        of the ids); computing it reads the clusters three times.
    """
    if hasattr(labels, "chunks") and not isinstance(labels, np.ndarray):
        local = map_blocks_unique_labels(
            _label_block, labels, max_labels_per_block=lambda shape: int(np.prod(shape))
        )
        return stitch_labels(local, classes=labels, progress=progress)
    from skimage.measure import label

    out, n = label(np.asarray(labels), background=0, connectivity=1, return_num=True)
    return out.astype(label_dtype(int(n)), copy=False)
