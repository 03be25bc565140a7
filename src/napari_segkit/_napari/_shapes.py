"""A Shapes layer's rectangles as boxes in an image's pixel frame (no Qt).

Each shape's vertices go data -> world (the Shapes layer's own scale,
translate and transform) -> the image layer's data coordinates, so a
Shapes layer need not share the image's grid.  Axes the shapes layer lacks
(a 2-D layer drawn over a 3-D or time-series image) take the position the
viewer shows.  A pixel belongs to a box when its centre lies inside it.

* rectangles -> boxes; polygons and ellipses -> their bounding box, with a
  warning; lines and paths -> :class:`~napari_segkit.InputError` naming the
  shape's index;
* a flat extent along the depth axis of a 3-D cut (a rectangle drawn on one
  plane) becomes ``depth`` planes centred on that plane; a flat extent
  along a leading (time) axis selects that one frame.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Sequence

import numpy as np

from .._errors import InputError
from ._layers import ImageInput, _is_layer_type, unwrap

__all__ = ["shapes_to_boxes"]

_BOX_TYPES = ("rectangle",)
_BOUNDED_TYPES = ("polygon", "ellipse")
#: vertices within this many pixels along an axis count as one plane
_FLAT = 0.5


def _to_image_data(points_world: np.ndarray, image_layer: Any, image: ImageInput,
                   world_point: Sequence[float]) -> np.ndarray:
    """(n, d_world) world points -> (n, image.ndim) image data coordinates (channel axis dropped)."""
    n_image = int(image_layer.ndim)
    full = np.zeros((len(points_world), max(n_image, points_world.shape[1])), dtype=float)
    base = np.asarray(tuple(world_point)[-full.shape[1]:], dtype=float)
    full[:, full.shape[1] - len(base):] = base
    full[:, -points_world.shape[1]:] = points_world
    out = np.array([image_layer.world_to_data(tuple(p[-n_image:])) for p in full], dtype=float)
    if image.channel_axis is not None and not getattr(image_layer, "rgb", False):
        out = np.delete(out, image.channel_axis, axis=1)
    return out


def shapes_to_boxes(
    shapes_layer: Any,
    image_layer: Any,
    image: ImageInput,
    world_point: Sequence[float],
    *,
    spatial_dims: int,
    depth: int = 1,
) -> np.ndarray:
    """Boxes ``(K, 2, image.ndim)`` of int (min inclusive, max exclusive) from a Shapes layer.

    Parameters
    ----------
    shapes_layer, image_layer : napari layers
    image : ImageInput
        ``image_layer`` described for the core (its channel axis).
    world_point : sequence of float
        ``viewer.dims.point``: fills axes the Shapes layer does not have.
    spatial_dims : {2, 3}
        Spatial axes of the cut; with 3 the third-last axis is the depth axis.
    depth : int
        Planes a flat shape spans along the depth axis, centred on its plane.

    Raises
    ------
    InputError
        Not a Shapes layer, no shapes, a line or path, or a shape that covers
        no pixel of the image or fewer than 9 pixels.
    """
    layer = unwrap(shapes_layer)
    if not _is_layer_type(layer, "shapes"):
        raise InputError(f"the boxes must be a Shapes layer; got {type(layer).__name__}")
    if len(layer.data) == 0:
        raise InputError(f"shapes layer {layer.name!r} has no shapes: draw a rectangle around each object")
    depth = int(depth)
    if depth < 1:
        raise InputError(f"depth must be at least 1 plane; got {depth}")
    shape = np.asarray(image.shape)
    depth_axis = image.ndim - 3 if spatial_dims == 3 else None
    boxes, bounded, outside = [], [], []
    for index, (vertices, kind) in enumerate(zip(layer.data, layer.shape_type)):
        if kind not in _BOX_TYPES + _BOUNDED_TYPES:
            raise InputError(
                f"shape {index} of {layer.name!r} is a {kind}: GrabCut needs rectangles "
                "(polygons and ellipses are used by their bounding box); delete it or draw a rectangle"
            )
        if kind in _BOUNDED_TYPES:
            bounded.append(index)
        world = np.array([layer.data_to_world(tuple(v)) for v in np.asarray(vertices, float)])
        coords = _to_image_data(world, unwrap(image_layer), image, world_point)
        lo, hi = coords.min(axis=0), coords.max(axis=0)
        box = np.zeros((2, image.ndim), dtype=np.int64)
        drawn = np.ones(image.ndim, dtype=bool)  # axes the shape spans (not filled in from its plane)
        for axis in range(image.ndim):
            if hi[axis] - lo[axis] < _FLAT:
                drawn[axis] = False
                centre = int(round((lo[axis] + hi[axis]) / 2))
                span = depth if axis == depth_axis else 1
                start = centre - span // 2
                box[:, axis] = start, start + span
            else:
                box[:, axis] = math.ceil(lo[axis] - 1e-9), math.floor(hi[axis] + 1e-9) + 1
        clipped = np.clip(box, 0, shape)
        if np.any(clipped[1] <= clipped[0]):
            raise InputError(
                f"shape {index} of {layer.name!r} lies outside image {image.name!r} "
                f"(pixel box {box[0].tolist()} to {box[1].tolist()}, image shape {tuple(image.shape)})"
            )
        if int(np.prod(clipped[1, -spatial_dims:] - clipped[0, -spatial_dims:])) < 9:
            raise InputError(
                f"shape {index} of {layer.name!r} covers fewer than 9 pixels of image "
                f"{image.name!r}; draw a larger rectangle"
            )
        if np.any((clipped != box)[:, drawn]):
            outside.append(index)
        boxes.append(clipped)
    if outside:
        listed = ", ".join(str(i) for i in outside[:10]) + (" ..." if len(outside) > 10 else "")
        warnings.warn(
            f"{len(outside)} shape(s) of {layer.name!r} extend beyond image {image.name!r} "
            f"(shape {tuple(image.shape)}) and were clipped to it (shape index {listed})",
            UserWarning, stacklevel=2,
        )
    if bounded:
        warnings.warn(
            f"shapes {bounded} of {layer.name!r} are not rectangles: their bounding boxes are used",
            UserWarning, stacklevel=2,
        )
    return np.stack(boxes)
