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
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from ._handover import add_layer
from ._jobs import LayerOutput
from ._layers import ImageInput, array_digest, output_layer_kwargs, unwrap

__all__ = ["OutputLayers"]


class _EditFlag:
    """An event callback that marks a layer as edited."""

    def __init__(self, edited: set, key: int) -> None:
        self._edited, self._key = edited, key

    def __call__(self, _event=None) -> None:
        self._edited.add(self._key)


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
    """The output layers one widget made in ``viewer``, named ``"<image> <method>[ <suffix>]"``.

    Checking that a layer is unedited needs a checksum of its data (about
    0.1 s for 20 MB).  :meth:`watch` (when a run starts) lists the arrays to
    checksum off the GUI thread (the job does it when its computation ends)
    and watches those layers' paint and data events from then on; at write
    time a checksum from the job is used only if no such event came.
    """

    def __init__(self, viewer: Any, method: str) -> None:
        self._viewer = viewer
        self.method = method
        self._records: List[_Record] = []
        self._precomputed: dict = {}  # id(data) -> checksum computed by the job
        self._edited: set = set()  # ids of layers painted or replaced since watch()
        self._watched: List[Tuple["weakref.ref", Any]] = []

    def watch(self, image_layer: Any) -> List[np.ndarray]:
        """Start a run on ``image_layer``: the arrays whose checksum the job should compute."""
        self.unwatch()
        arrays = []
        for record in self._records:
            layer = record.layer()
            if record.image() is not image_layer or layer is None or record.data() is None:
                continue
            arrays.append(record.data())
            for name in ("paint", "data"):
                event = getattr(layer.events, name, None)
                if event is None:
                    continue
                callback = _EditFlag(self._edited, id(layer))
                event.connect(callback)
                self._watched.append((weakref.ref(layer), (event, callback)))
        return arrays

    def precomputed(self, digests: dict) -> None:
        """Checksums the job computed, by ``id`` of the array."""
        self._precomputed = dict(digests or {})

    def unwatch(self) -> None:
        """Stop watching edits (after the write)."""
        for _layer, (event, callback) in self._watched:
            try:
                event.disconnect(callback)
            except (RuntimeError, TypeError, ValueError):
                pass
        self._watched, self._edited, self._precomputed = [], set(), {}

    def _digest(self, layer: Any, data: Any) -> str:
        """The checksum of ``data``: the job's when the layer was not edited since, else computed now."""
        if id(layer) not in self._edited and id(data) in self._precomputed:
            return self._precomputed[id(data)]
        return array_digest(data)

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
        if self._digest(layer, data) != record.digest:
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
            layer = unwrap(add_layer(self._viewer, output.kind, data, **kwargs))
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

    def write_in_turns(self, outputs: Sequence[LayerOutput], image: ImageInput, image_layer: Optional[Any],
                       protected: Sequence[Any], done: Callable[[List[Any], bool], Any],
                       alive: Callable[[], bool] = lambda: True) -> None:
        """:meth:`write` the first output now and each further one in a later event-loop turn.

        A new napari layer costs the GUI thread 100-250 ms (its visuals, controls,
        a dims slider for a new axis): two in one turn freeze the window twice
        as long.  ``done(layers, image_still_there)`` is called once all are
        written (at once for zero or one output); nothing more is written once
        ``alive()`` is False.
        """
        pending = list(outputs)
        written: List[Any] = []
        present = [image_layer is not None and image_layer in self._viewer.layers]

        def step() -> None:
            if not alive():
                return
            if pending:
                try:
                    layer, present[0] = self.write(pending.pop(0), image, image_layer, protected)
                except Exception:
                    done(written, present[0])  # the caller is not left waiting
                    raise
                written.append(layer)
            if pending:
                from qtpy.QtCore import QTimer

                QTimer.singleShot(0, step)
            else:
                done(written, present[0])

        step()

    def write_all(self, outputs: Sequence[LayerOutput], image: ImageInput, image_layer: Optional[Any],
                  protected: Sequence[Any] = ()) -> Tuple[List[Any], bool]:
        """:meth:`write` each output; return the layers and whether the image is still there."""
        written, present = [], image_layer is not None and image_layer in self._viewer.layers
        for output in outputs:
            layer, present = self.write(output, image, image_layer, protected)
            written.append(layer)
        return written, present
