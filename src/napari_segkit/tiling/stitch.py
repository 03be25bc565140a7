"""Instance labels across chunk seams.

Each block is labelled on its own; every block gets its own id range (per-block
offsets, int64 when the total needs it); then ids that touch
across a block face are merged and renumbered ``1..n``.  An object crossing a
seam thus gets one id, and no id is shared by two objects anywhere in the
volume.  The offset and face-merging machinery is :mod:`.blocks`; this module
applies it to binary masks (exact connected components, as
``scipy.ndimage.label`` on the whole array) and to per-block instance labels.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Optional

import numpy as np
from scipy import ndimage as ndi

from .blocks import map_blocks_unique_labels, stitch_labels

__all__ = ["label_chunks", "stitch_instances"]


def label_chunks(
    mask: Any, *, progress: Optional[Callable[[float, str], None]] = None
) -> Any:
    """Connected components (face connectivity) of a dask boolean array.

    Equals ``scipy.ndimage.label(mask)`` up to a permutation of ids, with ids
    ``1..n`` consecutive, computed block by block.  Returns a lazy dask array
    (int32, or int64 when ``n`` needs it).  Building it reads every block once
    to find the merges across faces.
    """
    structure = ndi.generate_binary_structure(mask.ndim, 1)

    def label_block(block, block_info=None):
        labels, _ = ndi.label(np.asarray(block, dtype=bool), structure=structure)
        return labels

    unique = map_blocks_unique_labels(
        label_block, mask, max_labels_per_block=lambda shape: math.prod(shape) // 2 + 1
    )
    return stitch_labels(unique, progress=progress)


def stitch_instances(
    labels: Any, *, progress: Optional[Callable[[float, str], None]] = None
) -> Any:
    """Make per-block instance labels of a dask array unique and merged across seams.

    ``labels`` holds, in each block, ids that are only meaningful within that
    block (0 = background), e.g. from a per-block segmentation.  Every block's
    ids are renumbered into a range of their own, and ids that touch across a
    block face are merged: the pieces of an object cut by a seam get one id.
    Objects that touch each other *across* a seam are merged too; use it for
    labels whose objects are separated by background (seeds, interiors).
    """
    from skimage.segmentation import relabel_sequential

    def sequential(block, block_info=None):
        out, _, _ = relabel_sequential(np.asarray(block))
        return out

    unique = map_blocks_unique_labels(
        sequential, labels, max_labels_per_block=lambda shape: math.prod(shape)
    )
    return stitch_labels(unique, progress=progress)
