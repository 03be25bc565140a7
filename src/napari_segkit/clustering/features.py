"""Pixel features shared by K-means and mean shift, for numpy and dask images.

A pixel's feature vector holds

* the intensities of all its channels, each normalised by robust statistics
  of the image: ``(value - p1) / (p99 - p1)``, with ``p1``/``p99`` the 1st and
  99th percentiles of that channel (over a sample of the pixels inside the
  mask; max - min when the percentiles coincide, 1 for a constant channel).
  Features, and so clusters, do not depend on the dtype or magnitude of the
  image: uint8, uint16, float in [0, 1] or with a 1e6 offset give the same
  clusters;
* for colour images (``rgb=True``), CIELAB instead: L*, a*, b* computed from
  the RGB values in [0, 1] (integers divided by their dtype's maximum, floats
  taken as they are and divided by their maximum when it exceeds 1), all
  three divided by one common robust spread so colour distances stay
  perceptual.  An alpha channel is dropped;
* optionally the pixel's position in physical units (``spacing``), times
  ``spatial_weight / extent`` where ``extent`` is the largest physical side of
  the image: ``spatial_weight = 1`` gives the whole image's extent the weight
  of the intensity range.

Images are handled in blocks (numpy) or chunks (dask), so the full feature
matrix never exists at once.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from .._errors import InputError
from .._image import ParsedImage, check_memory, parse_image
from .._progress import Reporter
from .._validation import check_rng
from ..tiling.blocks import block_slices, normalize_chunks

__all__ = [
    "FeatureSpec", "Prepared", "draw_sample", "fit_spec", "iter_numpy_blocks", "parse", "prepare",
    "sample_pixels",
]

# pixels per block when a numpy image is processed block by block
BLOCK_PIXELS = 1 << 18
# pixels used to estimate the normalisation and to fit the clusters
DEFAULT_MAX_SAMPLES = 100_000


def is_lazy(array: Any) -> bool:
    return hasattr(array, "compute") and hasattr(array, "chunks") and not isinstance(array, np.ndarray)


@dataclass
class Prepared:
    """A validated image, channels last, numpy or dask, never copied."""

    array: Any  # (..., C) numpy or dask
    mask: Any  # spatial-shaped bool (numpy or dask) or None
    spacing: Tuple[float, ...]
    rgb: bool
    n_channels: int  # channels used (alpha dropped)
    lazy: bool
    was_bool: bool
    squeezed: bool = False

    @property
    def spatial_shape(self) -> Tuple[int, ...]:
        return tuple(self.array.shape[:-1])

    @property
    def n_pixels(self) -> int:
        return int(math.prod(self.spatial_shape))


def parse(image: Any, *, method: str, channel_axis: Optional[int], spacing: Any, spatial_dims: Optional[int],
          mask: Any) -> ParsedImage:
    """The image through the package's one front end (:func:`napari_segkit._image.parse_image`).

    Dask input (and a dask mask with it) stays lazy; NaN and infinite values
    are refused later, and only inside the mask, by the sampler.
    """
    return parse_image(image, method=method, channel_axis=channel_axis, spacing=spacing,
                       spatial_dims=spatial_dims, mask=mask, lazy=True, finite=False)


def prepare(parsed: ParsedImage, *, rgb: Optional[bool], method: str, boolean_warning: bool = True) -> Prepared:
    """One image without frame axes, ready to cluster: colour space chosen, alpha dropped.

    ``rgb=None`` means colour for uint8 images with 3 or 4 channels along
    the caller's ``channel_axis``.  Refuses a mask that selects no pixel.
    """
    if parsed.frame_shape:
        raise ValueError("prepare takes one image: run the frames one by one first (_image.run_frames)")
    array = parsed.data
    n_channels = parsed.n_channels
    dtype = np.dtype(array.dtype)
    if rgb is None:
        rgb = parsed.channel_axis is not None and n_channels in (3, 4) and dtype == np.uint8
    elif rgb and n_channels not in (3, 4):
        raise InputError(
            f"rgb=True needs 3 (RGB) or 4 (RGBA) channels; image has {n_channels} "
            f"along channel_axis={parsed.channel_axis}"
        )
    rgb = bool(rgb)
    if rgb and n_channels == 4:
        array = array[..., :3]
    was_bool = dtype == np.bool_
    if was_bool and boolean_warning:
        warnings.warn(
            "image is boolean: clustering can only separate its two values",
            UserWarning,
            stacklevel=3,
        )
    mask = parsed.mask
    if mask is not None and not (bool(mask.any().compute()) if is_lazy(mask) else bool(mask.any())):
        raise InputError("mask selects no pixel")
    return Prepared(
        array=array,
        mask=mask,
        spacing=parsed.spacing,
        rgb=rgb,
        n_channels=3 if rgb else n_channels,
        lazy=parsed.lazy,
        was_bool=was_bool,
    )


# --------------------------------------------------------------------------- raw values


# --------------------------------------------------------------------------- spec


@dataclass
class FeatureSpec:
    """How to turn a block of raw pixel values into features (fitted once per image)."""

    rgb: bool
    offset: np.ndarray  # (F,)
    scale: np.ndarray  # (F,)
    spatial: Optional[np.ndarray] = None  # (ndim,) factor per axis on the voxel index
    intensity_factor: float = 1.0
    rgb_float_max: float = 1.0
    constant: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def n_intensity(self) -> int:
        return int(self.offset.size)

    @property
    def n_features(self) -> int:
        return self.n_intensity + (0 if self.spatial is None else int(self.spatial.size))

    def intensity(self, values: np.ndarray) -> np.ndarray:
        """(n, C) raw values -> (n, F) float64 intensity features before scaling."""
        if not self.rgb:
            return values.astype(np.float64)
        from skimage.color import rgb2lab

        rgb_values = values.astype(np.float64)
        if values.dtype.kind in "iu":
            rgb_values /= float(np.iinfo(values.dtype).max)
        elif values.dtype.kind == "f" and self.rgb_float_max > 1.0:
            rgb_values /= self.rgb_float_max
        np.clip(rgb_values, 0.0, 1.0, out=rgb_values)
        return rgb2lab(rgb_values[None])[0]

    def transform(
        self, values: np.ndarray, coords: Optional[np.ndarray] = None
    ) -> np.ndarray:
        """(n, C) raw values (and (n, ndim) voxel coordinates) -> (n, F) float32 features."""
        feats = self.intensity(values)
        feats -= self.offset
        feats *= self.intensity_factor / self.scale
        if self.spatial is not None:
            if coords is None:
                raise ValueError("coordinates are needed for spatial features")
            feats = np.concatenate([feats, coords * self.spatial], axis=1)
        return feats.astype(np.float32)

    def block_features(self, block: np.ndarray, origin: Sequence[int]) -> np.ndarray:
        """Features of every pixel of an (..., C) block whose first pixel is at ``origin``."""
        values = block.reshape(-1, block.shape[-1])
        coords = None
        if self.spatial is not None:
            grids = np.indices(block.shape[:-1], dtype=np.float64).reshape(block.ndim - 1, -1).T
            coords = grids + np.asarray(origin, dtype=np.float64)
        return self.transform(values, coords)


def fit_spec(
    prep: Prepared,
    sample_values: np.ndarray,
    *,
    spatial_factor: Optional[np.ndarray] = None,
    intensity_factor: float = 1.0,
) -> FeatureSpec:
    """Robust per-channel normalisation from a sample of raw values (n, C)."""
    rgb_float_max = 1.0
    if prep.rgb and sample_values.dtype.kind == "f":
        top = float(np.max(sample_values)) if sample_values.size else 1.0
        rgb_float_max = top if top > 1.0 else 1.0
    spec = FeatureSpec(
        rgb=prep.rgb,
        offset=np.zeros(prep.n_channels),
        scale=np.ones(prep.n_channels),
        rgb_float_max=rgb_float_max,
    )
    raw = spec.intensity(sample_values)
    lo = np.percentile(raw, 1, axis=0)
    hi = np.percentile(raw, 99, axis=0)
    spread = hi - lo
    full = raw.max(axis=0) - raw.min(axis=0)
    spread = np.where(spread > 0, spread, full)
    constant = bool(np.all(full == 0))
    if prep.rgb:
        common = float(spread.max())
        spread = np.full_like(spread, common if common > 0 else 1.0)
    spread = np.where(spread > 0, spread, 1.0)
    spec.offset = lo
    spec.scale = spread
    spec.spatial = spatial_factor
    spec.intensity_factor = float(intensity_factor)
    spec.constant = constant
    return spec


def physical_extent(shape: Sequence[int], spacing: Sequence[float]) -> float:
    """Largest physical side of an image (at least one pixel's size)."""
    sides = [max(n - 1, 1) * s for n, s in zip(shape, spacing)]
    return float(max(sides))


# --------------------------------------------------------------------------- sampling


@dataclass
class Sample:
    values: np.ndarray  # (n, C) raw dtype
    coords: np.ndarray  # (n, ndim) int64
    n_valid: int  # pixels inside the mask (all pixels without one)


def sample_pixels(
    prep: Prepared,
    *,
    method: str,
    rng: Any,
    max_samples: int,
    progress: Optional[Callable[[float, str], None]],
    memory_limit: Any = None,
    instances: bool = False,
):
    """What every clustering method does after :func:`prepare`: check the
    memory need, draw the pixel sample.

    Returns ``(sample, report, generator)``; the sample takes the first 10 %
    of the progress range.  ``rng``: the package's one meaning (None = fresh
    entropy, an integer seed, or a Generator).  Refuses, before any work, a
    job that would need more than ``memory_limit`` (default 80 % of the
    memory available now).
    """
    needed = estimate_clustering_memory(prep, max_samples=max_samples, instances=instances)
    check_memory(needed, memory_limit, method=method,
                 what=f"an image of shape {prep.spatial_shape} with {prep.n_channels} channel(s)")
    generator = check_rng(rng)
    report = Reporter(progress)
    report(0.0, "sampling pixels")
    sample = draw_sample(prep, max_samples, generator, progress=report.sub(0.0, 0.1))
    return sample, report, generator


def estimate_clustering_memory(prep: Prepared, *, max_samples: int, instances: bool = False) -> int:
    """Bytes K-means or mean shift needs beyond the image itself.

    The int32 labels (numpy input; a dask result is written chunk by chunk),
    the connected components when ``instances``, the features of one block
    (numpy) or chunk (dask), and the fitted sample with the copies the
    clustering makes of it.
    """
    ndim = len(prep.spatial_shape)
    n_features = prep.n_channels + ndim  # intensities and, at most, position
    if prep.lazy:
        block = max(math.prod(max(c) for c in prep.array.chunks[:-1]), 1)
        labels = block * 4 * (3 if instances else 1)
    else:
        block = min(prep.n_pixels, BLOCK_PIXELS)
        labels = prep.n_pixels * 4 * (3 if instances else 1)
    per_block_pixel = n_features * (8 + 4) + 8 * ndim + 8 * prep.n_channels + 16
    per_sample = n_features * 8 * 4 + 8 * ndim + 8 * prep.n_channels
    return int(labels + block * per_block_pixel + min(prep.n_pixels, max_samples) * per_sample)


def label_pixels(prep: Prepared, label_block: Callable, instances: bool, report) -> Any:
    """Label every pixel block by block (progress 0.3 to 1), then split clusters into objects if asked."""
    from .instances import clusters_to_instances

    labels = map_labels(prep, label_block, np.dtype(np.int32), report.sub(0.3, 0.9 if instances else 1.0))
    if instances:
        labels = clusters_to_instances(labels, progress=report.sub(0.9, 1.0))
        report(1.0, "done")
    return labels


def draw_sample(
    prep: Prepared,
    max_samples: int,
    rng: np.random.Generator,
    progress: Optional[Callable[[float, str], None]] = None,
) -> Sample:
    """A sample of the pixels inside the mask, the same for numpy and dask input.

    All pixels when the image has at most ``max_samples``; otherwise
    ``max_samples`` flat indices drawn with replacement by ``rng`` (duplicates
    dropped), kept where the mask is set.  Reads each dask chunk once, and
    checks there for NaN and infinite values inside the mask.
    """
    shape = prep.spatial_shape
    total = prep.n_pixels
    if total <= max_samples:
        flat = None
    else:
        n_draw = max_samples
        if prep.mask is not None:
            frac = float(prep.mask.mean()) if not is_lazy(prep.mask) else float(prep.mask.mean().compute())
            if frac == 0:
                raise InputError("mask selects no pixel")
            n_draw = int(min(total, math.ceil(max_samples / frac)))
        flat = np.unique(rng.integers(0, total, size=n_draw, dtype=np.int64))
    if not prep.lazy:
        return _sample_numpy(prep, flat)
    return _sample_dask(prep, flat, progress)


def _count_nonfinite(values: np.ndarray, mask: Optional[np.ndarray]) -> Tuple[int, int]:
    if values.dtype.kind != "f":
        return 0, 0
    bad = ~np.isfinite(values).all(axis=-1)
    if mask is not None:
        bad &= mask
    n_bad = int(bad.sum())
    if not n_bad:
        return 0, 0
    n_nan = int((np.isnan(values).any(axis=-1) & bad).sum())
    return n_nan, n_bad - n_nan


def raise_nonfinite(n_nan: int, n_inf: int, shape: Tuple[int, ...], masked: bool) -> None:
    if not (n_nan or n_inf):
        return
    parts = []
    if n_nan:
        parts.append(f"{n_nan} NaN")
    if n_inf:
        parts.append(f"{n_inf} infinite")
    where = " inside the mask" if masked else ""
    raise InputError(
        f"image has {' and '.join(parts)} pixels{where} (shape {shape}); "
        "mask them out (mask=...) or fill them before clustering"
    )


def _sample_numpy(prep: Prepared, flat: Optional[np.ndarray]) -> Sample:
    array, mask = prep.array, prep.mask
    shape = prep.spatial_shape
    n_nan, n_inf = _count_nonfinite(array, mask)
    raise_nonfinite(n_nan, n_inf, shape, mask is not None)
    if flat is None:
        flat = np.arange(prep.n_pixels, dtype=np.int64)
        if mask is not None:
            flat = np.flatnonzero(mask)
    elif mask is not None:
        flat = flat[mask.reshape(-1)[flat]]
    n_valid = prep.n_pixels if mask is None else int(np.count_nonzero(mask))
    coords = np.stack(np.unravel_index(flat, shape), axis=1).astype(np.int64)
    values = array.reshape(-1, array.shape[-1])[flat] if array.flags.c_contiguous else array[
        tuple(coords.T)
    ]
    return Sample(np.asarray(values), coords, n_valid)


def _sample_dask(prep: Prepared, flat: Optional[np.ndarray], progress) -> Sample:
    import dask
    import dask.array as da

    array = prep.array
    if len(array.chunks[-1]) != 1:
        array = array.rechunk(array.chunks[:-1] + ((array.shape[-1],),))
        prep.array = array
    shape = prep.spatial_shape
    spatial_chunks = array.chunks[:-1]
    mask = prep.mask
    if mask is not None:
        mask = da.asarray(mask).rechunk(spatial_chunks)
        prep.mask = mask
    bounds = [np.concatenate([[0], np.cumsum(c)]) for c in spatial_chunks]
    if flat is not None:
        coords_all = np.stack(np.unravel_index(flat, shape), axis=1)
        block_of = np.stack(
            [np.searchsorted(b, coords_all[:, i], side="right") - 1 for i, b in enumerate(bounds)],
            axis=1,
        )
    tasks = []
    for index, slices in block_slices(spatial_chunks):
        origin = np.array([s.start for s in slices])
        if flat is None:
            local = None
        else:
            sel = np.all(block_of == np.array(index), axis=1)
            local = coords_all[sel] - origin
        block = array.blocks[index + (0,)]
        mblock = mask.blocks[index] if mask is not None else None
        tasks.append(dask.delayed(_gather_block)(block, mblock, local, origin))
    if progress is not None:
        progress(0.0, f"sampling {len(tasks)} chunks")
    results = dask.compute(*tasks)
    n_nan = sum(r[3] for r in results)
    n_inf = sum(r[4] for r in results)
    raise_nonfinite(n_nan, n_inf, shape, mask is not None)
    values = np.concatenate([r[0] for r in results], axis=0)
    coords = np.concatenate([r[1] for r in results], axis=0)
    n_valid = int(sum(r[2] for r in results))
    # the same order as the numpy path: by flat index
    order = np.argsort(np.ravel_multi_index(tuple(coords.T), shape), kind="stable")
    return Sample(values[order], coords[order], n_valid)


def _gather_block(block, mblock, local, origin):
    block = np.asarray(block)
    mblock = None if mblock is None else np.asarray(mblock, dtype=bool)
    n_nan, n_inf = _count_nonfinite(block, mblock)
    n_valid = int(mblock.sum()) if mblock is not None else int(math.prod(block.shape[:-1]))
    if local is None:
        if mblock is None:
            local = np.indices(block.shape[:-1]).reshape(block.ndim - 1, -1).T
        else:
            local = np.argwhere(mblock)
    elif mblock is not None:
        local = local[mblock[tuple(local.T)]]
    values = block[tuple(local.T)] if len(local) else np.empty((0, block.shape[-1]), block.dtype)
    return values, local.astype(np.int64) + origin, n_valid, n_nan, n_inf


# --------------------------------------------------------------------------- block loops


def numpy_chunks(shape: Tuple[int, ...], n_channels: int) -> tuple:
    """Blocks of at most about BLOCK_PIXELS pixels, split along the first axes."""
    block = list(shape)
    for axis in range(len(shape)):
        inner = math.prod(block[axis + 1:])
        if math.prod(block[axis:]) <= BLOCK_PIXELS:
            break
        block[axis] = max(1, BLOCK_PIXELS // inner)
    return normalize_chunks(tuple(block), shape)


def iter_numpy_blocks(shape: Tuple[int, ...], n_channels: int) -> List[Tuple[slice, ...]]:
    return [slices for _, slices in block_slices(numpy_chunks(shape, n_channels))]


def map_labels(
    prep: Prepared,
    label_block: Callable[[np.ndarray, Optional[np.ndarray], Tuple[int, ...]], np.ndarray],
    dtype: np.dtype,
    report: Callable[[float, str], None],
) -> Any:
    """Apply ``label_block(block, mask_block, origin)`` to every block of the image.

    numpy: block by block into one output (``report`` between blocks, so a
    cancel takes effect at the next block); dask: a lazy dask array.
    """
    if not prep.lazy:
        shape = prep.spatial_shape
        out = np.zeros(shape, dtype=dtype)
        blocks = iter_numpy_blocks(shape, prep.n_channels)
        for i, slices in enumerate(blocks):
            report(i / len(blocks), f"assigning pixels: block {i + 1}/{len(blocks)}")
            mblock = None if prep.mask is None else prep.mask[slices]
            origin = tuple(s.start for s in slices)
            out[slices] = label_block(prep.array[slices], mblock, origin)
        report(1.0, "done")
        return out

    import dask.array as da

    array = prep.array
    meta = np.empty((0,) * (array.ndim - 1), dtype=dtype)

    def run(block, *rest, block_info=None):
        loc = block_info[0]["array-location"]
        origin = tuple(int(a) for a, _ in loc[:-1])
        mblock = np.asarray(rest[0], dtype=bool)[..., 0] if rest else None
        return label_block(np.asarray(block), mblock, origin).astype(dtype, copy=False)

    args = [array]
    if prep.mask is not None:
        args.append(da.asarray(prep.mask)[..., None].rechunk(array.chunks[:-1] + ((1,),)))
    return da.map_blocks(run, *args, drop_axis=array.ndim - 1, dtype=dtype, meta=meta)
