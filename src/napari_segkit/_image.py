"""The one image front end: image, channels, spacing, frames, mask, memory.

Every method starts from :func:`parse_image`, which turns what a user passes
(numpy or dask, any real dtype, an optional ``channel_axis``, ``spacing``,
``spatial_dims``, ``mask``, ``memory_limit``) into a :class:`ParsedImage`
with the channels last and the axes named: leading *frame* axes (time,
position, ...), then 2 or 3 *spatial* axes.  :func:`map_frames` runs a
per-frame function over the leading axes, one frame at a time, and numbers
the result so that ids stay unique over the whole result when asked.

The option checks themselves (numbers, spacing, axes) live in
:mod:`._validation`; this module decides what the axes of an image mean.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional, Sequence, Tuple

import numpy as np

from ._errors import InputError, ResourceLimitError
from ._labels import label_dtype
from ._progress import Reporter
from ._validation import (
    as_image_array,
    check_channel_axis,
    check_finite,
    check_memory_limit,
    check_spacing,
    check_spatial_dims,
)

__all__ = [
    "ParsedImage",
    "memory_budget",
    "normalise_channels",
    "map_frames",
    "parse_image",
    "run_frames",
    "unit_spacing",
]

#: fraction of the available memory a job may plan to use by default
MEMORY_FRACTION = 0.8
#: a last axis of this size with no channel_axis looks like colour
COLOUR_SIZES = (3, 4)
# percentiles that map to 0 and 1 in the robust intensity normalisation
LOW_PERCENTILE = 0.5
HIGH_PERCENTILE = 99.5


def normalise_channels(channels_last: np.ndarray) -> Tuple[np.ndarray, bool]:
    """Scale each channel so its 0.5th and 99.5th percentiles become 0 and 1.

    Robust to outliers (hot pixels, saturated spots) and independent of dtype
    and intensity range: a uint8 image, the same image as uint16, or as float
    with an offset of 1e6, give the same features.  A channel whose percentile
    range is zero falls back to its minimum and maximum; a constant channel
    becomes 0.  Values beyond the percentiles are not clipped.

    Returns
    -------
    features : (..., C) ndarray of float32
    varies : bool
        Whether any channel is not constant.
    """
    n_channels = channels_last.shape[-1]
    flat = channels_last.reshape(-1, n_channels)
    out = np.empty(channels_last.shape, dtype=np.float32)
    out_flat = out.reshape(-1, n_channels)
    varies = False
    for c in range(n_channels):
        values = flat[:, c]
        if values.dtype.kind == "b":
            values = values.view(np.uint8)
        values = values.astype(np.float64, copy=False)
        lo, hi = np.percentile(values, [LOW_PERCENTILE, HIGH_PERCENTILE])
        if not hi > lo:
            lo, hi = float(values.min()), float(values.max())
        if hi > lo:
            varies = True
            out_flat[:, c] = (values - lo) / (hi - lo)
        else:
            out_flat[:, c] = 0.0
    return out, varies


def unit_spacing(spacing: Sequence[float]) -> Tuple[float, ...]:
    """Spacing divided by its smallest value: the finest axis counts as one pixel."""
    unit = min(spacing)
    return tuple(float(s) / unit for s in spacing)


def memory_budget(memory_limit: Any = None) -> int:
    """Bytes a job may use: ``memory_limit`` or 80 % of the memory available now."""
    limit = check_memory_limit(memory_limit)
    if limit is not None:
        return int(limit)
    from .graph.memory import available_memory

    return int(MEMORY_FRACTION * available_memory())


def _size(n_bytes: float) -> str:
    """A byte count for people: GB, MB or kB with two decimals."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.2f} {unit}"
    return f"{n_bytes / 1e3:.2f} kB"


def check_memory(needed: int, memory_limit: Any, *, method: str, what: str) -> None:
    """Refuse a job that would need more than the budget, before any work."""
    limit = memory_budget(memory_limit)
    if needed > limit:
        raise ResourceLimitError(
            f"{method} needs about {_size(needed)} for {what}, but {_size(limit)} is "
            "allowed (memory_limit, default 80 % of the available memory); crop, downsample or "
            "process fewer frames at once"
        )


