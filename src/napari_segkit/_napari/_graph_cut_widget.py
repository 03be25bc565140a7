"""The "Graph cut" dock widget: pick an image and a seeds layer, cut, see labels.

The widget is thin: it reads its controls, turns layers into arrays
(:mod:`._layers`), starts one worker (:mod:`._worker`) and turns the result into
a Labels layer.  The algorithm lives in :func:`napari_segkit.graph_cut`.

Lifecycle rules:

* one run at a time; a run asked for while one is going (Live mode) is queued;
* the seeds are copied when a run starts, so painting during a run changes
  nothing in that run;
* a re-run replaces the output layer this widget made for the same image
  only while that layer still holds exactly what the widget put there; once
  edited (or removed) the next result goes to a new layer;
* closing the widget or the viewer cancels the run; late results are dropped.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, List, Optional

import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FloatSpinBox,
    Label,
    ProgressBar,
    PushButton,
)
from napari.layers import Image, Labels
from napari.utils.notifications import show_error, show_info

from .._errors import InputError
from ._layers import (
    CHANNEL_CHOICES,
    array_digest,
    empty_seeds_kwargs,
    image_input,
    output_layer_kwargs,
    seeds_snapshot,
)
from ._worker import CANCEL_NOTE, GraphCutJob, JobResult, ProgressRelay, start_graph_cut_worker

if TYPE_CHECKING:
    import napari

__all__ = ["GraphCutWidget", "LIVE_MAX_PIXELS", "LIVE_DELAY_MS"]

logger = logging.getLogger(__name__)

#: Live mode only for frames up to this many pixels (a cut then takes well under a second)
LIVE_MAX_PIXELS = 4_000_000
#: Live mode waits this long after the last stroke before cutting
LIVE_DELAY_MS = 300

CONNECTIVITY_CHOICES = [("faces (4 in 2-D, 6 in 3-D)", 1), ("all (8 in 2-D, 26 in 3-D)", "full")]


@dataclass
class _Output:
    """An output layer this widget made, and what it put there."""

    image: "weakref.ref"
    layer: "weakref.ref"
    data: "weakref.ref"
    digest: str


def _unwrap(obj: Any) -> Any:
    """The object behind napari's PublicOnlyProxy (plugins get proxied layers).

    Output records keep weak references and compare layers by identity, which
    only works on the layers themselves, not on the short-lived proxies.
    """
    return getattr(obj, "__wrapped__", obj)


class GraphCutWidget(Container):
    """Seeded graph cut of an Image layer from a Labels layer of scribbles.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
        The viewer whose layers the widget reads and writes.
    """

    def __init__(self, napari_viewer: "napari.viewer.Viewer") -> None:
        super().__init__(labels=True)
        self._viewer = napari_viewer
        self._worker = None
        self._job: Optional[GraphCutJob] = None
        self._job_layers: tuple = (None, None)
        self._pending = False
        self._closed = False
        self._outputs: List[_Output] = []
        self._live_layer: Optional["weakref.ref"] = None
        self._live_event = None

        self._image_combo = ComboBox(label="Image", choices=self._image_choices)
        self._seeds_combo = ComboBox(label="Seeds", choices=self._seeds_choices)
        self._new_seeds_button = PushButton(text="New seeds layer")
        self._smoothness = FloatSpinBox(
            label="Smoothness", value=2.0, min=0.0, max=1000.0, step=0.5,
            tooltip="Weight of the boundary term: 0 classifies each pixel alone; "
            "larger values give smoother outlines that follow edges.",
        )
        self._connectivity = ComboBox(
            label="Neighbours", choices=CONNECTIVITY_CHOICES, value=1,
            tooltip="Which neighbouring pixels are linked in the graph.",
        )
        self._channel_axis = ComboBox(
            label="Channel axis", choices=list(CHANNEL_CHOICES), value="none",
            tooltip="For multichannel (non-RGB) images: the axis that holds channels. "
            "RGB layers always use their colour axis.",
        )
        self._per_plane = CheckBox(
            text="2D per plane",
            tooltip="Cut each 2-D plane of a 3-D/4-D image on its own (time series, "
            "or stacks too coarse in z).",
        )
        self._live = CheckBox(
            text="Live (re-cut after each stroke)",
            tooltip=f"Re-run {LIVE_DELAY_MS} ms after you stop painting the seeds layer; "
            f"only for images up to {LIVE_MAX_PIXELS / 1e6:g} Mpx per frame.",
        )
        self._run_button = PushButton(text="Run")
        self._cancel_button = PushButton(text="Cancel", enabled=False)
        self._progress = ProgressBar(value=0, min=0, max=1000, label="Progress")
        self._status = Label(value="Paint seeds (1 = object, 2 = background), then Run.")
        self.extend([
            self._image_combo, self._seeds_combo, self._new_seeds_button, self._smoothness,
            self._connectivity, self._channel_axis, self._per_plane, self._live,
            self._run_button, self._cancel_button, self._progress, self._status,
        ])

        from qtpy.QtCore import QTimer

        self._relay = ProgressRelay(self.native)
        self._relay.progressed.connect(self._on_progress)
        self._timer = QTimer(self.native)
        self._timer.setSingleShot(True)
        self._timer.setInterval(LIVE_DELAY_MS)
        self._timer.timeout.connect(self._on_live_timer)

        self._run_button.changed.connect(self._on_run_clicked)
        self._cancel_button.changed.connect(self.cancel)
        self._new_seeds_button.changed.connect(self.new_seeds_layer)
        self._image_combo.changed.connect(self._on_image_changed)
        self._channel_axis.changed.connect(self._on_image_changed)
        self._seeds_combo.changed.connect(self._on_seeds_changed)
        self._live.changed.connect(self._on_live_toggled)

        events = self._viewer.layers.events
        for name in ("inserted", "removed", "reordered"):
            getattr(events, name).connect(self._on_layers_changed)
        self._close_filter = _install_close_filter(self.native, self.shutdown, self._on_unparented)
        self.native.destroyed.connect(self._on_destroyed)
        self.reset_choices()
        self._on_image_changed()

    # ------------------------------------------------------------------ state
    @property
    def busy(self) -> bool:
        """Whether a run is in progress."""
        return self._worker is not None

    @property
    def worker(self):
        """The running worker, or None."""
        return self._worker

    @property
    def status(self) -> str:
        return str(self._status.value)

    @property
    def image_layer(self) -> Optional[Image]:
        return self._image_combo.value

    @image_layer.setter
    def image_layer(self, layer: Image) -> None:
        self._image_combo.value = _unwrap(layer)

    @property
    def seeds_layer(self) -> Optional[Labels]:
        return self._seeds_combo.value

    @seeds_layer.setter
    def seeds_layer(self, layer: Labels) -> None:
        self._seeds_combo.value = _unwrap(layer)

    # --------------------------------------------------------------- choices
    def _image_choices(self, _widget=None):
        layers = [_unwrap(layer) for layer in self._viewer.layers]
        return [(layer.name, layer) for layer in layers if isinstance(layer, Image)]

    def _seeds_choices(self, _widget=None):
        labels = [_unwrap(layer) for layer in self._viewer.layers]
        labels = [layer for layer in labels if isinstance(layer, Labels)]
        # a layer called "... seeds" is the likely choice: offer it first
        labels.sort(key=lambda layer: "seed" not in layer.name.lower())
        return [(layer.name, layer) for layer in labels]

    def _on_layers_changed(self, event=None) -> None:
        if self._closed:
            return
        self.reset_choices()

    # -------------------------------------------------------------- controls
    def _on_image_changed(self, _value=None) -> None:
        layer = self.image_layer
        rgb = bool(getattr(layer, "rgb", False))
        self._channel_axis.enabled = layer is not None and not rgb
        ndim = layer.ndim if layer is not None else 2
        if not rgb and self._channel_axis.value != "none":
            ndim -= 1
        self._per_plane.enabled = ndim >= 3
        if not self._per_plane.enabled:
            self._per_plane.value = False
        if self._live.value and not self._live_allowed():
            self._live.value = False
            show_info(
                f"Live mode turned off: this image has more than {LIVE_MAX_PIXELS / 1e6:g} "
                "Mpx per frame"
            )

    def _on_seeds_changed(self, _value=None) -> None:
        if self._live.value:
            self._connect_live(self.seeds_layer)

    def _channel_axis_value(self) -> Optional[int]:
        return CHANNEL_CHOICES[self._channel_axis.value]

    def _spatial_dims(self) -> Optional[int]:
        return 2 if (self._per_plane.enabled and self._per_plane.value) else None

    # ------------------------------------------------------------------- run
    def _on_run_clicked(self, _value=None) -> None:
        self.run()

    def run(self):
        """Start a graph cut with the current settings; return the worker.

        While a run is going the request is queued and runs when it ends
        (returns None).  Problems found before starting (no layer chosen,
        seeds not matching the image) are shown as an error notification.
        """
        if self._closed:
            return None
        if self.busy:
            self._pending = True
            self._set_status("queued: runs when the current cut ends")
            return None
        image_layer, seeds_layer = self.image_layer, self.seeds_layer
        try:
            if image_layer is None:
                raise InputError("choose an Image layer to segment")
            if seeds_layer is None:
                raise InputError(
                    "choose a seeds Labels layer (or click 'New seeds layer' and paint "
                    "1 = object, 2 = background)"
                )
            image = image_input(image_layer, channel_axis=self._channel_axis_value())
            seeds = seeds_snapshot(seeds_layer, image)
        except InputError as exc:
            self._fail(str(exc))
            return None
        job = GraphCutJob(
            image=image,
            seeds=seeds,
            smoothness=float(self._smoothness.value),
            connectivity=self._connectivity.value,
            spatial_dims=self._spatial_dims(),
        )
        self._job = job
        self._job_layers = (weakref.ref(image_layer), weakref.ref(seeds_layer))
        self._set_running(True)
        self._set_status(f"cutting {image.name!r}...")
        self._worker = start_graph_cut_worker(
            job,
            self._relay,
            on_returned=self._on_returned,
            on_errored=self._on_errored,
            on_finished=self._on_finished,
        )
        return self._worker

    def cancel(self, _value=None) -> None:
        """Ask the running cut to stop (after the current max-flow step)."""
        self._pending = False
        if self._job is not None and self.busy:
            self._job.cancel()
            self._cancel_button.enabled = False
            self._set_status(CANCEL_NOTE)

    def _on_progress(self, fraction: float, message: str) -> None:
        if not self._alive() or self._job is None or self._job.cancelled:
            return
        self._progress.value = int(round(1000 * min(max(fraction, 0.0), 1.0)))
        self._set_status(message)

    def _on_returned(self, result: JobResult) -> None:
        if not self._alive():
            return
        if result.cancelled or (self._job is not None and self._job.cancelled):
            # cancelled, or cancelled after the cut ended but before its result arrived
            self._set_status("cancelled; no layer was added")
        elif result.error is not None:
            self._fail(result.error)
        elif result.labels is not None:
            layer = self._write_result(result)
            level = f" (pyramid level {result.level})" if result.level else ""
            self._set_status(f"done in {result.seconds:.1f} s{level} -> {layer.name!r}")

    def _on_errored(self, exc: Exception) -> None:
        # napari's worker already shows the error with its traceback
        if self._alive():
            self._set_status(f"failed: {exc}")

    def _on_finished(self) -> None:
        self._worker = None
        self._job = None
        if not self._alive():
            return
        self._set_running(False)
        if self._pending:
            self._pending = False
            self.run()

    def _fail(self, message: str) -> None:
        show_error(message)
        self._set_status(f"error: {message}")

    def _set_running(self, running: bool) -> None:
        self._run_button.enabled = not running
        self._cancel_button.enabled = running
        if running:
            self._progress.value = 0

    def _set_status(self, text: str) -> None:
        try:
            self._status.value = text
        except RuntimeError:  # widget already deleted
            pass

    # ---------------------------------------------------------------- output
    def _record_for(self, image_layer) -> Optional[_Output]:
        self._outputs = [o for o in self._outputs if o.image() is not None and o.layer() is not None]
        for record in self._outputs:
            if record.image() is image_layer:
                return record
        return None

    def _reusable(self, record: Optional[_Output], labels: np.ndarray, kwargs: dict):
        """The previous output layer if it may be overwritten, else None."""
        if record is None:
            return None
        layer = record.layer()
        if layer is None or layer not in self._viewer.layers:
            return None
        if layer in [ref() for ref in self._job_layers]:
            return None
        data = layer.data
        if record.data() is not data or getattr(layer, "multiscale", False):
            return None  # data replaced
        if data.shape != labels.shape or data.dtype != labels.dtype:
            return None
        if not np.allclose(layer.scale, kwargs["scale"]) or not np.allclose(
            layer.translate, kwargs["translate"]
        ):
            return None
        if array_digest(data) != record.digest:
            return None  # painted or otherwise edited since
        return layer

    def _write_result(self, result: JobResult) -> Labels:
        job = self._job
        image_ref, _ = self._job_layers
        image_layer = image_ref() if image_ref is not None else None
        labels = result.labels
        kwargs = output_layer_kwargs(job.image, result.level)
        image_present = image_layer is not None and image_layer in self._viewer.layers
        record = self._record_for(image_layer) if image_present else None
        layer = self._reusable(record, labels, kwargs)
        if layer is not None:
            layer.data = labels
        else:
            layer = _unwrap(self._viewer.add_labels(labels, **kwargs))
            if not image_present:
                show_info(
                    f"image {job.image.name!r} was removed during the cut; the result "
                    f"was added as {layer.name!r}"
                )
        digest = result.digest if layer.data is labels else array_digest(layer.data)
        if image_present:
            if record is not None:
                self._outputs.remove(record)
            self._outputs.append(
                _Output(weakref.ref(image_layer), weakref.ref(layer), weakref.ref(layer.data), digest)
            )
        return layer

    # ------------------------------------------------------------ new seeds
    def new_seeds_layer(self, _value=None) -> Optional[Labels]:
        """Add an empty int32 Labels layer on the image's grid and select it."""
        layer = self.image_layer
        if layer is None:
            self._fail("choose an Image layer first")
            return None
        try:
            image = image_input(layer, channel_axis=self._channel_axis_value())
        except InputError as exc:
            self._fail(str(exc))
            return None
        data, kwargs = empty_seeds_kwargs(image)
        seeds = _unwrap(self._viewer.add_labels(data, **kwargs))
        self.reset_choices()
        self.seeds_layer = seeds
        self._viewer.layers.selection.active = seeds
        seeds.selected_label = 1
        try:
            seeds.mode = "paint"
        except (ValueError, TypeError):  # pragma: no cover - depends on napari version
            pass
        self._set_status("paint 1 = object, 2 = background (press 1 / 2 to switch)")
        return seeds

    # ------------------------------------------------------------------ live
    def _live_allowed(self) -> bool:
        layer = self.image_layer
        if layer is None:
            return True
        try:
            image = image_input(layer, channel_axis=self._channel_axis_value())
        except InputError:
            return False
        return image.frame_pixels(self._spatial_dims()) <= LIVE_MAX_PIXELS

    def _on_live_toggled(self, value: bool) -> None:
        if value and not self._live_allowed():
            self._live.value = False  # re-enters with False and disconnects
            show_info(
                f"Live mode is for images up to {LIVE_MAX_PIXELS / 1e6:g} Mpx per frame; "
                "use Run for this image"
            )
            return
        self._connect_live(self.seeds_layer if value else None)
        if value:
            self._set_status("live: the cut follows your strokes")

    def _connect_live(self, layer: Optional[Labels]) -> None:
        previous = self._live_layer() if self._live_layer is not None else None
        if previous is not None and self._live_event is not None:
            self._live_event.disconnect(self._on_seeds_painted)
        self._live_layer, self._live_event = None, None
        if layer is None:
            return
        event = getattr(layer.events, "paint", None) or layer.events.data
        event.connect(self._on_seeds_painted)
        self._live_layer, self._live_event = weakref.ref(layer), event

    def _on_seeds_painted(self, event=None) -> None:
        if not self._closed and self._live.value:
            self._timer.start()  # restarts: the cut runs once strokes pause

    def _on_live_timer(self) -> None:
        if not self._closed and self._live.value:
            self.run()

    # ------------------------------------------------------------- lifecycle
    def shutdown(self) -> None:
        """Cancel any run and disconnect from the viewer (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._pending = False
        try:
            self._timer.stop()
        except RuntimeError:
            pass
        if self._job is not None:
            self._job.cancel()
        if self._worker is not None:
            try:
                self._worker.quit()
            except RuntimeError:
                pass
        try:
            self._connect_live(None)
        except (RuntimeError, TypeError, ValueError):
            pass
        events = self._viewer.layers.events
        for name in ("inserted", "removed", "reordered"):
            getattr(events, name).disconnect(self._on_layers_changed)

    def _on_destroyed(self, *_args) -> None:
        self.shutdown()

    def _on_unparented(self) -> None:
        # napari's remove_dock_widget takes the widget out of its dock; a run
        # still going has nowhere to report, so stop it
        if self.busy:
            self.cancel()

    def _alive(self) -> bool:
        """False once closed or once Qt has deleted the widget."""
        if self._closed:
            return False
        try:
            self.native.objectName()
        except RuntimeError:  # wrapped C++ object deleted
            self.shutdown()
            return False
        return True


def _install_close_filter(widget: Any, on_close, on_unparented):
    """Call ``on_close`` when ``widget`` is closed, ``on_unparented`` when taken out of its dock."""
    from qtpy.QtCore import QEvent, QObject

    class _CloseFilter(QObject):
        def eventFilter(self, obj, event):  # noqa: N802 (Qt's name)
            kind = event.type()
            if kind == QEvent.Type.Close:
                on_close()
            elif kind == QEvent.Type.ParentChange and obj.parent() is None:
                on_unparented()
            return False

    close_filter = _CloseFilter(widget)
    widget.installEventFilter(close_filter)
    return close_filter
