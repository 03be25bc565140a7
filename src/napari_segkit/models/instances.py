"""Instance labels from background/interior/boundary probabilities.

Seeds are the connected components of the confident interior (probability of
*interior* above ``threshold``, opened by one pixel to drop specks);
foreground is where *background* is below ``1 - threshold``.  A seeded
watershed on the interior probability grows the seeds over the foreground,
so touching cells separated by a boundary ridge come out as separate labels.
For a model trained on the distance target (five classes, see
:func:`.targets.distance_targets`), seeds are the deeper half of each object
(relative depth >= 0.5: *interior* plus *inner 2*; the core alone is too thin in
narrow rods), and the watershed climbs the expected relative depth (the class
probabilities times their depth levels), a smooth distance map whose valleys
lie between touching cells.
The dask version labels seeds per block and merges them across block faces
(exact connected components), then runs the watershed per block with a halo,
so objects crossing a block seam keep one id and ids are unique.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from scipy import ndimage as ndi

from .targets import BACKGROUND, DEPTH_LEVELS, INTERIOR

DEEP = 4  # the distance target's "inner 2" class: relative depth 0.5 to 0.8

__all__ = ["instances_from_probabilities", "seed_mask"]


def seed_mask(probabilities: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Confident interior, opened by a cross of radius 1 (class axis last)."""
    if probabilities.shape[-1] == len(DEPTH_LEVELS):  # the distance target: the deeper half seeds
        interior = probabilities[..., INTERIOR] + probabilities[..., DEEP] > threshold
    else:
        interior = probabilities[..., INTERIOR] > threshold
    structure = ndi.generate_binary_structure(interior.ndim, 1)
    return ndi.binary_opening(interior, structure=structure)


def _foreground(probabilities: np.ndarray, threshold: float) -> np.ndarray:
    return probabilities[..., BACKGROUND] < 1.0 - threshold


def _watershed(probabilities: np.ndarray, seeds: np.ndarray, threshold: float,
               foreground_threshold: Optional[float] = None) -> np.ndarray:
    from skimage.segmentation import watershed

    if probabilities.shape[-1] == len(DEPTH_LEVELS):  # the distance target: climb the expected depth
        elevation = 1.0 - probabilities @ np.asarray(DEPTH_LEVELS, dtype=probabilities.dtype)
    else:
        elevation = 1.0 - probabilities[..., INTERIOR]
    fg = threshold if foreground_threshold is None else foreground_threshold
    mask = _foreground(probabilities, fg) | (seeds > 0)
    return watershed(elevation, markers=seeds, mask=mask)


def instances_from_probabilities(
    probabilities: Any,
    *,
    threshold: float = 0.5,
    foreground_threshold: Optional[float] = None,
    min_size: int = 0,
) -> Any:
    """Instance labels from ``(..., 3)`` class probabilities (class axis last).

    Parameters
    ----------
    probabilities : (..., 3) ndarray or dask array
    threshold : float
        Interior probability above which a pixel seeds an object.
    foreground_threshold : float, optional
        A pixel belongs to an object when its background probability is
        below ``1 - foreground_threshold``; default ``threshold``.
    min_size : int
        Objects with fewer pixels (voxels) are removed (numpy input only).

    Returns
    -------
    numpy in, int32 numpy out (int64 if the ids need it); dask in, lazy dask
    out with ids unique across chunks.
    """
    if hasattr(probabilities, "map_blocks") and hasattr(probabilities, "chunks"):
        if min_size or foreground_threshold is not None:
            from .._errors import InputError

            raise InputError("min_size and foreground_threshold need numpy probabilities, not dask")
        return _instances_dask(probabilities, threshold)
    from .._labels import label_dtype

    probabilities = np.asarray(probabilities)
    structure = ndi.generate_binary_structure(probabilities.ndim - 1, 1)
    seeds, n = ndi.label(seed_mask(probabilities, threshold), structure=structure)
    labels = _watershed(probabilities, seeds, threshold, foreground_threshold)
    if min_size and n:
        sizes = np.bincount(labels.ravel(), minlength=n + 1)
        small = sizes < int(min_size)
        small[0] = False
        if small.any():
            labels[small[labels]] = 0
            from skimage.segmentation import relabel_sequential

            labels, _, _ = relabel_sequential(labels)
    return labels.astype(label_dtype(n), copy=False)


def _instances_dask(probabilities: Any, threshold: float) -> Any:
    import dask.array as da

    from ..tiling.stitch import label_chunks

    spatial = probabilities.ndim - 1
    prob = probabilities.rechunk(probabilities.chunks[:-1] + ((probabilities.shape[-1],),))
    # the opening needs one voxel of context
    depth = {axis: 1 for axis in range(spatial)}
    depth[spatial] = 0
    seeds_mask = da.map_overlap(
        lambda p: seed_mask(p, threshold), prob, depth=depth, boundary="none",
        drop_axis=spatial, dtype=bool, meta=np.empty((0,) * spatial, dtype=bool),
    )
    seeds = label_chunks(seeds_mask)
    # watershed per block with a halo of a quarter block (at least 16 voxels)
    halo = {
        axis: min(max(16, max(prob.chunks[axis]) // 4), prob.shape[axis] - 1)
        for axis in range(spatial)
    }
    halo = {axis: min(h, min(prob.chunks[axis])) for axis, h in halo.items()}
    seeds = seeds.rechunk(prob.chunks[:-1])
    dtype = seeds.dtype

    def grow(p_block, s_block):
        return _watershed(p_block, s_block, threshold).astype(dtype, copy=False)

    # class axis first, so the (K, ...) probabilities and the (...) seeds line up
    # on their trailing axes in map_blocks
    prob_cf = da.moveaxis(prob, -1, 0)
    depth_cf = {0: 0}
    depth_cf.update({axis + 1: h for axis, h in halo.items()})
    prob_ext = da.overlap.overlap(prob_cf, depth=depth_cf, boundary="none")
    seeds_ext = da.overlap.overlap(seeds, depth=halo, boundary="none")
    core_chunks = seeds.chunks

    def grow_core(p_block, s_block, block_info=None):
        location = block_info[1]["chunk-location"]
        core = tuple(
            slice(0 if i == 0 else halo[axis], (0 if i == 0 else halo[axis]) + core_chunks[axis][i])
            for axis, i in enumerate(location)
        )
        labels = _watershed(np.moveaxis(p_block, 0, -1), s_block, threshold)
        return labels[core].astype(dtype, copy=False)

    return da.map_blocks(
        grow_core, prob_ext, seeds_ext, drop_axis=0, chunks=core_chunks, dtype=dtype,
        meta=np.empty((0,) * spatial, dtype=dtype),
    )
