"""Hand a result array to napari with as little GUI-thread work as possible.

Measured in napari 0.9.2 (PyQt6, Xvfb, Mesa llvmpipe, 2 shared cores), adding
a 1024 x 1024 Labels layer costs the GUI thread, besides one canvas redraw:

* converting int32/int64 labels to the texture's dtype (a modulo over the
  shown slice) each time the layer is sliced: twice when a layer is added,
  once per data change or dims-slider move (13-32 ms per megapixel).
  uint8/uint16 data are shown as they are, so labels whose ids fit are handed
  over as uint16 (computed in the job, off the GUI thread);
* copying a strided slice (a view such as ``np.moveaxis(probabilities, -1,
  0)``) into a contiguous buffer for the texture, on every slice and redraw:
  results are made contiguous in the job;
* building the vispy visuals of the layer's polygon and brush overlays
  (about 60 ms), needed only once the user picks a painting tool on that
  layer.  A new output layer gets them when it first leaves pan/zoom.

* importing pandas, which napari imports lazily for the first Labels layer
  of a session (0.5 s at load 5): :func:`warm_imports` does it in the job's
  thread.

Nothing here changes label values: ``np.array_equal(shown, result)`` holds.
Qt and napari are imported on first use.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import numpy as np

__all__ = ["DEFERRED_OVERLAYS", "add_layer", "display_array", "display_labels", "warm_imports"]

#: modules napari imports lazily when it makes a layer (first use costs the GUI thread)
LAZY_NAPARI_IMPORTS = ("pandas",)

#: napari Labels overlays whose visuals are built only once a painting tool is picked
DEFERRED_OVERLAYS = ("polygon", "brush_stroke")

_UINT16_MAX = int(np.iinfo(np.uint16).max)


def display_labels(labels: np.ndarray) -> np.ndarray:
    """``labels`` as uint16 when it is a wider integer array whose ids fit; else unchanged.

    napari converts wider labels for display on every slice; uint16 it shows
    directly.  Values are kept exactly; arrays with negative ids or ids above
    65535 are returned as they are.
    """
    array = np.asarray(labels)
    if array.dtype.kind not in "iu" or array.dtype.itemsize <= 2 or array.size == 0:
        return display_array(labels)
    low, high = int(array.min()), int(array.max())
    if low < 0 or high > _UINT16_MAX:
        return display_array(labels)
    return array.astype(np.uint16, order="C")


def display_array(data: np.ndarray) -> np.ndarray:
    """``data`` C-contiguous (a copy only when it is a strided view); other objects unchanged."""
    if isinstance(data, np.ndarray) and not data.flags.c_contiguous:
        return np.ascontiguousarray(data)
    return data


def warm_imports() -> None:
    """Import, in the calling (worker) thread, what napari would import on the GUI thread for a new layer.

    Does nothing unless napari is loaded, so headless use never imports them.
    """
    if "napari" not in sys.modules:
        return
    for name in LAZY_NAPARI_IMPORTS:
        if name not in sys.modules:
            try:
                importlib.import_module(name)
            except ImportError:  # pragma: no cover - napari needs it anyway
                pass


class _RestoreOverlays:
    """A ``mode`` event callback: give the layer back its overlays once it leaves pan/zoom."""

    def __init__(self, layer: Any, overlays: list) -> None:
        self._overlays = overlays
        self._event = layer.events.mode

    def __call__(self, event=None) -> None:
        mode = str(getattr(event, "mode", None) or getattr(event, "value", "") or "")
        if mode in ("pan_zoom", "transform"):
            return
        for overlay in self._overlays:
            overlay.visible = True
        try:
            self._event.disconnect(self)
        except (RuntimeError, TypeError, ValueError):
            pass


def _defer_overlays(layer: Any) -> None:
    """Hide ``layer``'s painting overlays until the user picks a painting tool."""
    overlays = getattr(layer, "_overlays", None)
    if overlays is None or getattr(layer, "mode", "pan_zoom") != "pan_zoom":
        return
    hidden = []
    for key in DEFERRED_OVERLAYS:
        overlay = overlays.get(key) if hasattr(overlays, "get") else None
        if overlay is not None and getattr(overlay, "visible", False):
            overlay.visible = False
            hidden.append(overlay)
    if hidden:
        layer.events.mode.connect(_RestoreOverlays(layer, hidden))


def add_layer(viewer: Any, kind: str, data: Any, **kwargs: Any) -> Any:
    """Add a ``"labels"`` or ``"image"`` layer of ``data`` to ``viewer``; return the layer.

    A Labels layer is built first and its painting overlays deferred (see the
    module docstring) before napari makes its visuals.
    """
    if kind != "labels":
        return viewer.add_image(data, **kwargs)
    from napari.layers import Labels

    layer = Labels(data, **kwargs)
    try:
        _defer_overlays(layer)
    except (AttributeError, TypeError, ValueError):  # another napari: keep its defaults
        pass
    viewer.layers.append(layer)
    return layer