@dataclass
class ParsedImage:
    """An image with its axes named; see :func:`parse_image`.

    Attributes
    ----------
    data : ndarray or dask array
        Channels last: ``frame_shape + spatial_shape + (n_channels,)``; a
        grayscale image gets one channel.  A view of the caller's array
        (never written to), lazy for dask input.
    frame_shape : tuple of int
        The leading axes processed one by one (empty for one frame).
    spatial_shape : tuple of int
        The 2 or 3 spatial axes.
    spacing : tuple of float
        Physical pixel size per spatial axis.
    channel_axis : int or None
        The caller's channel axis (non-negative), or None.
    mask : ndarray of bool, dask array or None
        ``frame_shape + spatial_shape``, or the spatial shape alone (the same
        mask for every frame); a dask mask of a dask image stays lazy.
    memory_limit : int or None
        As given (None = 80 % of the available memory, see
        :func:`memory_budget`).
    lazy : bool
        Whether ``data`` is a dask array.
    """

    data: Any
    frame_shape: Tuple[int, ...]
    spatial_shape: Tuple[int, ...]
    spacing: Tuple[float, ...]
    channel_axis: Optional[int]
    mask: Optional[np.ndarray] = None
    memory_limit: Optional[int] = None
    lazy: bool = False
    method: str = field(default="", repr=False)
    finite: bool = field(default=True, repr=False)

    @property
    def n_channels(self) -> int:
        return int(self.data.shape[-1])

    @property
    def labels_shape(self) -> Tuple[int, ...]:
        """The shape of a result: the image's shape without channels."""
        return self.frame_shape + self.spatial_shape

    @property
    def spatial_dims(self) -> int:
        return len(self.spatial_shape)

    @property
    def n_frames(self) -> int:
        return int(np.prod(self.frame_shape, dtype=np.int64)) if self.frame_shape else 1

    def frame(self, index: Tuple[int, ...]) -> np.ndarray:
        """One frame as a numpy (spatial..., C) array (computed if lazy), checked for NaN."""
        array = self.data[index] if index else self.data
        if self.lazy:
            array = np.asarray(array.compute())
        if self.finite:
            check_finite(array, name="image")
        return array

    def frame_mask(self, index: Tuple[int, ...]) -> Optional[np.ndarray]:
        """The mask of one frame as numpy (a lazy mask is read here), or None."""
        if self.mask is None:
            return None
        mask = self.mask if tuple(self.mask.shape) == self.spatial_shape else self.mask[index]
        return np.asarray(mask.compute()) if _is_dask(mask) else mask

    def frames(self) -> Iterator[Tuple[Tuple[int, ...], np.ndarray]]:
        """``(index, frame)`` for every frame, in C order."""
        for index in np.ndindex(*self.frame_shape) if self.frame_shape else [()]:
            yield index, self.frame(index)


def _is_dask(array: Any) -> bool:
    return hasattr(array, "compute") and hasattr(array, "chunks") and not isinstance(array, np.ndarray)


def _check_one_image(plain_shape: Tuple[int, ...], shape: Tuple[int, ...], channel_axis: Optional[int],
                     method: str) -> None:
    """Refuse an image that is not 2-D or 3-D besides its channel axis (a method without frames)."""
    if len(plain_shape) not in (2, 3):
        hint = (f", channel_axis={channel_axis}" if channel_axis is not None
                else "; pass channel_axis if one axis holds channels")
        raise InputError(
            f"{method} accepts 2-D or 3-D images with an optional channel axis; image has shape {shape} "
            f"({len(plain_shape)} non-channel dimension(s){hint})"
        )


def _warn_colour(shape: Tuple[int, ...], method: str) -> None:
    if len(shape) >= 3 and shape[-1] in COLOUR_SIZES and min(shape[-3:-1]) > 4 * shape[-1]:
        warnings.warn(
            f"{method}: image has shape {shape} and no channel_axis; its last axis (size "
            f"{shape[-1]}) looks like colour channels but is treated as a spatial axis. "
            "Pass channel_axis=-1 for an RGB(A) image",
            UserWarning,
            stacklevel=4,
        )


