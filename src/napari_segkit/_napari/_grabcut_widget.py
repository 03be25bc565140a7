"""The "GrabCut" dock widget: rectangles in a Shapes layer -> one object each.

A :class:`~._method_widget.MethodWidget`.  Boxes come from a Shapes layer
(:func:`~._shapes.shapes_to_boxes`), scribbles from an optional Labels layer
(1 = object, 2 = background); the algorithm is :func:`napari_segkit.grabcut`.
Objects already cut with the same box, parameters, scribbles and image are
kept in a per-widget cache, so adding a box re-cuts only that box.  With
"Add to layer" the new objects go into a chosen Labels layer on return, only
where it is 0 and with ids past its largest; the worker never sees that layer.
"""

from __future__ import annotations

import warnings
import weakref
from typing import Any, Dict, Optional

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, FloatSpinBox, SpinBox
from napari.utils.notifications import show_info, show_warning
from scipy import ndimage as ndi

from .._errors import InputError
from ..grabcut import grabcut
from ._layers import ImageInput, array_digest, labels_snapshot, layer_choices, output_layer_kwargs, unwrap
from ._method_widget import LayerInput, MethodWidget
from ._shapes import shapes_to_boxes

__all__ = ["GrabCutWidget"]

CONNECTIVITY_CHOICES = [("faces (4 in 2-D, 6 in 3-D)", 1), ("all (8 in 2-D, 26 in 3-D)", "full")]


def _image_key(image: ImageInput) -> tuple:
    """Identity of the image's pixels (a checksum for in-memory data; read in the worker)."""
    data = image.levels[0]
    if isinstance(data, np.ndarray):
        return ("numpy", array_digest(data))
    return (type(data).__name__, id(data), getattr(data, "name", None), tuple(data.shape))


def _seeds_for(seeds: Optional[np.ndarray], boxes: np.ndarray) -> Optional[np.ndarray]:
    """Scribbles for cutting ``boxes`` alone: 2s everywhere, 1-strokes that touch one of them."""
    if seeds is None:
        return None
    out = np.where(seeds == 2, 2, 0).astype(np.int32)
    strokes, _ = ndi.label(seeds == 1)
    touching = set()
    for box in boxes:
        region = tuple(slice(int(a), int(b)) for a, b in zip(box[0], box[1]))
        touching.update(np.unique(strokes[region]).tolist())
    touching.discard(0)
    if touching:
        out[np.isin(strokes, list(touching))] = 1
    return out


