"""What every prediction checks and derives first: the model, the image's axes, spacing factors, tiles, halo."""

from __future__ import annotations

import math
import os
from typing import Any, Optional, Sequence, Tuple

import numpy as np

from .._errors import InputError
from .._validation import as_image_array, check_channel_axis, check_finite, check_resampled_size, check_spacing
from .._validation import lazily_finite
from .postprocess import _is_lazy

__all__ = ["SPACING_TOLERANCE"]

SPACING_TOLERANCE = 0.01


def _as_model(model: Any):
    from .model import Model, load_model

    if isinstance(model, Model):
        return model
    if model is None:
        raise InputError("model is None; pass a Model or the path of a model directory")
    if not isinstance(model, (str, os.PathLike)):
        raise InputError(
            f"model must be a Model or the path of a model directory, got {model!r:.80} "
            f"(a {type(model).__name__})"
        )
    return load_model(model)


def _prepare_image(image: Any, model, channel_axis: Optional[int]):
    """Image -> (*lead, C, *spatial) float-able array (numpy or dask) and its lead shape."""
    array = as_image_array(image, lazy=True)
    channel_axis = check_channel_axis(channel_axis, array.ndim)
    d = model.spatial_dims
    if channel_axis is None and array.ndim > d and array.shape[-1] == 1 and model.in_channels == 1:
        channel_axis = array.ndim - 1  # (..., Y, X, 1): a singleton channel, not a spatial axis
    n_plain = array.ndim - (channel_axis is not None)
    if n_plain < d:
        raise InputError(
            f"the model is {d}-D but image has {n_plain} non-channel dimension(s) (shape {tuple(array.shape)})"
        )
    if n_plain - d > 2:
        raise InputError(
            f"image has shape {tuple(array.shape)}: {n_plain - d} leading axes before the {d} spatial "
            "ones (at most 2 are supported)"
        )
    channels = 1 if channel_axis is None else int(array.shape[channel_axis])
    if channels != model.in_channels:
        hint = "; pass channel_axis to say which axis holds the channels" if channel_axis is None else ""
        raise InputError(
            f"the model expects {model.in_channels} input channel(s), image has {channels} "
            f"(shape {tuple(array.shape)}, channel_axis={channel_axis}){hint}"
        )
    lazy = _is_lazy(array)
    if lazy:
        array = lazily_finite(array, name="image")
    if channel_axis is None:
        array = array[..., None]
        channel_axis = array.ndim - 1
    lead_ndim = n_plain - d
    if lazy:
        import dask.array as da

        array = da.moveaxis(array, channel_axis, lead_ndim)
    else:
        array = np.moveaxis(array, channel_axis, lead_ndim)
        check_finite(array, name="image")
    return array, tuple(int(s) for s in array.shape[:lead_ndim]), lazy


def _spacing_factors(model, spacing, shape) -> Optional[Tuple[float, ...]]:
    if spacing is None:
        return None
    d = model.spatial_dims
    given = np.size(spacing) if np.ndim(spacing) == 1 else None
    if given is not None and given != d:
        hint = (
            f"a 2-D model segments a stack plane by plane: pass the in-plane spacing (Y, X), "
            f"e.g. spacing={tuple(spacing)[-2:]}"
            if d == 2 and given == 3 else f"pass {d} values ({'Z, Y, X' if d == 3 else 'Y, X'})"
        )
        raise InputError(f"spacing has {given} values but the model is {d}-D; {hint}")
    spacing = check_spacing(spacing, d)
    factors = tuple(s / v for s, v in zip(spacing, model.voxel_size))
    if all(abs(f - 1.0) <= SPACING_TOLERANCE for f in factors):
        return None
    check_resampled_size(shape, factors, spacing=spacing, voxel_size=model.voxel_size,
                         n_values=model.in_channels + len(model.classes))
    return factors


def _auto_tile(model, spatial: Sequence[int], budget: int, halo: int) -> Tuple[int, ...]:
    """The whole image when its activations fit ``budget`` bytes, else the largest tile that does.

    A forward pass keeps about ``48 * width`` bytes per voxel (measured peak:
    380 to 1060 bytes for widths 8 to 32, against 384 to 1536 estimated).
    The tile includes ``halo`` on each side; halos are clipped at the image's
    edges, so an image that fits is one tile.
    """
    width = int(model._options().get("width", 32))
    bytes_per_voxel = 4 * width * 12
    align = model.align
    padded = tuple(-(-s // align) * align for s in spatial)
    if math.prod(padded) * bytes_per_voxel <= budget:
        return tuple(p + 2 * halo for p in padded)
    side = int((budget / bytes_per_voxel) ** (1.0 / len(spatial)))
    core = max(align, (side - 2 * halo) // align * align)
    return tuple(min(core, p) + 2 * halo for p in padded)


def _check_tile_arg(tile_shape, d) -> Optional[Tuple[int, ...]]:
    if tile_shape is None:
        return None
    if isinstance(tile_shape, (int, np.integer)):
        tile_shape = (int(tile_shape),) * d
    try:
        tile_shape = tuple(int(t) for t in tile_shape)
    except TypeError:
        raise InputError(f"tile_shape must be an integer or {d} integers, got {tile_shape!r}") from None
    if len(tile_shape) != d or any(t < 1 for t in tile_shape):
        raise InputError(f"tile_shape must be {d} positive integers, got {tile_shape!r}")
    return tile_shape


def _prediction_inputs(image, model, channel_axis, spacing, tile_shape, halo) -> tuple:
    """What every tiled prediction checks first.

    Returns ``(array, lead, lazy, d, spatial, factors, tile_arg, halo)``:
    the image with its leading axes and laziness (:func:`_prepare_image`),
    the model's spatial dimensions and the image's spatial shape, the
    spacing factors, the checked tile shape, and the halo (the model's by
    default) rounded up to the model's alignment.
    """
    array, lead, lazy = _prepare_image(image, model, channel_axis)
    d = model.spatial_dims
    spatial = tuple(int(s) for s in array.shape[-d:])
    factors = _spacing_factors(model, spacing, spatial)
    tile_arg = _check_tile_arg(tile_shape, d)
    halo_value = model.halo if halo is None else int(halo)
    if halo_value < 0:
        raise InputError(f"halo must be non-negative, got {halo!r}")
    halo_value = -(-halo_value // model.align) * model.align
    return array, lead, lazy, d, spatial, factors, tile_arg, halo_value