def parse_image(
    image: Any,
    *,
    method: str,
    channel_axis: Optional[int] = None,
    spacing: Optional[Sequence[float]] = None,
    spatial_dims: Optional[int] = None,
    mask: Any = None,
    memory_limit: Any = None,
    lazy: bool = True,
    finite: bool = True,
    colour_warning: bool = True,
    frames: bool = True,
) -> ParsedImage:
    """Check an image and name its axes; the one entry point of every method.

    Parameters
    ----------
    image : array-like or dask array
        ``(*frames, *spatial[, C])`` with the channel axis anywhere
        (``channel_axis``).  Any real dtype.
    method : str
        The public function's name, used in messages.
    channel_axis : int, optional
        The axis holding channels; None = grayscale.  A last axis of size 3
        or 4 without ``channel_axis`` gives a warning (it looks like colour).
    spacing : float or sequence of float, optional
        Physical pixel size per spatial axis (default 1).
    spatial_dims : {2, 3}, optional
        Trailing spatial axes; the axes before them are frames, processed
        one by one.  Default: 2 for a 2-D image, else 3.
    mask : array-like of bool, optional
        Pixels to segment: ``frames + spatial`` shape or the spatial shape
        (the same mask for every frame).
    memory_limit : int or str, optional
        Bytes (or ``"4G"``) the job may use.
    lazy : bool
        Keep dask input lazy (frames are computed one at a time).  With
        False, dask input is computed and numpy is checked for NaN now.
    finite : bool
        Refuse NaN and infinite values (numpy now, dask frame by frame).
        False leaves the check to the method (for example only inside the
        mask).
    colour_warning : bool
        Warn when a last axis of size 3 or 4 looks like colour and no
        ``channel_axis`` was given.  False where the caller has its own
        stricter rule for such shapes.
    frames : bool
        Whether leading frame axes may exist.  False, for methods that take
        one image (no ``spatial_dims``): every non-channel axis is spatial,
        and an image that is not 2-D or 3-D besides its channel axis is
        refused.

    Raises
    ------
    InputError
        Bad dtype, empty image, bad ``channel_axis``, ``spatial_dims``,
        ``spacing`` or ``mask``, naming the argument and the value.
    """
    array = as_image_array(image, name="image", lazy=lazy)
    is_lazy = _is_dask(array)
    axis = check_channel_axis(channel_axis, array.ndim)
    if axis is None:
        if colour_warning:
            _warn_colour(tuple(array.shape), method)
        plain_shape = tuple(int(s) for s in array.shape)
        data = array[..., None]
    else:
        plain_shape = tuple(int(s) for i, s in enumerate(array.shape) if i != axis)
        if is_lazy:
            import dask.array as da

            data = da.moveaxis(array, axis, -1)
        else:
            data = np.moveaxis(array, axis, -1)
    if not frames:
        _check_one_image(plain_shape, tuple(array.shape), channel_axis, method)
        spatial_dims = len(plain_shape)
    n_spatial = check_spatial_dims(spatial_dims, len(plain_shape), method=method)
    frame_shape = plain_shape[: len(plain_shape) - n_spatial]
    spatial_shape = plain_shape[len(plain_shape) - n_spatial :]
    spacing = check_spacing(spacing, n_spatial)
    checked_mask = None
    if mask is not None:
        # a dask mask of a dask image stays lazy (read with its frames); otherwise it is read now
        lazy_mask = is_lazy and _is_dask(mask)
        checked_mask = as_image_array(mask, name="mask", lazy=lazy_mask)
        if not lazy_mask:
            checked_mask = np.asarray(checked_mask)
        if np.dtype(checked_mask.dtype).kind not in "biu":
            raise InputError(f"mask has dtype {checked_mask.dtype}: expected booleans (True = segment)")
        if tuple(checked_mask.shape) not in (plain_shape, spatial_shape):
            raise InputError(
                f"mask has shape {tuple(checked_mask.shape)} but the image needs {plain_shape}"
                + (f" or {spatial_shape} (one frame, used for every frame)" if frame_shape else "")
            )
        checked_mask = checked_mask.astype(bool, copy=False)
    if not is_lazy and finite:
        check_finite(np.asarray(array), name="image")
    return ParsedImage(
        data=data,
        frame_shape=frame_shape,
        spatial_shape=spatial_shape,
        spacing=spacing,
        channel_axis=axis,
        mask=checked_mask,
        memory_limit=check_memory_limit(memory_limit),
        lazy=is_lazy,
        method=method,
        finite=finite,
    )


