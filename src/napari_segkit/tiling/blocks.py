"""Block-wise processing of arrays larger than memory, over dask.

Helpers shared by every method that works chunk by chunk:

* :func:`chunks_from_budget` picks a chunk shape whose working memory fits a
  budget;
* :func:`ensure_min_chunks` rechunks an array whose chunks are thinner than a
  halo needs;
* :func:`aligned_chunks` puts chunk boundaries on multiples of a step (a
  superpixel grid, a network's stride);
* :func:`block_slices` lists the blocks of a chunking as slices, so numpy
  input can be processed with the same code, one block at a time;
* :func:`block_offsets` and :func:`map_blocks_unique_labels` give every block
  its own range of label ids, so no id is shared by two blocks, in int64 when
  the ids need it;
* :func:`stitch_labels` merges ids that touch across block faces (connected
  components over a whole volume, as dask-image's ``ndmeasure.label``).

Nothing here imports dask at module level; functions that need it import it.
Chunks are given as dask normalises them: one tuple of block sizes per axis.
"""

from __future__ import annotations

import itertools
import logging
import math
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from .._errors import InputError, ResourceLimitError
from .._labels import label_dtype

__all__ = [
    "DEFAULT_MAX_BLOCKS",
    "aligned_chunks",
    "block_offsets",
    "block_slices",
    "chunks_from_budget",
    "ensure_min_chunks",
    "map_blocks_unique_labels",
    "normalize_chunks",
    "stitch_labels",
]

logger = logging.getLogger(__name__)

Chunks = Tuple[Tuple[int, ...], ...]

# a task graph much larger than this is slow to build and schedule (dask-image#391)
DEFAULT_MAX_BLOCKS = 10_000


