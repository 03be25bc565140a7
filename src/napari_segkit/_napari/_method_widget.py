"""``MethodWidget``: the dock-widget machinery every segmentation method shares.

A method widget subclasses :class:`MethodWidget`, declares its extra input
layers (:class:`~._layers.LayerInput`), builds its controls in
:meth:`~MethodWidget.create_parameters` and, in :meth:`~MethodWidget.prepare`
(GUI thread, when Run is clicked: the snapshot), turns controls and
layers into a :class:`~._jobs.Job` or a ``compute(progress)`` callable.  The
base class does the rest: layer combos, Channel axis, Run/Cancel, progress,
status; one run at a time with one queued; errors shown with the core's
message and the UI re-enabled; results as layers named
``"<image> <method>[ <suffix>]"`` on the image's grid, re-using only this
widget's own unedited output (:mod:`._outputs`); closing the
widget, its dock or the viewer cancels the run.  See
docs/napari-widgets.md.
"""

from __future__ import annotations

import weakref
from functools import partial
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Dict, Optional, Sequence, Tuple, Union

from magicgui.widgets import ComboBox, Container, Label, ProgressBar, PushButton, SpinBox, Widget
from napari.utils.notifications import show_error, show_info

from .._errors import InputError
from ._jobs import EXPECTED_ERRORS, Job, JobResult
from ._layers import CHANNEL_CHOICES, ImageInput, LayerInput, current_plane, image_input
from ._layers import layer_choices, unwrap
from ._live import LiveRecut
from ._outputs import OutputLayers
from ._progress_pump import ProgressPump, set_bar_value
from ._worker import ProgressRelay, install_close_filter, start_job_worker

if TYPE_CHECKING:
    import napari

__all__ = ["LayerInput", "MethodWidget", "SPATIAL_CHOICES", "seed_choice", "spatial_axes_choice"]

#: the "Spatial axes" choice: label -> ``spatial_dims``
SPATIAL_CHOICES = [("auto (2-D image: 2, else 3)", None), ("2 (stack frame by frame)", 2), ("3", 3)]

_LAYER_EVENTS = ("inserted", "removed", "reordered")


def _wrap_text(label: Label) -> None:
    """Let a status label wrap (and be selectable) instead of widening the dock."""
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QSizePolicy

    native = label.native
    native.setWordWrap(True)
    native.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    native.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    native.setMinimumWidth(50)


def spatial_axes_choice() -> ComboBox:
    """The "Spatial axes" control of a method that takes ``spatial_dims``.

    The axes before the spatial ones are frames, segmented one by one (ids
    unique over the result where the method numbers regions itself).
    """
    return ComboBox(
        label="Spatial axes", choices=SPATIAL_CHOICES, value=None,
        tooltip="Trailing spatial axes; the axes before them are frames, segmented one by one.",
    )


def seed_choice(what: str) -> SpinBox:
    """The "Random seed" control (the methods' ``rng``): ``what`` the seed draws, for the tooltip."""
    return SpinBox(label="Random seed", value=0, min=0, max=2**31 - 1,
                   tooltip=f"Seed of {what}: same seed, same labels.")


