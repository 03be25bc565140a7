"""Result layers of one dock widget: add new ones, re-use only its own unedited ones.

A re-run replaces the layer this widget made for the same image and output
(kind + suffix) only while that layer still holds exactly what the widget
put there (same data object, shape, dtype, grid and checksum) and is not an
input of the run.  Otherwise the result goes to a new layer, so the user's
strokes in an output layer, or a layer of theirs, are never overwritten.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from ._jobs import LayerOutput
from ._layers import ImageInput, array_digest, output_layer_kwargs, unwrap

__all__ = ["OutputLayers"]


@dataclass
class _Record:
    """A layer this widget made, and what it put there."""

    image: "weakref.ref"
    key: Tuple[str, str]
    layer: "weakref.ref"
    data: "weakref.ref"
    digest: str


def _layer_type(kind: str):
    from napari.layers import Image, Labels

    return Labels if kind == "labels" else Image


class OutputLayers:
    """The output layers one widget made in ``viewer``, named ``"<image> <method>[ <suffix>]"``."""

    def __init__(self, viewer: Any, method: str) -> None:
        self._viewer = viewer
        self.method = method
        self._records: List[_Record] = []

    def _record(self, image_layer: Any, key: Tuple[str, str]) -> Optional[_Record]:
        self._records = [r for r in self._records if r.image() is not None and r.layer() is not None]
        return next((r for r in self._records if r.image() is image_layer and r.key == key), None)

    def _reusable(self, record: Optional[_Record], output: LayerOutput, shape, kwargs: dict,
                  protected: Sequence[Any]):
        """The recorded layer if it may be overwritten with ``output``, else None."""
        layer = record.layer() if record is not None else None
        if layer is None or layer not in self._viewer.layers or any(layer is p for p in protected):
            return None
        data = layer.data
        if record.data() is not data or getattr(layer, "multiscale", False):
            return None  # data replaced
        if not isinstance(layer, _layer_type(output.kind)):
            return None
        if tuple(data.shape) != tuple(shape) or data.dtype != output.data.dtype:
            return None
        if not np.allclose(layer.scale, kwargs["scale"]) or not np.allclose(
            layer.translate, kwargs["translate"]
        ):
            return None
        if array_digest(data) != record.digest:
            return None  # painted or otherwise edited since
        return layer

    def write(self, output: LayerOutput, image: ImageInput, image_layer: Optional[Any],
              protected: Sequence[Any] = ()) -> Tuple[Any, bool]:
        """Show ``output``; return the layer and whether ``image_layer`` is still in the viewer.

        ``image`` is the image as captured when the job started (its grid is
        used even if the layer changed or went since); ``protected`` are the
        job's input layers, never overwritten.
        """
        data = output.data
        if output.plane:
            shape = image.level_shape(output.level)
            if tuple(shape[len(output.plane):]) != tuple(data.shape):
                raise ValueError(
                    f"output of shape {data.shape} does not fit plane {output.plane} of {shape}"
                )
        else:
            shape = data.shape
        kwargs = output_layer_kwargs(image, output.level, method=self.method,
                                     suffix=output.suffix, ndim=len(shape))
        key = (output.kind, output.suffix)
        present = image_layer is not None and image_layer in self._viewer.layers
        record = self._record(image_layer, key) if present else None
        layer = self._reusable(record, output, shape, kwargs, protected)
        if output.plane:
            full = np.array(layer.data) if layer is not None else np.zeros(shape, dtype=data.dtype)
            full[output.plane] = data
            data = full
        if layer is not None:
            layer.data = data
        else:
            kwargs.update(output.layer_kwargs)
            add = self._viewer.add_labels if output.kind == "labels" else self._viewer.add_image
            layer = unwrap(add(data, **kwargs))
        if layer.data is output.data and output.digest is not None:
            digest = output.digest
        else:
            digest = array_digest(layer.data)
        if present:
            if record is not None:
                self._records.remove(record)
            self._records.append(_Record(weakref.ref(image_layer), key, weakref.ref(layer),
                                         weakref.ref(layer.data), digest))
        return layer, present

    def write_all(self, outputs: Sequence[LayerOutput], image: ImageInput, image_layer: Optional[Any],
                  protected: Sequence[Any] = ()) -> Tuple[List[Any], bool]:
        """:meth:`write` each output; return the layers and whether the image is still there."""
        written, present = [], image_layer is not None and image_layer in self._viewer.layers
        for output in outputs:
            layer, present = self.write(output, image, image_layer, protected)
            written.append(layer)
        return written, present
