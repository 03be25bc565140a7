"""napari layers <-> arrays for the dock widgets.

Everything here runs without a window: it reads layer attributes (data, scale,
translate, rgb, multiscale) and turns them into what the headless core takes,
and describes the layer a result should become.  The core itself never sees
a layer.

Rules kept here:

* An image layer is never read whole before the job's memory check; dask and
  zarr data stay lazy until :func:`load_level` is called (in the worker).
* A user layer is never modified; labels inputs are copied when a job starts.
* Output layers sit exactly on the image: same scale, translate and any
  rotate/shear/affine, with the scale multiplied by the pyramid level's
  downsample factor when a coarser level was used.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from .._errors import InputError
from ._image_input import (  # noqa: F401 (re-exported: the widgets' one import place)
    CHANNEL_CHOICES,
    ImageInput,
    _describe_layer,
    _extra_transform,
    _fmt,
    _is_layer_type,
    current_plane,
    finest_level,
    image_input,
    load_level,
    unwrap,
)

__all__ = [
    "CHANNEL_CHOICES",
    "ImageInput",
    "LayerInput",
    "array_digest",
    "current_plane",
    "empty_labels_kwargs",
    "empty_seeds_kwargs",
    "finest_level",
    "image_input",
    "labels_snapshot",
    "layer_choices",
    "load_level",
    "output_layer_kwargs",
    "output_name",
    "seeds_snapshot",
    "unwrap",
]

@dataclass(frozen=True)
class LayerInput:
    """An input layer besides the image, shown as a combo box under it.

    Attributes
    ----------
    name : str
        Key in the ``layers`` dict given to ``MethodWidget.prepare``;
        ``widget.layer(name)``.
    label : str
        The combo box's label ("Seeds", "Boxes").
    kind : str
        napari layer type accepted: "labels", "shapes", "points" or "image".
    prefer : str
        Layers whose name contains this (any case) are offered first.
    optional : bool
        Whether "no layer" is a valid choice.
    missing : str
        Error shown when a required layer is not chosen.
    """

    name: str
    label: str
    kind: str = "labels"
    prefer: str = ""
    optional: bool = False
    missing: str = ""


def layer_choices(viewer: Any, kind: str, prefer: str = "") -> List[Tuple[str, Any]]:
    """``(name, layer)`` for the viewer's layers of type ``kind``; names containing ``prefer`` first."""
    layers = [unwrap(layer) for layer in viewer.layers]
    layers = [layer for layer in layers if _is_layer_type(layer, kind)]
    if prefer:
        layers.sort(key=lambda layer: prefer.lower() not in layer.name.lower())
    return [(layer.name, layer) for layer in layers]


def _same(a: Sequence[float], b: Sequence[float]) -> bool:
    return len(a) == len(b) and bool(np.allclose(a, b, rtol=1e-6, atol=1e-9))


def labels_snapshot(
    layer: Any, image: ImageInput, *, role: str = "labels", hint: str = ""
) -> np.ndarray:
    """Copy a Labels layer's data after checking it lies on the image's grid.

    The copy is what the job uses, so painting during the job changes
    nothing.  ``role`` names the input in messages ("seeds", "training
    labels"); ``hint`` is appended to the shape-mismatch message.

    Raises
    ------
    InputError
        Not a Labels layer, multiscale, a shape other than the image's
        non-channel shape, or a different scale/translate/transform.
    """
    if not _is_layer_type(layer, "labels"):
        raise InputError(
            f"the {role} must be a Labels layer; got {_describe_layer(layer)} "
            "(accepted: napari.layers.Labels)"
        )
    if layer.multiscale:
        raise InputError(
            f"{role} layer {layer.name!r} is multiscale; use a single-scale Labels layer"
            + (f" ({hint})" if hint else "")
        )
    shape = tuple(int(s) for s in layer.data.shape)
    if shape != image.shape:
        raise InputError(
            f"labels {layer.name!r} shape {shape} does not match image {image.name!r} "
            f"shape {image.shape} (without its channel axis)" + (f"; {hint}" if hint else "")
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


def seeds_snapshot(layer: Any, image: ImageInput) -> np.ndarray:
    """:func:`labels_snapshot` for a seeds layer (the graph-cut wording)."""
    return labels_snapshot(layer, image, role="seeds", hint="use 'New seeds layer' to make a matching one")


def output_name(image_name: str, method: str, suffix: str = "") -> str:
    """``"<image> <method>[ <suffix>]"``."""
    return " ".join(part for part in (image_name, method, suffix) if part)


def output_layer_kwargs(
    image: ImageInput, level: int = 0, *, method: str, suffix: str = "", ndim: Optional[int] = None
) -> dict:
    """Keyword arguments for a result layer on ``image``'s grid at ``level``.

    ``ndim`` above the image's non-channel ndim adds leading axes of scale 1
    (a rotate/shear/affine then cannot be carried over and is dropped).
    """
    factor = np.asarray(image.factors[level], dtype=float)
    scale = tuple((np.asarray(image.scale) * factor).tolist())
    translate = tuple(image.translate)
    extra = int(ndim) - image.ndim if ndim is not None else 0
    kwargs = {
        "name": output_name(image.name, method, suffix),
        "scale": (1.0,) * extra + scale,
        "translate": (0.0,) * extra + translate,
    }
    if not extra:
        kwargs.update(image.extra_transform)
    return kwargs


def empty_labels_kwargs(image: ImageInput, role: str = "seeds") -> Tuple[np.ndarray, dict]:
    """An empty int32 labels array and layer kwargs (``"<image> <role>"``) matching ``image``."""
    data = np.zeros(image.shape, dtype=np.int32)
    kwargs = {
        "name": f"{image.name} {role}",
        "scale": image.scale,
        "translate": image.translate,
    }
    kwargs.update(image.extra_transform)
    return data, kwargs


def empty_seeds_kwargs(image: ImageInput) -> Tuple[np.ndarray, dict]:
    """An empty int32 seeds array and layer kwargs matching ``image``."""
    return empty_labels_kwargs(image, "seeds")


def array_digest(array: Any) -> str:
    """A content checksum used to notice edits to an output layer."""
    array = np.ascontiguousarray(np.asarray(array))
    digest = hashlib.blake2b(digest_size=16)
    digest.update(str((array.shape, array.dtype.str)).encode())
    digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()
