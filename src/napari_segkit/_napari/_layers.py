"""napari layers <-> arrays for the graph-cut widget.

Everything here runs without a window: it reads layer attributes (data, scale,
translate, rgb, multiscale) and turns them into what the headless core takes,
and describes the Labels layer a result should become.  The core itself never
sees a layer.

Rules kept here:

* An image layer is never read whole before its memory estimate passes; dask
  and zarr data stay lazy until :func:`load_level` is called (in the worker).
* A user layer is never modified; seeds are copied when a job starts.
* Output layers sit exactly on the image: same scale, translate and any
  rotate/shear/affine, with the scale multiplied by the pyramid level's
  downsample factor when a coarser level was used.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence, Tuple

import numpy as np

from .._errors import InputError, ResourceLimitError
from ..graph.memory import INT32_MAX, MEMORY_FRACTION, available_memory, check_graph_budget
from ..graphcut import estimate_graph_cut_memory

__all__ = [
    "CHANNEL_CHOICES",
    "ImageInput",
    "array_digest",
    "choose_level",
    "downsample_seeds",
    "empty_seeds_kwargs",
    "image_input",
    "load_level",
    "output_layer_kwargs",
    "output_name",
    "seeds_snapshot",
]

#: channel-axis choices offered for non-RGB images: label -> axis
CHANNEL_CHOICES = {"none": None, "first axis": 0, "last axis": -1}


def _fmt(values: Sequence[float]) -> str:
    return "(" + ", ".join(f"{float(v):g}" for v in values) + ")"


def _is_layer_type(layer: Any, kind: str) -> bool:
    """Whether ``layer`` is a napari layer of type ``kind`` ('image', 'labels')."""
    import napari.layers

    cls = {"image": napari.layers.Image, "labels": napari.layers.Labels}[kind]
    return isinstance(layer, cls)


def _describe_layer(layer: Any) -> str:
    name = getattr(layer, "name", None)
    kind = type(layer).__name__
    return f"{kind} layer {name!r}" if name is not None else repr(layer)


@dataclass(frozen=True)
class ImageInput:
    """An image layer as the core sees it, captured when a job starts.

    Attributes
    ----------
    name : str
        The layer's name.
    levels : tuple of array-like
        The data, finest level first (one entry unless multiscale); kept lazy.
    factors : tuple of tuple of float
        Downsample factor of each level per non-channel axis.
    channel_axis : int or None
        Axis of the data holding channels (the last one for RGB).
    drop_alpha : bool
        RGBA data: keep the first three channels only.
    n_channels : int
        Channels the core will see (3 for RGB and RGBA, 1 for grayscale).
    shape : tuple of int
        Non-channel shape of the finest level.
    scale, translate : tuple of float
        Data-to-world scale and translate of the non-channel axes.
    extra_transform : dict
        ``rotate``, ``shear`` and ``affine`` when any is not the identity
        (passed to the output layer unchanged), else empty.
    """

    name: str
    levels: Tuple[Any, ...]
    factors: Tuple[Tuple[float, ...], ...]
    channel_axis: Optional[int]
    drop_alpha: bool
    n_channels: int
    shape: Tuple[int, ...]
    scale: Tuple[float, ...]
    translate: Tuple[float, ...]
    extra_transform: dict = field(default_factory=dict)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def n_levels(self) -> int:
        return len(self.levels)

    def level_shape(self, level: int) -> Tuple[int, ...]:
        """Non-channel shape of pyramid level ``level``."""
        shape = tuple(int(s) for s in self.levels[level].shape)
        if self.channel_axis is not None:
            shape = shape[: self.channel_axis] + shape[self.channel_axis + 1 :]
        return shape

    def spacing(self, spatial_dims: Optional[int]) -> Tuple[float, ...]:
        """Physical pixel size of the spatial axes (|scale|; a negative scale flips)."""
        n = spatial_dims or (2 if self.ndim == 2 else 3)
        n = min(n, self.ndim)
        return tuple(abs(float(s)) for s in self.scale[-n:])

    def frame_pixels(self, spatial_dims: Optional[int]) -> int:
        """Pixels in one spatial frame of the finest level."""
        n = spatial_dims or (2 if self.ndim == 2 else 3)
        return int(np.prod(self.shape[-min(n, self.ndim):], dtype=np.int64))


def _extra_transform(layer: Any, ndim: int) -> dict:
    """rotate/shear/affine of ``layer`` that are not the identity."""
    extra = {}
    rotate = np.asarray(getattr(layer, "rotate", np.eye(ndim)), dtype=float)
    if rotate.shape == (ndim, ndim) and not np.allclose(rotate, np.eye(ndim)):
        extra["rotate"] = rotate
    shear = np.asarray(getattr(layer, "shear", np.zeros(0)), dtype=float)
    if shear.size and not np.allclose(shear, 0):
        extra["shear"] = shear
    affine = getattr(layer, "affine", None)
    matrix = getattr(affine, "affine_matrix", None)
    if matrix is not None and not np.allclose(matrix, np.eye(matrix.shape[0])):
        extra["affine"] = np.asarray(matrix, dtype=float)
    return extra


def image_input(layer: Any, *, channel_axis: Optional[int] = None) -> ImageInput:
    """Describe an Image layer for the core, without reading its data.

    Parameters
    ----------
    layer : napari.layers.Image
    channel_axis : {None, 0, -1}
        For non-RGB data: which axis holds channels.  Ignored for RGB/RGBA
        layers (``layer.rgb``), whose last axis always holds colour.

    Raises
    ------
    InputError
        Not an Image layer, a zero scale, or a channel axis with a
        rotation/shear/affine that cannot be split off.
    """
    if not _is_layer_type(layer, "image"):
        raise InputError(
            f"the image must be an Image layer; got {_describe_layer(layer)} "
            "(accepted: napari.layers.Image)"
        )
    levels = tuple(layer.data) if layer.multiscale else (layer.data,)
    data_ndim = len(levels[0].shape)
    rgb = bool(getattr(layer, "rgb", False))
    if rgb:
        axis = data_ndim - 1
        n_channels = 3
        drop_alpha = int(levels[0].shape[-1]) == 4
    elif channel_axis is None:
        axis, n_channels, drop_alpha = None, 1, False
    else:
        if data_ndim < 3:
            raise InputError(
                f"image {layer.name!r} has shape {tuple(levels[0].shape)}: a channel axis "
                "needs at least 3 dimensions (channels plus 2 spatial)"
            )
        axis = int(channel_axis) % data_ndim
        n_channels = int(levels[0].shape[axis])
        drop_alpha = False

    scale = np.asarray(layer.scale, dtype=float)
    translate = np.asarray(layer.translate, dtype=float)
    factors = np.asarray(
        getattr(layer, "downsample_factors", np.ones((len(levels), len(scale)))), dtype=float
    )
    extra = _extra_transform(layer, len(scale))
    if axis is not None and not rgb:
        # napari treats the channel axis as an ordinary axis: remove it
        keep = [i for i in range(len(scale)) if i != axis]
        if extra:
            raise InputError(
                f"image {layer.name!r} has a rotation, shear or affine transform and "
                f"channel_axis={channel_axis}; split the channels into separate layers "
                "or remove the transform"
            )
        scale, translate, factors = scale[keep], translate[keep], factors[:, keep]
    if np.any(scale == 0) or not np.all(np.isfinite(scale)):
        raise InputError(
            f"image {layer.name!r} has scale {_fmt(scale)}: every scale value must be "
            "non-zero and finite"
        )
    shape = tuple(int(s) for i, s in enumerate(levels[0].shape) if i != axis)
    return ImageInput(
        name=str(layer.name),
        levels=levels,
        factors=tuple(tuple(float(f) for f in row) for row in factors),
        channel_axis=axis,
        drop_alpha=drop_alpha,
        n_channels=n_channels,
        shape=shape,
        scale=tuple(float(s) for s in scale),
        translate=tuple(float(t) for t in translate),
        extra_transform=extra,
    )


def _same(a: Sequence[float], b: Sequence[float]) -> bool:
    return len(a) == len(b) and bool(np.allclose(a, b, rtol=1e-6, atol=1e-9))


def seeds_snapshot(layer: Any, image: ImageInput) -> np.ndarray:
    """Copy a seeds Labels layer's data after checking it matches the image.

    The copy is what the job uses, so painting during the job changes
    nothing (K1).

    Raises
    ------
    InputError
        Not a Labels layer, multiscale, a shape other than the image's
        non-channel shape, or a different scale/translate/transform.
    """
    if not _is_layer_type(layer, "labels"):
        raise InputError(
            f"the seeds must be a Labels layer; got {_describe_layer(layer)} "
            "(accepted: napari.layers.Labels)"
        )
    if layer.multiscale:
        raise InputError(
            f"seeds layer {layer.name!r} is multiscale; paint seeds in a single-scale "
            "Labels layer (use 'New seeds layer')"
        )
    shape = tuple(int(s) for s in layer.data.shape)
    if shape != image.shape:
        raise InputError(
            f"labels {layer.name!r} shape {shape} does not match image {image.name!r} "
            f"shape {image.shape} (without its channel axis); use 'New seeds layer' to "
            "make a matching one"
        )
    scale = tuple(float(s) for s in layer.scale)
    translate = tuple(float(t) for t in layer.translate)
    if not _same(scale, image.scale) or not _same(translate, image.translate):
        raise InputError(
            f"labels {layer.name!r} (scale {_fmt(scale)}, translate {_fmt(translate)}) and "
            f"image {image.name!r} (scale {_fmt(image.scale)}, translate "
            f"{_fmt(image.translate)}) are not on the same pixel grid; give both layers "
            "the same scale and translate"
        )
    extra = _extra_transform(layer, len(scale))
    if extra.keys() != image.extra_transform.keys() or any(
        not np.allclose(extra[k], image.extra_transform[k]) for k in extra
    ):
        raise InputError(
            f"labels {layer.name!r} and image {image.name!r} have different "
            "rotate/shear/affine transforms; give both layers the same transform"
        )
    data = layer.data
    if hasattr(data, "compute"):
        data = data.compute()
    return np.array(data, copy=True)


def _fits(image: ImageInput, level: int, *, n_labels: int, spatial_dims, connectivity, limit) -> bool:
    budget = estimate_graph_cut_memory(
        image.level_shape(level),
        n_labels=n_labels,
        n_channels=image.n_channels,
        spatial_dims=spatial_dims,
        connectivity=connectivity,
    )
    within_ints = budget.n_nodes <= INT32_MAX and 2 * budget.n_edges <= INT32_MAX
    return within_ints and budget.total_bytes <= limit


def choose_level(
    image: ImageInput,
    *,
    n_labels: int = 2,
    spatial_dims: Optional[int] = None,
    connectivity: int = 1,
    memory_limit: Optional[int] = None,
) -> int:
    """The finest pyramid level whose graph cut fits in memory.

    Uses :func:`napari_segkit.estimate_graph_cut_memory` and the memory
    available now (psutil); reads no pixel data.

    Raises
    ------
    ResourceLimitError
        If not even the coarsest level fits (the core's message).
    InputError
        If the shape or options are unusable.
    """
    limit = int(MEMORY_FRACTION * available_memory()) if memory_limit is None else int(memory_limit)
    for level in range(image.n_levels):
        if _fits(image, level, n_labels=n_labels, spatial_dims=spatial_dims,
                 connectivity=connectivity, limit=limit):
            return level
    coarsest = image.n_levels - 1
    budget = estimate_graph_cut_memory(
        image.level_shape(coarsest), n_labels=n_labels, n_channels=image.n_channels,
        spatial_dims=spatial_dims, connectivity=connectivity,
    )
    check_graph_budget(budget, memory_limit=limit)
    raise ResourceLimitError(  # pragma: no cover - check_graph_budget raises first
        f"image {image.name!r} does not fit in memory at any pyramid level"
    )


def load_level(image: ImageInput, level: int) -> np.ndarray:
    """Read one pyramid level into memory (call only after :func:`choose_level`)."""
    data = image.levels[level]
    if hasattr(data, "compute"):
        data = data.compute()
    array = np.asarray(data)
    if image.drop_alpha:
        array = array[..., :3]
    return array


def downsample_seeds(seeds: np.ndarray, factors: Sequence[float], shape: Sequence[int]) -> np.ndarray:
    """Seeds for a coarser pyramid level, keeping thin strokes.

    Every seeded fine pixel marks the coarse pixel that covers it; where one
    coarse pixel covers two seed values the larger wins.
    """
    shape = tuple(int(n) for n in shape)
    if tuple(seeds.shape) == shape:
        return seeds
    out = np.zeros(shape, dtype=seeds.dtype)
    coords = np.nonzero(seeds)
    values = seeds[coords]
    coarse = tuple(
        np.minimum((c / max(float(f), 1e-12)).astype(np.intp), n - 1)
        for c, f, n in zip(coords, factors, shape)
    )
    np.maximum.at(out, coarse, values)
    return out


def output_name(image_name: str) -> str:
    return f"{image_name} graph cut"


def output_layer_kwargs(image: ImageInput, level: int = 0) -> dict:
    """Keyword arguments for the result's Labels layer."""
    factor = np.asarray(image.factors[level], dtype=float)
    kwargs = {
        "name": output_name(image.name),
        "scale": tuple((np.asarray(image.scale) * factor).tolist()),
        "translate": image.translate,
    }
    kwargs.update(image.extra_transform)
    return kwargs


def empty_seeds_kwargs(image: ImageInput) -> Tuple[np.ndarray, dict]:
    """An empty int32 seeds array and layer kwargs matching ``image``."""
    data = np.zeros(image.shape, dtype=np.int32)
    kwargs = {
        "name": f"{image.name} seeds",
        "scale": image.scale,
        "translate": image.translate,
    }
    kwargs.update(image.extra_transform)
    return data, kwargs


def array_digest(array: Any) -> str:
    """A content checksum used to notice edits to an output layer."""
    array = np.ascontiguousarray(np.asarray(array))
    digest = hashlib.blake2b(digest_size=16)
    digest.update(str((array.shape, array.dtype.str)).encode())
    digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()
