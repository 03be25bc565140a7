"""SLIC superpixels for images in memory and for dask volumes larger than memory.

In memory, :func:`slic` is scikit-image's ``slic`` with this package's
validation.  On a dask array each chunk is segmented on its own (chunk
boundaries are first moved onto multiples of SLIC's grid step, so the initial
centres form one grid over the whole volume) and every chunk gets its own
range of ids: no id is shared by two chunks.  The intensity scaling
scikit-image applies (min-max over the whole image, then CIELAB for colour)
is computed once over the whole volume, and each chunk's compactness is
adjusted for scikit-image's own per-call rescaling, so a chunk is segmented
as it would be inside the whole image.
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ._errors import InputError
from ._image import run_frames
from ._progress import Reporter, announce_estimate
from ._validation import check_int, check_positive_number, validate_options
from .clustering.features import _count_nonfinite, parse, prepare, raise_nonfinite
from .tiling.blocks import aligned_chunks, block_slices, map_blocks_unique_labels

__all__ = ["slic"]

logger = logging.getLogger(__name__)


@validate_options
def slic(
    image: Any,
    n_segments: Optional[int] = None,
    *,
    compactness: Optional[float] = None,
    sigma: Optional[float] = None,
    channel_axis: Optional[int] = None,
    rgb: Optional[bool] = None,
    spacing: Optional[Sequence[float]] = None,
    mask: Any = None,
    spatial_dims: Optional[int] = None,
    max_iter: int = 10,
    enforce_connectivity: bool = True,
    min_size_factor: float = 0.5,
    max_size_factor: float = 3.0,
    slic_zero: bool = False,
    chunks: Any = None,
    progress: Optional[Callable[[float, str], None]] = None,
) -> Any:
    """Segment an image into superpixels by SLIC (k-means in colour + space).

    Parameters
    ----------
    image : (..., M, N[, P][, C]) array-like
        2-D or 3-D image (with up to two leading frame axes, see
        ``spatial_dims``), any real dtype (scaled to [0, 1] by its min and max
        first, so uint8, uint16 and float give the same superpixels), numpy
        or dask.  A dask image (or ``chunks``) is segmented chunk by chunk and
        gives a lazy dask array; its chunks run on dask's current scheduler
        (a ``dask.distributed.Client`` if one is active).
    n_segments : int, optional
        Approximate number of superpixels over the whole image.  Default:
        from the image's object scale (the radius of its bright objects,
        from a scale-normalised Laplacian of Gaussian), about four
        superpixels per object, at least 16.  On real fluorescence cells
        (kc167 DNA channel, 450 x 450) the fixed default of 100 gave an
        achievable segmentation accuracy of 0.49; the object-scale default
        (about 4700 superpixels there) gives 0.88.
    compactness : float, optional
        Balance of colour against space, as in scikit-image: higher values
        give more regular, square/cubic superpixels.  Default: 10 for RGB
        (CIELAB, values up to 100), 0.1 for grayscale and fluorescence
        channels (scaled to [0, 1]), where 10 gives a square grid.
    sigma : float, optional
        Gaussian pre-smoothing in pixels (scaled by ``spacing``), 0 for none.
        Default: none, as in scikit-image, except that on noisy images, where
        unsmoothed SLIC clusters fragment and its connectivity step merges
        the fragments (a 512 x 512 RGB image with noise of 20 grey levels came
        out as a single superpixel), a numpy image whose largest superpixel
        is more than 20 times the requested size is segmented again with
        ``sigma=1``, with a warning.
    channel_axis : int, optional
        Axis holding channels.  None: grayscale.
    rgb : bool, optional
        Convert RGB(A) to CIELAB first.  Default: True for uint8 images with 3
        or 4 channels (alpha dropped), as in :func:`kmeans`.
    spacing : sequence of float, optional
        Physical voxel size per spatial axis; distances along a coarse axis
        count more, so superpixels get fewer voxels along it.
    mask : (M, N[, P]) array of bool, optional
        Superpixels only where True (maskSLIC); 0 elsewhere.
    spatial_dims : {2, 3}, optional
        Trailing spatial axes; the axes before them (time, position) are
        frames, segmented one by one (``n_segments`` each), with ids unique
        over the result.  Default: 2 for a 2-D image, else 3 (a 3-D image is
        one volume; a 4-D image a series of volumes).
    max_iter, enforce_connectivity, min_size_factor, max_size_factor, slic_zero
        As in ``skimage.segmentation.slic`` (``max_iter`` is its
        ``max_num_iter``).
    chunks : int or tuple, optional
        Process a numpy image in dask chunks of this shape (spatial axes);
        the result is then a dask array.  Default: numpy in one piece.
    progress : callable, optional
        ``progress(fraction, message)`` (numpy: before and after; dask: while
        the scaling is measured).  It may raise
        :class:`napari_segkit.Cancelled`.

    Returns
    -------
    labels : ndarray (or dask array) of int32 (int64 when ids need it)
        Superpixel ids from 1, 0 outside ``mask``.  In memory ids are
        ``1..n``; on dask each chunk has its own id range, so ids are unique
        but not consecutive, and a superpixel never crosses a chunk boundary.

    Raises
    ------
    InputError
        Bad image or option, NaN/inf inside the mask.
    Cancelled
        Raised by ``progress``.
    """
    arguments = locals()
    if n_segments is not None:
        n_segments = check_int(n_segments, name="n_segments", low=1)
    if compactness is not None:
        compactness = check_positive_number(compactness, name="compactness")
    max_iter = check_int(max_iter, name="max_iter", low=0)
    min_size_factor = check_positive_number(min_size_factor, name="min_size_factor", allow_zero=True)
    max_size_factor = check_positive_number(max_size_factor, name="max_size_factor")
    parsed = parse(image, method="slic", channel_axis=channel_axis, spacing=spacing, spatial_dims=spatial_dims,
                   mask=mask)
    if parsed.frame_shape:
        return run_frames(slic, parsed, arguments, task=("n_segments",))
    prep = prepare(parsed, rgb=rgb, method="slic", boolean_warning=False)  # a bool image is fine for SLIC
    array = prep.array
    spacing_t = prep.spacing
    report = Reporter(progress)
    announce_slic(report, prep.spatial_shape, prep.n_channels, max_iter, lazy=prep.lazy or chunks is not None)
    n_segments, compactness = _defaults(prep, n_segments, compactness)
    if chunks is not None and not prep.lazy:
        import dask.array as da

        from .tiling.blocks import normalize_chunks

        spatial_chunks = normalize_chunks(chunks, array.shape[:-1])
        array = da.from_array(array, chunks=spatial_chunks + ((array.shape[-1],),))
        if prep.mask is not None:
            prep.mask = da.from_array(prep.mask, chunks=spatial_chunks)
        prep.array, prep.lazy = array, True
    options = dict(
        sigma=0.0 if sigma is None else check_positive_number(sigma, name="sigma", allow_zero=True),
        max_num_iter=max_iter,
        enforce_connectivity=bool(enforce_connectivity),
        min_size_factor=min_size_factor,
        max_size_factor=max_size_factor,
        slic_zero=bool(slic_zero),
        spacing=np.asarray(spacing_t),
        start_label=1,
    )
    multichannel = prep.n_channels > 1 or prep.rgb
    if not prep.lazy:
        from skimage.segmentation import slic as sk_slic

        n_nan, n_inf = _count_nonfinite(array, prep.mask)
        raise_nonfinite(n_nan, n_inf, prep.spatial_shape, prep.mask is not None)
        report(0.0, f"SLIC: {n_segments} superpixels")
        data = array if multichannel else array[..., 0]

        def run(**changes):
            arguments = dict(
                n_segments=n_segments,
                compactness=compactness,
                channel_axis=-1 if multichannel else None,
                convert2lab=prep.rgb,
                mask=prep.mask,
                **{**options, **changes},
            )
            if progress is None or math.prod(prep.spatial_shape) < STOPPABLE_MIN_PIXELS:
                return sk_slic(data, **arguments)
            return _slic_stoppable(data, arguments, report)

        labels = run()
        if sigma is None and _degenerate(labels, n_segments):
            warnings.warn(
                "SLIC merged most of the image into one superpixel (noise?); segmented again with sigma=1 "
                "(pass sigma= to choose the smoothing)",
                UserWarning,
                stacklevel=2,
            )
            labels = run(sigma=1.0)
        report(1.0, "done")
        from ._labels import label_dtype

        return labels.astype(label_dtype(int(labels.max())), copy=False)
    return _slic_dask(prep, n_segments, compactness, multichannel, options, report)


#: seconds of scikit-image's SLIC per pixel and channel for 10 iterations, measured on 512 x 512 and
#: 1024 x 1024 grayscale images on 2 shared cores (1024 x 1024: 1.0-1.7 s with the default n_segments)
SLIC_SECONDS_PER_PIXEL = 1.5e-6


def slic_seconds(spatial_shape: Sequence[int], n_channels: int = 1, max_iter: int = 10) -> float:
    """An estimate of the seconds :func:`slic` takes on an image of this size."""
    n_pixels = float(math.prod(int(s) for s in spatial_shape))
    return SLIC_SECONDS_PER_PIXEL * n_pixels * max(n_channels, 1) * max(max_iter, 1) / 10.0


def announce_slic(report, spatial_shape, n_channels: int, max_iter: int, *, lazy: bool = False) -> None:
    """The estimate of :func:`slic_seconds`, before the work (see :func:`announce_estimate`)."""
    n_pixels = math.prod(int(s) for s in spatial_shape)
    announce_estimate(report, slic_seconds(spatial_shape, n_channels, max_iter), method="slic",
                      what=f"{n_pixels:,} pixels" + (", computed chunk by chunk when the labels are read"
                                                     if lazy else ""),
                      advice="its time grows with the pixels: crop or downsample to go faster, or pass "
                      "chunks= to spread the blocks over dask's workers")


#: compactness by default: CIELAB values span about 100, scaled channels 1
RGB_COMPACTNESS = 10.0
SCALED_COMPACTNESS = 0.1


def _defaults(prep, n_segments, compactness):
    """Image-dependent defaults: superpixels from the object scale, compactness from the colour space."""
    if compactness is None:
        compactness = RGB_COMPACTNESS if prep.rgb else SCALED_COMPACTNESS
    if n_segments is None:
        from ._scale import object_radius, superpixels_for

        radius = object_radius(prep.array, prep.spacing)
        n_segments = superpixels_for(prep.spatial_shape, radius)
        logger.info(
            "slic: objects of radius about %.1f pixels, so n_segments=%d and compactness=%g "
            "(pass them to choose)", radius, n_segments, compactness,
        )
    return n_segments, compactness


#: in-memory SLIC with a progress callback runs in a child process from this many pixels,
#: so that a cancel (the callback raising) stops it at once
STOPPABLE_MIN_PIXELS = 1 << 20


def _sk_slic(data, arguments):
    """scikit-image's slic (module level, so a child process can run it)."""
    from skimage.segmentation import slic as sk_slic

    return sk_slic(data, **arguments)


