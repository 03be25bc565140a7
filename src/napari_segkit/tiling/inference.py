"""Sliding-window inference: any predictor, tiles with a halo, Gaussian blending.

The image is covered by *cores*, boxes whose outputs are kept; each core is
fed to the predictor with a *halo* of context on every side (clipped at the
image's edges).  When the halo is at least the predictor's receptive radius,
a core's output does not depend on the tile it was computed in, and tiled
output equals whole-image output to rounding.  Neighbouring cores may overlap
(``overlap``); outputs in the overlap are averaged with Gaussian weights that
fall off towards each core's edge, which hides seams when the halo is smaller
than the receptive field.

Tiles start on multiples of ``align`` (``2**depth`` for a U-Net), so every
tile sees the pooling grid of the whole image.

Arrays larger than memory go through :func:`tiled_inference_dask`: the volume
is rechunked into aligned blocks, each block gets its halo from its
neighbours (``dask.array.overlap``, no padding at the volume's edges) and is
processed by the same sliding window, so peak memory is set by the block and
tile size, not by the volume.  The predictor is a callable taking a float32
batch ``(N, C, *tile)`` (numpy) and returning ``(N, K, *tile)`` (numpy or a
torch tensor); a device out-of-memory error halves the tile and retries.

Nothing here imports torch; dask is imported by the dask path only.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
import warnings
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from .._allocator import trim_freed_memory
from .._errors import InputError, ResourceLimitError

__all__ = [
    "aligned_block_chunks",
    "gaussian_weights",
    "is_out_of_memory",
    "plan_tiles",
    "sliding_window_inference",
    "tiled_inference_dask",
]

logger = logging.getLogger(__name__)

Predictor = Callable[[np.ndarray], Any]


def is_out_of_memory(exc: BaseException) -> bool:
    """True for a device out-of-memory error (torch's CUDA/MPS OOM), by name."""
    if type(exc).__name__ == "OutOfMemoryError":
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def _axis_cores(lo: int, hi: int, core: int, overlap: float, align: int) -> List[Tuple[int, int]]:
    """Core intervals covering [lo, hi) along one axis, starts on multiples of align."""
    length = hi - lo
    if length <= core:
        return [(lo, hi)]
    core = max(align, core // align * align)
    if overlap == 0.0:
        # as few cores as fit, of equal (aligned) size: no voxel is computed
        # twice and no tile is larger than it must be
        n = -(-length // core)
        size = -(-length // (n * align)) * align
        while size > core:
            n += 1
            size = -(-length // (n * align)) * align
        return [(start, min(start + size, hi)) for start in range(lo, hi, size)]
    step = max(align, int(core * (1.0 - overlap)) // align * align)
    cores = []
    start = lo
    while start + core < hi:
        cores.append((start, start + core))
        start += step
    last = max(lo, (hi - core) // align * align)
    if not cores or last > cores[-1][0]:
        cores.append((last, hi))
    else:  # the previous core already reaches the end
        cores[-1] = (cores[-1][0], hi)
    return cores


def plan_tiles(
    shape: Sequence[int],
    *,
    tile_shape: Sequence[int],
    halo: Sequence[int],
    overlap: float = 0.0,
    align: int = 1,
    window: Optional[Sequence[Tuple[int, int]]] = None,
) -> List[Tuple[Tuple[slice, ...], Tuple[slice, ...]]]:
    """The tiles for a region of ``shape``: ``(read, core)`` slice tuples.

    ``read`` selects the predictor's input (core plus halo, clipped to the
    region); ``core`` selects the kept output, both in region coordinates.
    ``window`` limits the cores to part of the region (the block's own
    voxels when the region includes neighbours' halos).  ``shape``'s origin,
    ``window``'s bounds and ``halo`` must be multiples of ``align``.
    """
    ndim = len(shape)
    if window is None:
        window = [(0, int(s)) for s in shape]
    per_axis = []
    for axis in range(ndim):
        core = int(tile_shape[axis]) - 2 * int(halo[axis])
        lo, hi = window[axis]
        per_axis.append(_axis_cores(int(lo), int(hi), max(core, 1), overlap, align))
    tiles = []
    for cores in itertools.product(*per_axis):
        read = tuple(
            slice(max(0, a - h), min(int(s), b + h)) for (a, b), h, s in zip(cores, halo, shape)
        )
        tiles.append((read, tuple(slice(a, b) for a, b in cores)))
    return tiles


def gaussian_weights(shape: Sequence[int], sigma_scale: float = 0.125) -> np.ndarray:
    """Separable Gaussian importance map over a core, max 1, floored at 1e-3."""
    weights = np.ones((), dtype=np.float32)
    for size in shape:
        x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
        sigma = max(size * sigma_scale, 1e-6)
        w = np.exp(-0.5 * (x / sigma) ** 2)
        weights = np.multiply.outer(weights, w.astype(np.float32))
    return np.maximum(weights, np.float32(1e-3))


def _to_numpy(output: Any) -> np.ndarray:
    if hasattr(output, "detach"):
        output = output.detach()
        if hasattr(output, "cpu"):
            output = output.cpu()
        output = output.numpy()
    return np.asarray(output, dtype=np.float32)


def _check_tiling_args(image_ndim: int, tile_shape, halo, overlap, align, batch_size):
    spatial = image_ndim - 1
    tile_shape = _per_axis(tile_shape, spatial, "tile_shape")
    halo = _per_axis(halo, spatial, "halo", allow_zero=True)
    if not isinstance(overlap, (int, float)) or not 0.0 <= float(overlap) < 1.0:
        raise InputError(f"overlap must be a fraction in [0, 1), got {overlap!r}")
    if int(align) < 1:
        raise InputError(f"align must be a positive integer, got {align!r}")
    if int(batch_size) < 1:
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
    if any(h % int(align) for h in halo):
        raise InputError(f"halo {halo} must be a multiple of align={align}")
    for axis, (t, h) in enumerate(zip(tile_shape, halo)):
        if t - 2 * h < 1:
            raise InputError(
                f"tile_shape {tile_shape} leaves no core on axis {axis} once the halo "
                f"{halo} is removed on both sides; use a tile larger than {2 * h}"
            )
    return tile_shape, halo, float(overlap), int(align), int(batch_size)


def _per_axis(value, ndim: int, name: str, allow_zero: bool = False) -> Tuple[int, ...]:
    if isinstance(value, (int, np.integer)):
        value = (int(value),) * ndim
    try:
        value = tuple(int(v) for v in value)
    except TypeError:
        raise InputError(f"{name} must be an integer or one integer per axis, got {value!r}") from None
    if len(value) != ndim or any(v < (0 if allow_zero else 1) for v in value):
        raise InputError(
            f"{name} must give one {'non-negative' if allow_zero else 'positive'} integer "
            f"per spatial axis ({ndim}), got {value!r}"
        )
    return value


def _halve(tile_shape, halo, align) -> Optional[Tuple[int, ...]]:
    """The tile with its largest core halved (kept aligned), or None if it cannot shrink."""
    cores = [t - 2 * h for t, h in zip(tile_shape, halo)]
    axis = int(np.argmax(cores))
    new_core = max(align, (cores[axis] // 2) // align * align)
    if new_core >= cores[axis]:
        return None
    out = list(tile_shape)
    out[axis] = new_core + 2 * halo[axis]
    return tuple(out)


def sliding_window_inference(
    image: np.ndarray,
    predictor: Predictor,
    *,
    n_outputs: int,
    tile_shape: Sequence[int],
    halo: Sequence[int] | int = 0,
    overlap: float = 0.0,
    align: int = 1,
    batch_size: int = 1,
    window: Optional[Sequence[Tuple[int, int]]] = None,
    on_out_of_memory: Optional[Callable[[], None]] = None,
    progress: Optional[Callable[[float, str], None]] = None,
) -> np.ndarray:
    """Apply ``predictor`` over ``image`` tile by tile and blend the outputs.

    Parameters
    ----------
    image : (C, M, N[, P]) ndarray
        Channels first, already normalised (float32).
    predictor : callable
        ``predictor(batch)`` with ``batch`` a float32 ``(B, C, *tile)`` array,
        returning ``(B, n_outputs, *tile)`` (numpy or torch).
    n_outputs : int
        Output channels.
    tile_shape : sequence of int
        Predictor input size per spatial axis, halo included.  Axes shorter
        than a tile are processed whole.
    halo : int or sequence of int
        Context on each side of a core; outputs within the halo are dropped.
        Multiples of ``align``.
    overlap : float
        Fraction of a core shared with its neighbour, blended with Gaussian
        weights.
    align : int
        Tiles start on multiples of this (``2**depth`` for a U-Net).
    batch_size : int
        Tiles of equal shape per predictor call.
    window : sequence of (int, int), optional
        Compute only this box of the output (region coordinates).
    on_out_of_memory : callable, optional
        Called after a device out-of-memory error (to free caches) before
        the tile is halved and the region started again.
    progress : callable, optional
        ``progress(fraction, message)`` after each batch; raise
        :class:`~napari_segkit.Cancelled` in it to stop.

    Returns
    -------
    (n_outputs, ...) ndarray of float32
        The blended output over ``window`` (the whole image by default).

    Raises
    ------
    ResourceLimitError
        If the device runs out of memory even with the smallest tile.
    """
    image = np.asarray(image)
    if image.ndim < 2:
        raise InputError(f"image must be (C, *spatial), got shape {image.shape}")
    tile_shape, halo, overlap, align, batch_size = _check_tiling_args(
        image.ndim, tile_shape, halo, overlap, align, batch_size
    )
    while True:
        try:
            return _run_tiles(
                image, predictor, n_outputs, tile_shape, halo, overlap, align, batch_size,
                window, progress,
            )
        except Exception as exc:  # noqa: BLE001 - only OOM is retried
            if not is_out_of_memory(exc):
                raise
            if on_out_of_memory is not None:
                on_out_of_memory()
            smaller = _halve(tile_shape, halo, align)
            if smaller is None:
                raise ResourceLimitError(
                    f"out of device memory even with tile {tile_shape} (halo {halo}); "
                    "run on the CPU or use a smaller model"
                ) from exc
            message = f"out of device memory with tile {tile_shape}; retrying with tile {smaller}"
            logger.warning(message)
            warnings.warn(message, RuntimeWarning, stacklevel=2)
            tile_shape = smaller


def _run_tiles(image, predictor, n_outputs, tile_shape, halo, overlap, align, batch_size,
               window, progress) -> np.ndarray:
    spatial = image.shape[1:]
    if window is None:
        window = [(0, s) for s in spatial]
    window = [(int(a), int(b)) for a, b in window]
    origin = [a for a, _ in window]
    out_shape = tuple(b - a for a, b in window)
    tiles = plan_tiles(spatial, tile_shape=tile_shape, halo=halo, overlap=overlap,
                       align=align, window=window)
    blend = overlap > 0 and len(tiles) > 1
    out = np.zeros((n_outputs,) + out_shape, dtype=np.float32)
    norm = np.zeros(out_shape, dtype=np.float32) if blend else None
    weight_cache = {}
    # group tiles of equal read shape, so they can share a batch
    groups = {}
    for read, core in tiles:
        key = tuple(s.stop - s.start for s in read)
        groups.setdefault(key, []).append((read, core))
    batches = []
    for members in groups.values():
        for i in range(0, len(members), batch_size):
            batches.append(members[i:i + batch_size])
    n_done = 0
    for batch in batches:
        stack = np.stack([image[(slice(None),) + read] for read, _ in batch]).astype(np.float32, copy=False)
        result = _to_numpy(predictor(np.ascontiguousarray(stack)))
        if result.shape[:2] != (len(batch), n_outputs) or result.shape[2:] != stack.shape[2:]:
            raise RuntimeError(
                f"predictor returned shape {result.shape} for a batch of shape {stack.shape}; "
                f"expected {(len(batch), n_outputs) + stack.shape[2:]}"
            )
        for k, (read, core) in enumerate(batch):
            inner = tuple(slice(c.start - r.start, c.stop - r.start) for r, c in zip(read, core))
            target = tuple(slice(c.start - o, c.stop - o) for c, o in zip(core, origin))
            values = result[(k, slice(None)) + inner]
            if blend:
                cshape = values.shape[1:]
                if cshape not in weight_cache:
                    weight_cache[cshape] = gaussian_weights(cshape)
                w = weight_cache[cshape]
                out[(slice(None),) + target] += values * w
                norm[target] += w
            else:
                out[(slice(None),) + target] = values
        n_done += len(batch)
        if progress is not None:
            progress(n_done / len(tiles), f"tile {n_done}/{len(tiles)}")
    if blend:
        out /= norm
    return out


def aligned_block_chunks(
    shape: Sequence[int], block: Sequence[int], *, align: int, halo: Sequence[int]
) -> Tuple[Tuple[int, ...], ...]:
    """Chunks of about ``block`` whose boundaries fall on multiples of ``align``.

    Every chunk is at least ``halo`` thick (a thinner last chunk joins the one
    before), as ``dask.array.overlap`` needs.
    """
    chunks = []
    for size, b, h in zip(shape, block, halo):
        size = int(size)
        b = max(int(align), int(b) // align * align, int(math.ceil(h / align)) * align)
        b = min(b, size)
        n_full, rest = divmod(size, b)
        sizes = [b] * n_full
        if rest:
            if sizes and rest < max(h, 1):
                sizes[-1] += rest
            else:
                sizes.append(rest)
        chunks.append(tuple(sizes))
    return tuple(chunks)


class _BlockCounter:
    """Counts finished blocks for ``progress``; picklable, so dask.distributed can ship it.

    Its lock is not pickled: a copy on another worker counts its own blocks
    (progress from remote workers is best effort; the result is unaffected).
    """

    def __init__(self, n_blocks: int, progress: Optional[Callable[[float, str], None]]) -> None:
        self.n_blocks = n_blocks
        self.progress = progress
        self.done = 0
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def tick(self) -> None:
        if self.progress is None:
            return
        with self._lock:
            self.done += 1
            count = self.done
        self.progress(count / self.n_blocks, f"block {count}/{self.n_blocks}")


def _shared_object(value: Any, prefix: str) -> Any:
    """``value`` as one key of a dask graph (a Delayed), referenced by name from every task."""
    import uuid

    import dask

    return dask.delayed(value, name=f"{prefix}-{uuid.uuid4().hex}", traverse=False)


def tiled_inference_dask(
    image: Any,
    predictor: Predictor,
    *,
    n_outputs: int,
    tile_shape: Sequence[int],
    halo: Sequence[int] | int = 0,
    overlap: float = 0.0,
    align: int = 1,
    batch_size: int = 1,
    block_shape: Optional[Sequence[int]] = None,
    on_out_of_memory: Optional[Callable[[], None]] = None,
    progress: Optional[Callable[[float, str], None]] = None,
) -> Any:
    """Lazy sliding-window inference over a dask array, block by block.

    ``image`` is a ``(C, *spatial)`` dask array (already normalised).  It is
    rechunked into blocks of about ``block_shape`` (default: its own chunks)
    aligned to ``align`` and at least ``halo`` thick; each block receives
    ``halo`` voxels from its neighbours (none at the volume's edges) and runs
    :func:`sliding_window_inference` for its own voxels only.  The result is a
    lazy ``(n_outputs, *spatial)`` float32 dask array with the block chunking;
    computing it (or ``to_zarr``) holds one block with halo per worker thread.
    ``progress`` is called as blocks finish (from worker threads).
    """
    import dask.array as da

    if image.ndim < 2:
        raise InputError(f"image must be (C, *spatial), got shape {image.shape}")
    tile_shape, halo, overlap, align, batch_size = _check_tiling_args(
        image.ndim, tile_shape, halo, overlap, align, batch_size
    )
    spatial = tuple(int(s) for s in image.shape[1:])
    if block_shape is None:
        block_shape = tuple(max(c) for c in image.chunks[1:])
    block_shape = _per_axis(block_shape, len(spatial), "block_shape")
    chunks = aligned_block_chunks(spatial, block_shape, align=align, halo=halo)
    image = image.rechunk(((image.shape[0],),) + chunks)
    # an axis held by one block needs no halo from neighbours (and may be thinner than the
    # halo: a stack of a few planes); blocks of a split axis are at least ``halo`` thick
    block_halo = tuple(h if len(c) > 1 else 0 for h, c in zip(halo, chunks))
    depth = {0: 0}
    depth.update({axis + 1: h for axis, h in enumerate(block_halo)})
    extended = da.overlap.overlap(image, depth=depth, boundary="none") if any(block_halo) else image
    n_blocks = math.prod(len(c) for c in chunks)
    counter = _BlockCounter(n_blocks, progress)
    # the predictor (the network's weights) is one key of the graph that every block depends
    # on: a dask.distributed worker receives it once and keeps it for all its blocks, instead
    # of unpickling the weights with every task
    shared = _shared_object(predictor, "segkit-predictor")

    def run(block, predictor, block_info=None):
        location = block_info[0]["chunk-location"][1:]
        window = []
        for axis, index in enumerate(location):
            left = 0 if index == 0 else block_halo[axis]
            window.append((left, left + chunks[axis][index]))
        out = sliding_window_inference(
            block, predictor, n_outputs=n_outputs, tile_shape=tile_shape, halo=halo,
            overlap=overlap, align=align, batch_size=batch_size, window=window,
            on_out_of_memory=on_out_of_memory,
        )
        trim_freed_memory()  # the block's activations, freed, must not stay resident
        counter.tick()
        return out

    return extended.map_blocks(
        run,
        shared,
        chunks=((n_outputs,),) + chunks,
        dtype=np.float32,
        meta=np.empty((0,) * image.ndim, dtype=np.float32),
    )