class MethodWidget(Container):
    """Base class of the dock widgets; see the module docstring and docs/napari-widgets.md.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
        The viewer whose layers the widget reads and writes.
    """

    #: output layers are named "<image> <method_name>[ <suffix>]"
    method_name: ClassVar[str] = "segmentation"
    #: status while running: "<run_verb> 'img'..."
    run_verb: ClassVar[str] = "running"
    #: status after Cancel, saying when the cancel takes effect
    cancel_note: ClassVar[str] = "cancelling: stops at the next step"
    #: status shown before the first run
    idle_hint: ClassVar[str] = "Choose an image, then Run."
    #: extra input layers, in display order
    layer_inputs: ClassVar[Tuple[LayerInput, ...]] = ()
    #: offer a Channel axis choice for multichannel non-RGB images
    channel_axis_choice: ClassVar[bool] = True
    #: run jobs in a child process (see :attr:`Job.isolate`): only when ``compute``
    #: changes nothing outside its result (no caches, no Qt signals)
    isolate_jobs: ClassVar[bool] = False
    #: modules such a job imports before it forks (so each run does not import them again)
    job_modules: ClassVar[Tuple[str, ...]] = ()

    def __init__(self, napari_viewer: "napari.viewer.Viewer") -> None:
        # scrollable: many docks open at once scroll instead of pushing controls off screen
        super().__init__(labels=True, scrollable=True)
        self._viewer = napari_viewer
        self._worker = None
        self._job: Optional[Job] = None
        self._job_image: Optional[ImageInput] = None
        self._job_layers: Tuple["weakref.ref", ...] = ()
        self._pending = False
        self._closed = False
        self._writing = False  # outputs of a finished run still being added
        self._finish_deferred = False
        self._outputs = OutputLayers(napari_viewer, self.method_name)

        self._image_combo = ComboBox(label="Image", choices=self._image_choices)
        self._layer_combos: Dict[str, ComboBox] = {
            spec.name: ComboBox(label=spec.label, nullable=spec.optional,
                                choices=partial(self._layer_choices, spec))
            for spec in self.layer_inputs
        }
        self._channel_axis = ComboBox(
            label="Channel axis", choices=list(CHANNEL_CHOICES), value="none",
            visible=self.channel_axis_choice,
            tooltip="For multichannel (non-RGB) images: the axis that holds channels. "
            "RGB layers always use their colour axis.",
        )
        parameters = list(self.create_parameters())
        self._run_button = PushButton(text="Run")
        self._cancel_button = PushButton(text="Cancel", enabled=False)
        self._progress = ProgressBar(value=0, min=0, max=1000, label="Progress")
        self._status = Label(value=self.idle_hint)
        _wrap_text(self._status)
        placed = any(widget is self._channel_axis for widget in parameters)
        self.extend([self._image_combo, *self._layer_combos.values(),
                     *([] if placed else [self._channel_axis]), *parameters,
                     self._run_button, self._cancel_button, self._progress, self._status])

        self._relay = ProgressRelay(self.native)  # for subclasses' own signals
        self._relay.progressed.connect(self._on_progress)
        # the job's progress: stored by the worker, shown at most 10 times a second
        self._pump = ProgressPump(self.native, self._on_progress)
        self._run_button.changed.connect(self._on_run_clicked)
        self._cancel_button.changed.connect(self.cancel)
        self._image_combo.changed.connect(self._on_image_changed)
        self._channel_axis.changed.connect(self._on_image_changed)
        for name in _LAYER_EVENTS:
            getattr(napari_viewer.layers.events, name).connect(self._on_layers_changed)
        napari_viewer.layers.events.removing.connect(self._on_layer_removing)
        self._close_filter = install_close_filter(self.native, self.shutdown, self._on_unparented)
        self.native.destroyed.connect(self._on_destroyed)
        self.reset_choices()
        self._on_image_changed()

    @property
    def native(self):
        """The outermost Qt widget: the scroll area napari docks (magicgui's ``native`` is inside it)."""
        return self.root_native_widget

    # ----------------------------------------------------------- subclass hooks
    def create_parameters(self) -> Sequence[Widget]:
        """The method's controls, shown between the layer combos and Run.

        Called once from ``__init__`` (before the subclass's own ``__init__``
        body continues): create widgets here and keep them as attributes.
        Include ``self._channel_axis`` to place it (default: after the combos).
        """
        return ()

    def prepare(self, image: ImageInput, layers: Dict[str, Any]) -> Union[Job, Callable]:
        """On the GUI thread, when a run starts: read controls, snapshot layers.

        ``layers`` maps each :class:`LayerInput` name to the chosen layer (None
        for an optional one left empty).  Return a :class:`~._jobs.Job`, or a
        ``compute(progress)`` callable that uses only what was copied here.
        Raise :class:`~napari_segkit.InputError` to refuse (shown to the user).
        """
        raise NotImplementedError

    def image_changed(self) -> None:
        """Called when the image or channel axis choice changes (enable/disable controls)."""

    def result_ready(self, result: JobResult, layers: Sequence[Any]) -> None:
        """Called after a successful run's output layers were written."""

    def on_shutdown(self) -> None:
        """Called once when the widget closes (stop timers, disconnect events)."""

    # -------------------------------------------------------------------- state
    @property
    def busy(self) -> bool:
        """Whether a run is in progress."""
        return self._worker is not None

    @property
    def worker(self):
        """The running worker, or None."""
        return self._worker

    @property
    def job(self) -> Optional[Job]:
        """The running job, or None."""
        return self._job

    @property
    def viewer(self) -> "napari.viewer.Viewer":
        return self._viewer

    @property
    def status(self) -> str:
        return str(self._status.value)

    @property
    def image_layer(self):
        return self._image_combo.value

    @image_layer.setter
    def image_layer(self, layer) -> None:
        self._image_combo.value = unwrap(layer)

    def layer(self, name: str):
        """The layer chosen in the combo of :class:`LayerInput` ``name``."""
        return self._layer_combos[name].value

    def set_layer(self, name: str, layer) -> None:
        self._layer_combos[name].value = unwrap(layer) if layer is not None else None

    def channel_axis(self) -> Optional[int]:
        """The chosen channel axis (None, 0 or -1); ignored for RGB layers."""
        return CHANNEL_CHOICES[self._channel_axis.value] if self.channel_axis_choice else None

    def image_input(self, layer=None) -> ImageInput:
        """``layer`` (default: the chosen image) described for the core; InputError if unusable."""
        layer = self.image_layer if layer is None else layer
        if layer is None:
            raise InputError("choose an Image layer to segment")
        return image_input(layer, channel_axis=self.channel_axis())

    def current_plane(self, image: ImageInput, spatial_dims: int = 2) -> Tuple[int, ...]:
        """Leading indices of the plane the viewer shows now (capture it in ``prepare``)."""
        return current_plane(self.image_layer, image, self._viewer.dims.point, spatial_dims)

    # ------------------------------------------------------------------ choices
    def _image_choices(self, _widget=None):
        return layer_choices(self._viewer, "image")

    def _layer_choices(self, spec: LayerInput, _widget=None):
        return layer_choices(self._viewer, spec.kind, spec.prefer)

    def _on_layers_changed(self, event=None) -> None:
        if not self._closed:
            self.reset_choices()

    def _on_layer_removing(self, event=None) -> None:
        """Before a layer leaves the viewer: stop watching it, leave any painting tool on it."""
        if self._closed or event is None:
            return
        try:
            # unwrapped: a plugin's viewer hands out proxies, the combos hold the layers themselves
            layer = unwrap(self._viewer.layers[event.index])
        except (IndexError, KeyError, TypeError, AttributeError):
            return
        for helper in vars(self).values():
            if isinstance(helper, LiveRecut):
                helper.forget(layer)
        # any layer leaving with a painting tool on (a seeds layer this widget made and no
        # longer uses included) gives it up first
        if getattr(layer, "mode", "pan_zoom") not in ("pan_zoom", "transform"):
            try:
                layer.mode = "pan_zoom"
            except (ValueError, TypeError, AttributeError):
                pass

    def _on_image_changed(self, _value=None) -> None:
        layer = self.image_layer
        self._channel_axis.enabled = layer is not None and not getattr(layer, "rgb", False)
        self.image_changed()

    # ---------------------------------------------------------------------- run
    def _on_run_clicked(self, _value=None) -> None:
        self.run()

    def run(self):
        """Start a run with the current settings; return the worker.

        While a run is going the request is queued and runs when it ends
        (returns None).  Problems found before starting are shown as an
        error notification (returns None).
        """
        if self._closed:
            return None
        if self.busy:
            self._pending = True
            self._set_status("queued: runs when the current run ends")
            return None
        image_layer = self.image_layer
        try:
            layers = {}
            for spec in self.layer_inputs:
                layers[spec.name] = self.layer(spec.name)
                if layers[spec.name] is None and not spec.optional and image_layer is not None:
                    raise InputError(spec.missing or f"choose a {spec.label} layer")
            image = self.image_input(image_layer)
            job = self.prepare(image, layers)
        except EXPECTED_ERRORS as exc:
            self._fail(str(exc))
            return None
        if not isinstance(job, Job):
            job = Job(job, name=image.name)
        if self.isolate_jobs:
            job.isolate, job.preload = True, tuple(self.job_modules)
        # the previous outputs' checksums (is it still unedited?) are computed by the job
        job.digest_arrays = tuple(self._outputs.watch(unwrap(image_layer)))
        inputs = [image_layer, *(layer for layer in layers.values() if layer is not None)]
        self._job, self._job_image = job, image
        self._job_layers = tuple(weakref.ref(unwrap(layer)) for layer in inputs)
        self._set_running(True)
        self._set_status(f"{self.run_verb} {image.name!r}...")
        sink = self._pump.start(f"{self.run_verb} {image.name!r}", on_cancel=self.cancel)
        self._worker = start_job_worker(
            job, sink, on_returned=self._on_returned,
            on_errored=self._on_errored, on_finished=self._on_finished,
        )
        return self._worker

    def cancel(self, _value=None) -> None:
        """Ask the running job to stop (at the core's next progress report)."""
        self._pending = False
        if self._job is not None and self.busy:
            self._job.cancel()
            self._cancel_button.enabled = False
            self._set_status(self.cancel_note)

    def _on_progress(self, fraction: float, message: str) -> None:
        if not self._alive() or self._job is None or self._job.cancelled:
            return
        set_bar_value(self._progress, round(1000 * min(max(fraction, 0.0), 1.0)))
        if message:
            self._set_status(message)

    def _on_returned(self, result: JobResult) -> None:
        self._pump.stop(flush=False)
        if not self._alive():
            return
        if result.cancelled or (self._job is not None and self._job.cancelled):
            # cancelled, or cancelled after the work ended but before its result arrived
            self._set_status("cancelled; no layer was added")
        elif result.error is not None:
            self._fail(result.error)
        else:
            self._writing = True  # the worker's `finished` waits until every output is shown
            self._write_outputs(result, partial(self._outputs_written, result))

    def _write_outputs(self, result: JobResult, done: Callable[[list], Any]) -> None:
        """Show the outputs, one new layer per event-loop turn; then ``done(layers)``."""
        self._outputs.precomputed(result.array_digests)
        refs = [ref() for ref in self._job_layers]

        def written(layers: list, present: bool) -> None:
            if layers and not present:
                show_info(
                    f"image {self._job_image.name!r} was removed during the run; the result "
                    f"was added as {layers[0].name!r}"
                )
            done(layers)

        self._outputs.write_in_turns(result.outputs, self._job_image, refs[0], [r for r in refs if r is not None],
                                     written, alive=self._alive)

    def _outputs_written(self, result: JobResult, written: list) -> None:
        self._writing = False
        set_bar_value(self._progress, 1000)
        level = f" (pyramid level {result.level})" if result.level else ""
        names = ", ".join(repr(layer.name) for layer in written)
        self._set_status(f"done in {result.seconds:.1f} s{level}" + (f" -> {names}" if names else ""))
        self.result_ready(result, written)
        if self._finish_deferred:
            self._finish_deferred = False
            self._on_finished()

    def _on_errored(self, exc: Exception) -> None:
        self._pump.stop(flush=False)
        # the worker (see _worker) also shows it as a notification with its traceback
        if self._alive():
            self._set_status(f"failed: {exc}")

    def _on_finished(self) -> None:
        if self._writing and self._alive():  # outputs still being added, one per turn
            self._finish_deferred = True
            return
        self._pump.stop(flush=False)
        self._outputs.unwatch()
        self._worker, self._job = None, None
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
        # Run stays enabled: clicked during a run it queues one more run
        if running:
            self._run_text = self._run_button.text
            self._run_button.text = "Queue next run"
            self._run_button.tooltip = ("A run is going: click to run again (with the controls as "
                                        "they are then) as soon as it ends")
        elif getattr(self, "_run_text", None):
            self._run_button.text = self._run_text
            self._run_button.tooltip = None
        self._cancel_button.enabled = running
        if running:
            set_bar_value(self._progress, 0)

    def _set_status(self, text: str) -> None:
        try:
            self._status.value = text
        except RuntimeError:  # widget already deleted
            pass

    # ---------------------------------------------------------------- lifecycle
    def shutdown(self) -> None:
        """Cancel any run and disconnect from the viewer (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._pending = False
        if self._job is not None:
            self._job.cancel()
        self._pump.stop(flush=False)
        if self._worker is not None:
            try:
                self._worker.quit()
            except RuntimeError:
                pass
        try:
            self.on_shutdown()
        except (RuntimeError, TypeError, ValueError):  # Qt objects already deleted
            pass
        for name in _LAYER_EVENTS:
            getattr(self._viewer.layers.events, name).disconnect(self._on_layers_changed)
        self._viewer.layers.events.removing.disconnect(self._on_layer_removing)

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

