"""The "Clicks" dock widget: positive/negative points -> objects in a Labels layer.

A :class:`~._method_widget.MethodWidget`.  Points come from a Points layer of
positive clicks and an optional one of negative clicks (or one layer whose
``positive`` feature says which is which), converted from world to the image's
pixel grid; the algorithm is :func:`napari_segkit.segment_clicks`, run off the
GUI thread.  Positive clicks are replayed in the order they were added, then
the negative ones, each correcting the object it falls on or near.
"""

from __future__ import annotations

from typing import Any, Dict, Tuple

import numpy as np
from magicgui.widgets import SpinBox

from .._errors import InputError
from ..prompts import segment_clicks
from ._layers import ImageInput, unwrap
from ._method_widget import LayerInput, MethodWidget
from ._shapes import _to_image_data

__all__ = ["ClicksWidget", "points_to_clicks"]


def points_to_clicks(layer: Any, image_layer: Any, image: ImageInput, world_point) -> Tuple[np.ndarray, np.ndarray]:
    """A Points layer's points as (K, d) pixel coordinates of the image, and their signs.

    Signs come from the layer's ``positive`` feature when it has one (True /
    1 = object), otherwise every point is positive.
    """
    layer = unwrap(layer)
    data = np.asarray(layer.data, dtype=float)
    if data.size == 0:
        return np.zeros((0, image.ndim)), np.zeros(0, bool)
    world = np.array([layer.data_to_world(tuple(p)) for p in data])
    coords = _to_image_data(world, image_layer, image, world_point)
    signs = np.ones(len(coords), dtype=bool)
    features = getattr(layer, "features", None)
    if features is not None and "positive" in getattr(features, "columns", ()):
        signs = np.asarray(features["positive"]).astype(bool)
    return coords, signs


class ClicksWidget(MethodWidget):
    """Objects from positive and negative clicks (no boxes needed)."""

    method_name = "clicks"
    run_verb = "segmenting"
    cancel_note = "cancelling: stops after the current click"
    idle_hint = "Add a point on each object (Points layer), negative points to correct, then Run."
    layer_inputs = (
        LayerInput("positive", "Positive points", "points", prefer="pos",
                   missing="choose a Points layer with a point on each object"),
        LayerInput("negative", "Negative points", "points", prefer="neg", optional=True),
    )

    def create_parameters(self):
        self._components = SpinBox(label="Components", value=3, min=1, max=20,
                                   tooltip="Gaussians per colour model")
        return [self._channel_axis, self._components]

    def prepare(self, image: ImageInput, layers: Dict[str, Any]):
        if image.ndim not in (2, 3):
            raise InputError(
                f"image {image.name!r} has {image.ndim} non-channel axes: clicks work on one 2-D image "
                "or 3-D volume"
            )
        point = self._viewer.dims.point
        coords, signs = points_to_clicks(layers["positive"], self.image_layer, image, point)
        if layers["negative"] is not None:
            extra, _ = points_to_clicks(layers["negative"], self.image_layer, image, point)
            coords = np.concatenate([coords, extra])
            signs = np.concatenate([signs, np.zeros(len(extra), bool)])
        if not signs.any():
            raise InputError("no positive points: add a point on each object to segment")
        inside = np.all((coords >= -0.5) & (coords < np.asarray(image.shape) - 0.5), axis=1)
        if not inside.all():
            raise InputError(f"{int((~inside).sum())} point(s) lie outside image {image.name!r}; delete them")
        order = np.argsort(~signs, kind="stable")  # positive clicks first, in the order added
        coords, signs = coords[order], signs[order]
        data = image.levels[0][..., :3] if image.drop_alpha else image.levels[0]
        options = dict(spacing=image.spacing(image.ndim), channel_axis=image.channel_axis,
                       n_components=int(self._components.value), rng=0)

        def compute(progress):
            progress(0.0, f"{len(coords)} click(s)")
            return segment_clicks(data, coords, positive=signs, progress=progress, **options)

        return compute