def _slic_stoppable(data, arguments, report):
    """:func:`_sk_slic` in a child process; ``report`` is called every 0.1 s and may cancel."""
    from ._stoppable import call_stoppable

    def check(elapsed: float) -> None:
        # no progress inside scikit-image: a fraction that approaches 0.9 with time
        report(0.9 * elapsed / (elapsed + 10.0), f"SLIC: {elapsed:.0f} s")

    return call_stoppable(_sk_slic, data, arguments, check=check, poll=0.1)


def _block_stats(block, mblock):
    block = np.asarray(block)
    mblock = None if mblock is None else np.asarray(mblock, dtype=bool)
    n_nan, n_inf = _count_nonfinite(block, mblock)
    values = block if mblock is None else block[mblock]
    if values.size == 0:
        return np.inf, -np.inf, n_nan, n_inf, 0
    values = values.astype(np.float64)
    finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
    count = int(values.shape[0]) if mblock is not None else int(math.prod(block.shape[:-1]))
    if finite.size == 0:
        return np.inf, -np.inf, n_nan, n_inf, count
    return float(finite.min()), float(finite.max()), n_nan, n_inf, count


def _degenerate(labels: np.ndarray, n_segments: int) -> bool:
    """True when one superpixel is over 20 times the requested size (SLIC merged noise fragments)."""
    counts = np.bincount(labels.ravel())[1:]
    inside = int(counts.sum())
    return inside > 0 and counts.max() > 20.0 * inside / max(int(n_segments), 1)