class GrabCutWidget(MethodWidget):
    """GrabCut of each rectangle of a Shapes layer, with optional scribbles."""

    method_name = "grabcut"
    run_verb = "cutting"
    cancel_note = "cancelling: stops after the current graph cut"
    idle_hint = "Draw a rectangle around each object in a Shapes layer, then Run."
    layer_inputs = (
        LayerInput("boxes", "Boxes", "shapes", prefer="box",
                   missing="choose a Shapes layer with a rectangle around each object"),
        LayerInput("scribbles", "Scribbles", "labels", prefer="scribble", optional=True),
    )

    def create_parameters(self):
        self._cache: Dict[str, Any] = {"context": None, "objects": {}}
        self._target_ref: Optional["weakref.ref"] = None
        self._depth = SpinBox(
            label="Depth (planes)", value=9, min=1, max=10_000,
            tooltip="3-D cut: a rectangle drawn on one plane spans this many planes, centred on it.",
        )
        self._per_plane = CheckBox(text="2D per plane", tooltip="Cut each plane (time point) on its own.")
        self._auto_smoothness = CheckBox(
            text="Auto smoothness", value=True,
            tooltip="Boundary weight scaled to each object's size (0.35 per pixel of box scale)",
        )
        self._smoothness = FloatSpinBox(label="Smoothness", value=10.0, min=0.0, max=10_000.0, step=1.0,
                                        enabled=False)
        self._auto_smoothness.changed.connect(lambda value: setattr(self._smoothness, "enabled", not value))
        self._components = SpinBox(label="Components", value=5, min=1, max=20,
                                   tooltip="Gaussians per colour model")
        self._iterations = SpinBox(label="Iterations", value=10, min=1, max=100)
        self._connectivity = ComboBox(label="Neighbours", choices=CONNECTIVITY_CHOICES, value=1)
        self._add = CheckBox(text="Add to layer",
                             tooltip="Append the objects to a Labels layer (only where it is 0)")
        self._target = ComboBox(label="Target", nullable=True, enabled=False,
                                choices=lambda _w=None: layer_choices(self._viewer, "labels"))
        self._add.changed.connect(lambda value: setattr(self._target, "enabled", bool(value)))
        return [self._channel_axis, self._per_plane, self._depth, self._auto_smoothness, self._smoothness,
                self._components,
                self._iterations, self._connectivity, self._add, self._target]

    def _spatial_dims(self, image: ImageInput) -> int:
        if image.ndim == 2 or (self._per_plane.enabled and self._per_plane.value):
            return 2
        return 3

    def image_changed(self) -> None:
        layer = self.image_layer
        ndim = layer.ndim if layer is not None else 2
        if layer is not None and not getattr(layer, "rgb", False) and self._channel_axis.value != "none":
            ndim -= 1
        self._per_plane.enabled = ndim >= 3
        self._depth.enabled = ndim >= 3

    # -------------------------------------------------------------------- run
    def prepare(self, image: ImageInput, layers: Dict[str, Any]):
        spatial_dims = self._spatial_dims(image)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            boxes = shapes_to_boxes(layers["boxes"], self.image_layer, image, self._viewer.dims.point,
                                    spatial_dims=spatial_dims, depth=int(self._depth.value))
        for warning in caught:
            show_warning(str(warning.message))
        seeds = None
        if layers["scribbles"] is not None:
            seeds = labels_snapshot(layers["scribbles"], image, role="scribbles")
        self._target_ref = None
        if self._add.value:
            target = self._target.value
            if target is None:
                raise InputError("'Add to layer' is ticked: choose the Labels layer to add to")
            if tuple(target.data.shape) != image.shape:
                raise InputError(f"labels {target.name!r} shape {tuple(target.data.shape)} does not "
                                 f"match image {image.name!r} shape {image.shape}")
            self._target_ref = weakref.ref(unwrap(target))
        options = dict(spacing=image.spacing(spatial_dims), channel_axis=image.channel_axis,
                       spatial_dims=spatial_dims, n_components=int(self._components.value),
                       max_iter=int(self._iterations.value), smoothness="auto" if self._auto_smoothness.value else float(self._smoothness.value),
                       connectivity=self._connectivity.value)
        if options["connectivity"] == "full":
            options["connectivity"] = spatial_dims
        params = (tuple(sorted((k, str(v)) for k, v in options.items())), image.shape,
                  None if seeds is None else array_digest(seeds))
        cache, add = self._cache, self._target_ref is not None
        data = image.levels[0][..., :3] if image.drop_alpha else image.levels[0]

        def compute(progress):
            context = (params, _image_key(image))
            if cache["context"] != context:
                cache["context"], cache["objects"] = context, {}
            objects = cache["objects"]
            keys = [tuple(map(tuple, box.tolist())) for box in boxes]
            todo = [i for i, key in enumerate(keys) if key not in objects]
            progress(0.0, f"{len(todo)} of {len(keys)} boxes to cut")
            if todo:
                new = boxes[todo]
                labels = grabcut(data, new, seeds=_seeds_for(seeds, new), rng=0, progress=progress,
                                 **options)
                found = ndi.find_objects(labels, max_label=len(todo))
                for k, (i, where) in enumerate(zip(todo, found)):
                    objects[keys[i]] = None if where is None else (where, labels[where] == k + 1)
            out = np.zeros(image.shape, dtype=np.int32)
            for i, key in enumerate(keys):
                if objects[key] is not None:
                    where, mask = objects[key]
                    region = out[where]
                    region[mask & (region == 0)] = i + 1
            return {"labels": out} if add else out

        return compute

    def result_ready(self, result, layers) -> None:
        if not isinstance(result.value, dict):
            return
        labels = result.value["labels"]
        target = self._target_ref() if self._target_ref is not None else None
        if (target is None or target not in self._viewer.layers
                or tuple(target.data.shape) != labels.shape):
            kwargs = output_layer_kwargs(self._job_image, method=self.method_name)
            layer = self._viewer.add_labels(labels, **kwargs)
            show_info(f"the target layer changed or was removed during the run; objects added as {layer.name!r}")
            self._set_status(f"done -> {layer.name!r}")
            return
        current = np.asarray(target.data)
        offset = int(current.max(initial=0))
        place = (labels > 0) & (current == 0)
        values = labels[place].astype(np.int64) + offset
        if values.size and values.max() > np.iinfo(current.dtype).max:
            self._fail(f"labels {target.name!r} ({current.dtype}) cannot hold ids up to {values.max()}")
            return
        target.data_setitem(np.nonzero(place), values.astype(current.dtype))
        n = len(np.unique(values))
        self._set_status(f"done: {n} object(s) added to {target.name!r} (ids from {offset + 1})")