def map_frames(
    parsed: ParsedImage,
    segment: Callable[[Tuple[int, ...], np.ndarray, Reporter], np.ndarray],
    *,
    unique_ids: bool,
    progress: Optional[Callable[[float, str], None]] = None,
) -> np.ndarray:
    """Run ``segment(index, frame, report)`` on every frame and stack the labels.

    Parameters
    ----------
    parsed : ParsedImage
    segment : callable
        Gets the frame's index, the frame as ``(spatial..., C)`` numpy and a
        :class:`~._progress.Reporter` for that frame's share of the job;
        returns integer labels of the spatial shape, 0 = background.
    unique_ids : bool
        Offset each frame's ids by the largest id so far, so ids are unique
        over the result (clusters, superpixels); False keeps the values as
        they are (seed values that name regions).
    progress : callable, optional

    Returns
    -------
    ndarray of int32 (int64 when the ids need it), ``parsed.labels_shape``
    """
    report = Reporter(progress)
    n = parsed.n_frames
    out = np.zeros(parsed.labels_shape, dtype=np.int64)
    offset = 0
    for i, (index, frame) in enumerate(parsed.frames()):
        labels = np.asarray(segment(index, frame, report.sub(i / n, (i + 1) / n)))
        if unique_ids and offset:
            labels = np.where(labels > 0, labels.astype(np.int64) + offset, 0)
        out[index] = labels
        if unique_ids and labels.size:
            offset = max(offset, int(labels.max()))
        if n > 1:
            report((i + 1) / n, f"frame {i + 1}/{n} done")
    largest = int(out.max()) if out.size else 0
    report(1.0, "done")
    return out.astype(label_dtype(largest), copy=False)


def run_frames(method: Callable[..., Any], parsed: ParsedImage, arguments: dict, *,
               task: Tuple[str, ...] = ()) -> np.ndarray:
    """A public method on every frame of a series, one frame at a time, ids unique over the result.

    For methods that number regions themselves (clusters, superpixels,
    segments): ``method(frame, *task, channel_axis=-1, spacing=, [mask=,]
    progress=, **options)`` runs on each frame, channels last.

    Parameters
    ----------
    method : callable
        The public function, called again on each frame (which has no frame
        axes, so it takes its one-image path).
    parsed : ParsedImage
        The series, from :func:`parse_image`.
    arguments : dict
        The method's own arguments (``locals()`` at its start).  One
        generator is made from ``rng`` (when the method has one) and draws
        for the frames in turn, so an integer seed gives the same labels for
        the same series.  An option holding an array of the series' shape
        without channels (the caller's superpixels) is given frame by frame.
    task : tuple of str
        The positional arguments after the image (``("n_clusters",)``).

    A frame whose mask selects no pixel is all 0.
    """
    from ._validation import check_rng

    shared = ("image", "channel_axis", "spacing", "mask", "spatial_dims", "progress", "rng")
    options = {key: value for key, value in arguments.items() if key not in shared + task}
    if "rng" in arguments:
        options["rng"] = check_rng(arguments["rng"])
    per_frame = [key for key, value in options.items()
                 if isinstance(value, np.ndarray) and value.shape == parsed.labels_shape]
    positional = [arguments[name] for name in task]

    def segment(index, frame, report):
        where = {key: options[key][index] for key in per_frame}
        if "mask" in arguments:
            where["mask"] = parsed.frame_mask(index)
            if where["mask"] is not None and not where["mask"].any():
                return np.zeros(parsed.spatial_shape, np.int64)
        labels = method(frame, *positional, channel_axis=-1, spacing=parsed.spacing, progress=report,
                        **{**options, **where})
        return labels.compute() if _is_dask(labels) else labels

    return map_frames(parsed, segment, unique_ids=True, progress=arguments["progress"])
