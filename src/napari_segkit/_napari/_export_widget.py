"""The "Export labels" dock widget: a Labels layer to a Fiji ROI set, QuPath
GeoJSON, COCO, or a per-object measurement table (CSV).

The file is written off the GUI thread; errors arrive as napari
notifications that name the problem, and the status line says what was
written.  Nothing is overwritten unless *Overwrite* is ticked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, Optional

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, Container, FileEdit, Label, LineEdit, PushButton

from .._errors import InputError
from ._layers import layer_choices

__all__ = ["FORMATS", "ExportWidget", "export_layer"]

#: combo entry -> (format key, file ending)
FORMATS: Dict[str, tuple] = {
    "Fiji / ImageJ ROI set (.zip)": ("imagej", ".zip"),
    "QuPath GeoJSON (.geojson)": ("geojson", ".geojson"),
    "COCO instances (.json)": ("coco", ".json"),
    "Measurements table (.csv)": ("measure", ".csv"),
}

_NONE = "(none)"


def _axes(layer: Any) -> Optional[str]:
    """T/Z/Y/X letters from the layer's axis labels when they say so, else None (the default)."""
    labels = [str(a).upper()[:1] for a in getattr(layer, "axis_labels", ())]
    if len(labels) == layer.ndim and set(labels) <= set("TZYX") and labels[-2:] == ["Y", "X"] \
            and len(set(labels)) == len(labels):
        return "".join(labels)
    return None


def export_layer(
    labels_layer: Any,
    path: Any,
    fmt: str,
    *,
    image_layer: Any = None,
    classification: str = "Cell",
    overwrite: bool = False,
) -> Path:
    """Export a napari Labels layer (what the widget's button does, without Qt).

    ``fmt`` is ``'imagej'``, ``'geojson'``, ``'coco'`` or ``'measure'``.  For
    ``'measure'`` the spacing is the layer's ``scale`` (spatial axes) and the
    mean intensity comes from ``image_layer`` when given (RGB included).
    """
    from ..io.export import export_labels
    from ..measure import measure_objects, write_measurements

    text = str(path or "").strip()
    if not text or text == ".":
        raise InputError("choose the file to write")
    path = Path(text).expanduser()
    data = np.asarray(_full_resolution(labels_layer))
    if fmt == "measure":
        n_spatial = 2 if data.ndim == 2 else 3
        image = None
        if image_layer is not None:
            image = np.asarray(_full_resolution(image_layer))
        spacing = tuple(float(s) for s in labels_layer.scale[-n_spatial:])
        table = measure_objects(data, image, spacing=spacing, spatial_dims=n_spatial)
        return write_measurements(path, table, overwrite=overwrite)
    options: Dict[str, Any] = {"axes": _axes(labels_layer), "overwrite": overwrite}
    if fmt == "geojson":
        options["classification"] = classification or None
    if fmt == "coco" and image_layer is not None:
        options["file_name"] = f"{image_layer.name}.tif"
    return export_labels(path, data, format=fmt, **options)


class ExportWidget(Container):
    """Save a Labels layer for Fiji, QuPath or a training tool, or measure its objects."""

    def __init__(self, napari_viewer: Any) -> None:
        self._viewer = napari_viewer
        self._labels_box = ComboBox(label="Labels", choices=self._labels_choices,
                                tooltip="The Labels layer to export")
        self._image_box = ComboBox(label="Image", choices=self._image_choices,
                               tooltip="For the table's mean intensity per channel (optional)")
        self._format_box = ComboBox(label="Format", choices=list(FORMATS), value=list(FORMATS)[0])
        self._path_box = FileEdit(label="File", mode="w", tooltip="Where to write")
        self._classification_box = LineEdit(label="Class", value="Cell",
                                        tooltip="QuPath classification of every object")
        self._overwrite_box = CheckBox(label="Overwrite", value=False)
        self._button_box = PushButton(text="Export")
        self._status_box = Label(value="Choose a Labels layer, a format and a file, then Export.")
        super().__init__(widgets=[self._labels_box, self._image_box, self._format_box, self._path_box,
                                  self._classification_box, self._overwrite_box, self._button_box,
                                  self._status_box])
        self._format_box.changed.connect(self._format_changed)
        self._button_box.changed.connect(self.export)
        for event in (napari_viewer.layers.events.inserted, napari_viewer.layers.events.removed):
            event.connect(self._refresh)
        self._worker = None

    def _labels_choices(self, _widget=None):
        return layer_choices(self._viewer, "labels")

    def _image_choices(self, _widget=None):
        return [(_NONE, None)] + layer_choices(self._viewer, "image")

    def _refresh(self, _event=None) -> None:
        self._labels_box.reset_choices()
        self._image_box.reset_choices()

    def _format_changed(self, value: str) -> None:
        ending = FORMATS[value][1]
        current = str(self._path_box.value or "")
        if current and current != ".":
            self._path_box.value = str(Path(current).with_suffix(ending))

    def export(self, _value=None, *, on_done: Optional[Callable[[Path], None]] = None):
        """Write the file in a worker thread; returns the worker (None when nothing starts)."""
        from napari.qt.threading import create_worker
        from napari.utils.notifications import show_error, show_info

        layer = self._labels_box.value
        if layer is None:
            show_error("choose a Labels layer to export")
            return None
        fmt = FORMATS[self._format_box.value][0]
        path = self._path_box.value
        image = self._image_box.value
        classification = self._classification_box.value
        overwrite = bool(self._overwrite_box.value)
        self._button_box.enabled = False
        self._status_box.value = "writing..."

        def done(outcome) -> None:
            out, exc = outcome
            if exc is not None:
                failed(exc)
                return
            self._status_box.value = f"wrote {out}"
            show_info(f"napari-segkit: wrote {out}")
            if on_done is not None:
                on_done(out)

        def failed(exc: Exception) -> None:
            self._status_box.value = f"not written: {exc}"
            show_error(f"napari-segkit export: {exc}")

        def finished() -> None:
            self._button_box.enabled = True
            self._worker = None

        def work():
            try:
                return export_layer(layer, path, fmt, image_layer=image,
                                    classification=classification, overwrite=overwrite), None
            except Exception as exc:  # noqa: BLE001 (shown as a notification on the GUI thread)
                return None, exc

        worker = create_worker(work, _start_thread=False)
        worker.returned.connect(done)
        worker.finished.connect(finished)
        self._worker = worker
        worker.start()
        return worker


def _full_resolution(layer):
    """The layer's data at full resolution: level 0 of a multiscale layer, never the list of levels."""
    return layer.data[0] if getattr(layer, "multiscale", False) else layer.data