def normalize_chunks(chunks: Any, shape: Sequence[int]) -> Chunks:
    """Return ``chunks`` (an int, a block shape or dask's tuples) as dask's tuples."""
    if isinstance(chunks, (int, np.integer)):
        chunks = (int(chunks),) * len(shape)
    chunks = tuple(chunks)
    if len(chunks) != len(shape):
        raise InputError(f"chunks {chunks!r} do not match an array of shape {tuple(shape)}")
    out = []
    for c, size in zip(chunks, shape):
        if isinstance(c, (int, np.integer)):
            c = int(c)
            if c <= 0:
                raise InputError(f"chunk sizes must be positive, got {chunks!r}")
            c = min(c, size)
            out.append((c,) * (size // c) + ((size % c,) if size % c else ()))
        else:
            c = tuple(int(v) for v in c)
            if sum(c) != size or any(v <= 0 for v in c):
                raise InputError(f"chunks {chunks!r} do not tile an array of shape {tuple(shape)}")
            out.append(c)
    return tuple(out)


def block_slices(chunks: Chunks) -> List[Tuple[Tuple[int, ...], Tuple[slice, ...]]]:
    """``(block_index, slices)`` for every block of ``chunks``, in C order.

    ``block_index`` is the block's position in the block grid (as dask's
    ``block_id``); ``slices`` select it from the whole array.
    """
    starts = [np.concatenate([[0], np.cumsum(c)]).astype(int) for c in chunks]
    out = []
    for index in itertools.product(*(range(len(c)) for c in chunks)):
        slices = tuple(slice(int(s[i]), int(s[i + 1])) for s, i in zip(starts, index))
        out.append((index, slices))
    return out


def chunks_from_budget(
    shape: Sequence[int],
    *,
    bytes_per_element: float,
    budget: int,
    min_shape: Optional[Sequence[int]] = None,
    max_blocks: int = DEFAULT_MAX_BLOCKS,
) -> Tuple[int, ...]:
    """A block shape for ``shape`` whose working memory fits ``budget`` bytes.

    Starts from the whole array and halves the axis that is longest relative
    to ``min_shape`` until a block needs at most ``budget`` bytes
    (``bytes_per_element`` counts every array a block holds per element:
    input, features, output...).  Blocks never get smaller than ``min_shape``
    (a halo on each side, a superpixel grid step), and when the blocks would
    be more than ``max_blocks`` they are grown back as far as the budget
    allows, so the task graph stays small.

    Raises
    ------
    ResourceLimitError
        If a block of ``min_shape`` alone exceeds ``budget``.
    """
    shape = tuple(int(s) for s in shape)
    min_shape = tuple(1 for _ in shape) if min_shape is None else tuple(
        min(int(m), s) for m, s in zip(min_shape, shape)
    )
    if bytes_per_element <= 0 or budget <= 0:
        raise InputError(
            f"budget ({budget!r}) and bytes_per_element ({bytes_per_element!r}) must be positive"
        )
    min_bytes = math.prod(min_shape) * bytes_per_element
    if min_bytes > budget:
        raise ResourceLimitError(
            f"memory budget {_fmt_bytes(budget)} < minimum block "
            f"{_fmt_bytes(min_bytes)} (block shape {min_shape}); raise the budget "
            "or use a smaller halo"
        )
    block = list(shape)
    while math.prod(block) * bytes_per_element > budget:
        ratios = [b / m if b > m else 0.0 for b, m in zip(block, min_shape)]
        axis = int(np.argmax(ratios))
        if ratios[axis] == 0.0:
            break
        block[axis] = max(min_shape[axis], -(-block[axis] // 2))
    n_blocks = math.prod(-(-s // b) for s, b in zip(shape, block))
    if n_blocks > max_blocks:
        logger.warning(
            "%d blocks of %s exceed max_blocks=%d; the budget allows no larger blocks",
            n_blocks, tuple(block), max_blocks,
        )
    return tuple(block)


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.3g} {unit}"
        n /= 1000.0
    return f"{n:.3g} TB"  # pragma: no cover


def ensure_min_chunks(array: Any, depth: Sequence[int], *, name: str = "image") -> Any:
    """Rechunk a dask array so that every chunk is at least ``depth`` thick.

    ``dask.array.map_overlap`` needs every chunk at least as thick as the halo
    (dask#6688); a volume stored one slice per chunk is the common offender.
    Thin chunks are merged with their neighbours (a chunk's size becomes at
    least ``depth`` along each axis, or the whole axis when it is shorter), and
    the new chunking is logged.  Arrays that already comply are returned as
    they are.
    """
    depth = tuple(int(d) for d in depth)
    if len(depth) != array.ndim:
        raise InputError(f"depth {depth!r} does not match the {array.ndim} axes of {name}")
    new_chunks = []
    changed = False
    for axis_chunks, d, size in zip(array.chunks, depth, array.shape):
        if d <= 0 or min(axis_chunks) >= d:
            new_chunks.append(axis_chunks)
            continue
        changed = True
        merged: List[int] = []
        for c in axis_chunks:
            if merged and merged[-1] < d:
                merged[-1] += c
            else:
                merged.append(c)
        if len(merged) > 1 and merged[-1] < d:
            last = merged.pop()
            merged[-1] += last
        new_chunks.append(tuple(merged))
    if not changed:
        return array
    new_chunks_t = tuple(new_chunks)
    logger.info(
        "%s: chunks thinner than the halo %s; rechunked from %s to %s",
        name, depth, _chunk_summary(array.chunks), _chunk_summary(new_chunks_t),
    )
    return array.rechunk(new_chunks_t)


def _chunk_summary(chunks: Chunks) -> str:
    return "(" + ", ".join(
        f"{c[0]}" if len(set(c)) == 1 else f"{min(c)}..{max(c)}" for c in chunks
    ) + ")"


def aligned_chunks(shape: Sequence[int], step: Sequence[int], target: Sequence[int]) -> Chunks:
    """Chunks about ``target`` long whose boundaries fall on multiples of ``step``.

    Each block size is ``target`` rounded down to a multiple of ``step`` (at
    least one step; the whole axis when ``target`` covers it); the last block
    takes the remainder, so the chunks are regular as zarr requires.  Used so that a grid laid
    over the whole array (SLIC's initial centres) lines up across blocks.
    """
    out = []
    for size, s, t in zip(shape, step, target):
        size, s = int(size), max(1, int(s))
        block = max(s, (int(t) // s) * s)
        if block >= size or int(t) >= size:
            out.append((size,))
            continue
        n_full, rest = divmod(size, block)
        # regular chunks (the last one smaller), so the result can go to zarr as it is
        out.append((block,) * n_full + ((rest,) if rest else ()))
    return tuple(out)


def block_offsets(counts: Sequence[int]) -> Tuple[np.ndarray, np.dtype]:
    """Offsets that make per-block ids ``1..counts[i]`` unique across blocks.

    Block ``i``'s id ``j`` becomes ``offsets[i] + j``.  Offsets are computed
    in int64; the returned dtype is int32 when the largest id fits in it,
    else int64 (ids are never wrapped).
    """
    counts = np.asarray(counts, dtype=np.int64).ravel()
    if counts.size and counts.min() < 0:
        raise InputError("block label counts must be non-negative")
    offsets = np.zeros(counts.size, dtype=np.int64)
    if counts.size > 1:
        np.cumsum(counts[:-1], out=offsets[1:])
    total = int(offsets[-1] + counts[-1]) if counts.size else 0
    return offsets, label_dtype(total)


def map_blocks_unique_labels(
    func: Callable[..., np.ndarray],
    array: Any,
    *,
    max_labels_per_block: Callable[[Tuple[int, ...]], int],
    drop_axis: Optional[int] = None,
    args: Sequence[Any] = (),
) -> Any:
    """Label each block of a dask array with ids no other block uses.

    ``func(block, block_info)`` returns int labels ``0..m`` (0 = background)
    for one block of ``array`` (if ``drop_axis`` is given, that axis - a
    channel axis - is dropped from the output, and must be in one chunk).
    ``max_labels_per_block(block_shape)`` bounds ``m`` before anything is
    computed, so each block gets its id range ``offset + 1 .. offset + bound``
    without a first pass; ids are unique but not consecutive.  The dtype is
    int32 if the largest possible id fits, else int64.  A block that
    returns more ids than its bound raises RuntimeError rather than sharing
    an id.

    Returns a lazy dask array of the labels.
    """
    import dask.array as da

    out_chunks = list(array.chunks)
    if drop_axis is not None:
        if len(array.chunks[drop_axis]) != 1:
            raise InputError("the dropped axis must be in a single chunk")
        out_chunks.pop(drop_axis)
    grid = [len(c) for c in out_chunks]
    bounds = np.zeros(grid, dtype=np.int64)
    for index, slices in block_slices(tuple(out_chunks)):
        bounds[index] = int(max_labels_per_block(tuple(s.stop - s.start for s in slices)))
    offsets, dtype = block_offsets(bounds.ravel())
    offsets = offsets.reshape(grid)
    bounds_flat = bounds

    def run(block, *extra, block_info=None):
        info = block_info[0]
        index = tuple(info["chunk-location"])
        if drop_axis is not None:
            index = index[:drop_axis] + index[drop_axis + 1:]
        labels = np.asarray(func(block, *extra, block_info=block_info))
        bound = int(bounds_flat[index])
        top = int(labels.max()) if labels.size else 0
        if top > bound:
            raise RuntimeError(f"block {index} returned id {top} > its bound {bound}")
        out = labels.astype(dtype, copy=True)
        out[labels > 0] += dtype.type(offsets[index])
        return out

    kwargs = {"dtype": dtype, "meta": np.empty((0,) * len(out_chunks), dtype=dtype)}
    if drop_axis is not None:
        kwargs["drop_axis"] = drop_axis
    return da.map_blocks(run, array, *args, **kwargs)


class _UnionFind:
    """Union-find over int64 ids held in a dict (only ids that touch a seam)."""

    def __init__(self) -> None:
        self.parent: dict = {}

    def find(self, a: int) -> int:
        parent = self.parent
        root = a
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(a, a) != root:
            parent[a], a = root, parent[a]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if ra < rb:
                ra, rb = rb, ra
            self.parent[ra] = rb


def stitch_labels(
    labels: Any,
    *,
    classes: Any = None,
    progress: Optional[Callable[[float, str], None]] = None,
) -> Any:
    """Merge ids that touch across block faces; return consecutive ids.

    ``labels`` is a dask array whose blocks already hold ids unique across
    blocks (from :func:`map_blocks_unique_labels`).  Two ids facing each other
    across a block boundary (face neighbours) are merged - when ``classes``
    (same shape and chunks) is given, only if both pixels have the same class.
    The faces are read in one pass (only the two slices either side of each
    boundary), the merges are resolved with union-find, and the result is a
    lazy array of consecutive ids ``1..n`` in the smallest dtype that holds
    them.  Memory: the faces, plus one int64 per distinct id.
    """
    import dask

    face_pairs = []
    for axis, axis_chunks in enumerate(labels.chunks):
        edges = np.cumsum(axis_chunks)[:-1]
        for e in edges:
            lo = [slice(None)] * labels.ndim
            hi = [slice(None)] * labels.ndim
            lo[axis] = slice(int(e) - 1, int(e))
            hi[axis] = slice(int(e), int(e) + 1)
            item = [labels[tuple(lo)], labels[tuple(hi)]]
            if classes is not None:
                item += [classes[tuple(lo)], classes[tuple(hi)]]
            face_pairs.append(item)
    if progress is not None:
        progress(0.0, f"reading {len(face_pairs)} block faces")
    # one compute: each block is computed once for both its faces and its ids
    unique_parts = [
        dask.delayed(np.unique)(labels.blocks[i]) for i in np.ndindex(labels.numblocks)
    ]
    computed, parts = dask.compute(face_pairs, unique_parts)
    ids = np.unique(np.concatenate(parts))
    ids = ids[ids > 0].astype(np.int64)
    uf = _UnionFind()
    for item in computed:
        a, b = np.asarray(item[0]).ravel(), np.asarray(item[1]).ravel()
        keep = (a > 0) & (b > 0)
        if classes is not None:
            keep &= np.asarray(item[2]).ravel() == np.asarray(item[3]).ravel()
        pairs = np.unique(np.stack([a[keep], b[keep]], axis=1).astype(np.int64), axis=0)
        for x, y in pairs:
            uf.union(int(x), int(y))
    roots = np.array([uf.find(int(i)) for i in ids], dtype=np.int64) if uf.parent else ids
    root_ids, new = np.unique(roots, return_inverse=True)
    new = new.astype(np.int64) + 1
    dtype = label_dtype(int(len(root_ids)))

    def relabel(block):
        out = np.zeros(block.shape, dtype=dtype)
        fg = block > 0
        out[fg] = new[np.searchsorted(ids, block[fg])]
        return out

    return labels.map_blocks(relabel, dtype=dtype, meta=np.empty((0,) * labels.ndim, dtype=dtype))
