"""An Image layer as the core sees it: data levels, channels, grid.

:func:`image_input` describes a layer without reading its pixels; only
:func:`load_level` (called in the worker, after any memory check) reads one
pyramid level.  Lazy dask/zarr data stays lazy until then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence, Tuple

import numpy as np

from .._errors import InputError

__all__ = [
    "CHANNEL_CHOICES",
    "ImageInput",
    "current_plane",
    "finest_level",
    "image_input",
    "load_level",
    "unwrap",
]

#: channel-axis choices offered for non-RGB images: label -> axis
CHANNEL_CHOICES = {"none": None, "first axis": 0, "last axis": -1}


def _fmt(values: Sequence[float]) -> str:
    return "(" + ", ".join(f"{float(v):g}" for v in values) + ")"


def unwrap(obj: Any) -> Any:
    """The object behind napari's PublicOnlyProxy (plugins get proxied layers).

    Records that keep weak references and compare layers by identity need
    the layers themselves, not the short-lived proxies.
    """
    return getattr(obj, "__wrapped__", obj)


def _is_layer_type(layer: Any, kind: str) -> bool:
    """Whether ``layer`` is a napari layer of type ``kind`` ('image', 'labels', ...)."""
    import napari.layers

    return isinstance(layer, getattr(napari.layers, kind.capitalize()))


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


def finest_level(image: ImageInput, fits: Callable[[Tuple[int, ...]], bool]) -> Optional[int]:
    """The finest pyramid level whose non-channel shape ``fits``, or None (reads no data)."""
    for level in range(image.n_levels):
        if fits(image.level_shape(level)):
            return level
    return None


def current_plane(
    layer: Any, image: ImageInput, world_point: Sequence[float], spatial_dims: int = 2
) -> Tuple[int, ...]:
    """Indices of the leading (non-spatial) axes at a viewer position.

    ``world_point`` is ``viewer.dims.point``; the result indexes the image's
    non-channel axes before its last ``spatial_dims`` ones (capture it
    when the job starts).
    """
    n_lead = image.ndim - spatial_dims
    if n_lead <= 0:
        return ()
    point = np.asarray(layer.world_to_data(tuple(world_point)[-layer.ndim:]), dtype=float)
    if image.channel_axis is not None and not getattr(layer, "rgb", False):
        point = np.delete(point, image.channel_axis)
    return tuple(
        int(min(max(round(p), 0), n - 1)) for p, n in zip(point[:n_lead], image.shape[:n_lead])
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