def _slic_dask(prep, n_segments, compactness, multichannel, options, report):
    import dask
    import dask.array as da
    from skimage.util import regular_grid

    array = prep.array
    shape = prep.spatial_shape
    if len(array.chunks[-1]) != 1:
        array = array.rechunk(array.chunks[:-1] + ((array.shape[-1],),))
    # chunk boundaries on multiples of the grid step, about the chunk size given
    steps = [s.step or n for s, n in zip(regular_grid(shape, n_segments), shape)]
    target = [max(c) for c in array.chunks[:-1]]
    spatial_chunks = aligned_chunks(shape, steps, target)
    if spatial_chunks != array.chunks[:-1]:
        logger.info("slic: rechunked %s -> %s to align with the grid step %s",
                    array.chunks[:-1], spatial_chunks, steps)
        array = array.rechunk(spatial_chunks + ((array.shape[-1],),))
    mask = None
    if prep.mask is not None:
        mask = da.asarray(prep.mask).astype(bool).rechunk(spatial_chunks)

    report(0.0, "measuring the intensity range")
    tasks = [
        dask.delayed(_block_stats)(
            array.blocks[index + (0,)], None if mask is None else mask.blocks[index]
        )
        for index, _ in block_slices(spatial_chunks)
    ]
    stats = dask.compute(*tasks)
    raise_nonfinite(sum(s[2] for s in stats), sum(s[3] for s in stats), shape, mask is not None)
    lo = min(s[0] for s in stats)
    hi = max(s[1] for s in stats)
    n_valid = sum(s[4] for s in stats)
    if n_valid == 0:
        raise InputError("mask selects no pixel")
    span = hi - lo if hi > lo else 1.0
    report(1.0, "segmenting chunks (lazy)")
    rgb = prep.rgb
    total = n_valid
    dtype_kind = np.dtype(array.dtype).kind

    def segment(block, *rest, block_info=None):
        from skimage.color import rgb2lab
        from skimage.segmentation import slic as sk_slic

        mblock = np.asarray(rest[0], dtype=bool)[..., 0] if rest else None
        values = np.asarray(block, dtype=np.float64)
        if dtype_kind == "b":
            values = values.astype(np.float64)
        values = (values - lo) / span
        if rgb:
            values = rgb2lab(np.clip(values, 0, 1))
        inside = values if mblock is None else values[mblock]
        n_here = inside.shape[0] if mblock is not None else math.prod(values.shape[:-1])
        if n_here == 0:
            return np.zeros(values.shape[:-1], dtype=np.int64)
        r = float(inside.max() - inside.min())
        # scikit-image rescales each call to [0, 1]: scale compactness to match
        local_compactness = compactness / r if r > 0 else compactness
        # maskSLIC needs two centres (scikit-image returns zeros for one)
        n_local = max(1 if mblock is None else 2, int(round(n_segments * n_here / total)))
        data = values if multichannel else values[..., 0]
        return sk_slic(
            data,
            n_segments=n_local,
            compactness=local_compactness,
            channel_axis=-1 if multichannel else None,
            convert2lab=False,
            mask=mblock,
            **options,
        )

    args = ()
    if mask is not None:
        args = (mask[..., None].rechunk(spatial_chunks + ((1,),)),)
    return map_blocks_unique_labels(
        segment,
        array,
        max_labels_per_block=lambda block_shape: int(math.prod(block_shape)),
        drop_axis=array.ndim - 1,
        args=args,
    )
