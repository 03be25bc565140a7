"""The "Train network" dock widget: images + annotations -> a saved model, with a live loss plot.

A :class:`~._method_widget.MethodWidget` over :func:`napari_segkit.train_model`.
The labels layer is either the annotation layer of the Annotate widget (then
exactly what was annotated is used: accepted objects, background marks, done
regions; everything else is left out of the loss) or any Labels layer (an
"ignore value" may mark unannotated pixels).

Time series and volumes: an image with one axis more than 2-D is cut into
2-D frames when its axis labels say time (``t``, ``time``), trained as a
volume when they say depth (``z``); otherwise the "Axes" choice must say,
and the plan line shows what will happen before Train is clicked; never a
silent guess.  Frames without any annotation are left out.

Retraining starts from the model trained last in this widget (or the one in
"Start from") unless "Fresh network" is ticked.  Each epoch's losses reach a
live plot in the dock; the best epoch is kept; Cancel stops the training and
still saves the best model so far (when at least one epoch finished).  torch
is imported only in the worker.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, FileEdit, FloatSpinBox, Label, SpinBox

from .._errors import InputError
from ._annotation_widget import annotation_set_of, layer_axes
from ._layers import ImageInput, labels_snapshot, load_level
from ._loss_plot import LossPlot
from ._method_widget import LayerInput, MethodWidget
from ._predict_widget import DEVICE_CHOICES, model_path
from ._worker import ProgressRelay

__all__ = ["AXES_CHOICES", "TrainWidget", "training_plan"]

#: architecture options offered as spin boxes when the architecture has them
_SIZE_OPTIONS = ("depth", "width")
#: the "Axes" choice: how a non-channel axis beyond Y, X is read
AXES_CHOICES = {"auto (axis labels)": None, "time: 2-D network on frames": 2, "depth: 3-D network": 3}


def _architectures() -> List[str]:
    from ..models.registry import ARCHITECTURES

    return sorted(ARCHITECTURES)


def _format_epoch(record: Dict[str, Any]) -> str:
    val = record.get("val_loss")
    loss = record.get("loss")
    text = f"epoch {int(record['epoch'])}: loss " + (f"{float(loss):.4f}" if loss is not None else "-")
    return text + (f", validation {float(val):.4f}" if val is not None else "")


def training_plan(n_axes: int, axes: Optional[str], choice: Optional[int], name: str) -> Tuple[int, str]:
    """``(spatial_dims, sentence)`` for an image of ``n_axes`` non-channel axes.

    ``axes``: letters from the layer's axis labels (None when they say
    nothing); ``choice``: the user's "Axes" choice (None = auto).  Raises
    InputError with the question when neither tells.
    """
    if n_axes == 2:
        return 2, f"a 2-D network on {name!r}"
    if n_axes > 4:
        raise InputError(f"{name!r} has {n_axes} non-channel axes; at most time + 3-D is supported")
    if choice is not None:
        source = "as chosen in 'Axes'"
        dims = choice
    elif axes is not None:
        dims = 3 if "z" in axes else 2
        source = f"from its axis labels ({axes})"
    else:
        raise InputError(
            f"cannot tell whether the first axis of {name!r} is time (train a 2-D network on its frames) "
            "or depth (a 3-D network): name the axis in the layer's axis labels or choose it in 'Axes'"
        )
    if dims == 3 and n_axes == 3:
        return 3, f"a 3-D network on the volume {name!r} ({source})"
    what = "frames" if (axes or "t").startswith("t") or choice == 2 else "planes"
    return dims, f"a {dims}-D network on the annotated {what} of {name!r} ({source})"


class TrainWidget(MethodWidget):
    """Train a segmentation network on an image and its annotations (or any Labels layer)."""

    method_name = "network"
    run_verb = "training on"
    cancel_note = "cancelling: stops after the current step and saves the best model so far"
    idle_hint = "Choose an image, its annotations and a folder for the model, then Train."
    layer_inputs = (
        LayerInput("labels", "Labels", "labels", prefer="annotation",
                   missing="choose the Labels layer with the training labels (e.g. the annotations)"),
    )

    def __init__(self, napari_viewer) -> None:
        super().__init__(napari_viewer)
        host = self.native  # the dock's scroll area, or the container itself
        inner = host.widget() if callable(getattr(host, "widget", None)) else host
        self._plot = LossPlot(inner)
        inner.layout().addWidget(self._plot)
        self._layer_combos["labels"].changed.connect(self._update_plan)

    def create_parameters(self):
        self.last_model = None  # set before the base class asks for the plan
        self._saved: Dict[str, Any] = {}
        self._architecture = ComboBox(label="Architecture", choices=_architectures(), value="unet")
        self._depth = SpinBox(label="Depth", value=3, min=1, max=6, tooltip="Down-sampling levels")
        self._width = SpinBox(label="Width", value=16, min=2, max=256, tooltip="Features of the first level")
        self._axes = ComboBox(label="Axes", choices=list(AXES_CHOICES), value="auto (axis labels)",
                              tooltip="For a 3-axis image: is the first axis time (2-D frames) or depth?")
        self._plan = Label(label="Plan", value="-")
        self._ignore = SpinBox(label="Ignore value", value=-1, min=-1, max=2**31 - 1,
                               tooltip="Plain Labels layers: value of pixels not annotated; -1 = none")
        self._budget = FloatSpinBox(label="Time budget (s)", value=300.0, min=1.0, max=7 * 86400.0, step=30.0)
        self._epochs = SpinBox(label="Max epochs", value=0, min=0, max=100_000,
                               tooltip="0 = as many as the time budget allows")
        self._fresh = CheckBox(text="Fresh network",
                               tooltip="Train from scratch instead of fine-tuning the last model")
        self._start = FileEdit(label="Start from", mode="d",
                               tooltip="Optional model folder to fine-tune (default: the model trained last here)")
        self._device = ComboBox(label="Device", choices=DEVICE_CHOICES, value="auto")
        self._folder = FileEdit(label="Save model to", mode="w",
                                tooltip="A new folder for the model (config.json + weights)")
        self._overwrite = CheckBox(text="Overwrite", tooltip="Replace an existing model folder")
        self._loss = Label(label="Loss", value="-")
        self._loss_relay = ProgressRelay(self.native)
        self._loss_relay.progressed.connect(self._on_loss)
        self._epoch_records: List[Dict[str, Any]] = []
        self._architecture.changed.connect(self._on_architecture)
        self._axes.changed.connect(self._update_plan)
        return [self._architecture, self._depth, self._width, self._channel_axis, self._axes, self._plan,
                self._ignore, self._budget, self._epochs, self._fresh, self._start, self._device,
                self._folder, self._overwrite, self._loss]

    def image_changed(self) -> None:
        self._run_button.text = "Train"
        self._on_architecture()
        self._update_plan()

    def _on_architecture(self, _value=None) -> None:
        from ..models.registry import ARCHITECTURES

        spec = ARCHITECTURES.get(self._architecture.value)
        defaults = dict(spec.defaults) if spec is not None else {}
        for name in _SIZE_OPTIONS:
            getattr(self, f"_{name}").visible = name in defaults

    def plan(self, image: Optional[ImageInput] = None) -> Tuple[int, str]:
        """What Train will do with the chosen image: ``(spatial_dims, sentence)``; InputError if unclear."""
        layer = self.image_layer
        image = image or self.image_input(layer)
        aset = annotation_set_of(self.layer("labels")) if self._layer_combos else None
        axes = None
        if aset is not None and aset.images:
            axes = aset.axes.get(aset.images[0])
        axes = axes or layer_axes(layer, image.ndim)
        return training_plan(image.ndim, axes, AXES_CHOICES[self._axes.value], image.name)

    def _update_plan(self, _value=None) -> None:
        try:
            if self.image_layer is None:
                text = "-"
            else:
                _, sentence = self.plan()
                text = sentence + self._start_note()
        except InputError as exc:
            text = f"? {exc}"
        try:
            self._plan.value = text
        except (RuntimeError, AttributeError):
            pass

    def _start_note(self) -> str:
        if self._fresh.value:
            return "; fresh network"
        if self._start_folder() is not None or self.last_model is not None:
            return "; fine-tuning the current model"
        return ""

    def _start_folder(self) -> Optional[Path]:
        text = str(self._start.value or "").strip()
        return None if not text or text == "." else Path(text).expanduser()

    def _on_loss(self, _epoch: float, text: str) -> None:
        try:
            self._loss.value = text
            if self._epoch_records:
                r = self._epoch_records[-1]
                self._plot.add(r["epoch"], r.get("loss"), r.get("val_loss"))
        except RuntimeError:  # widget deleted
            pass

    # -------------------------------------------------------------------- run
    def prepare(self, image: ImageInput, layers: Dict[str, Any]):
        from ..models.registry import ARCHITECTURES

        folder = model_path(self._folder.value, role="'Save model to'")
        overwrite = bool(self._overwrite.value)
        if folder.exists() and not overwrite:
            raise InputError(f"{str(folder)!r} already exists; choose a new folder or tick 'Overwrite'")
        if not folder.parent.is_dir():
            raise InputError(f"folder {str(folder.parent)!r} does not exist")
        spatial_dims, sentence = self.plan(image)
        labels_layer = layers["labels"]
        aset = annotation_set_of(labels_layer)
        snapshot = aset.snapshot() if aset is not None else None
        labels = None if aset is not None else labels_snapshot(labels_layer, image, role="training labels")
        if aset is not None and tuple(aset.labels[aset.images[0]].shape) != tuple(image.shape):
            raise InputError(f"the annotations have shape {aset.labels[aset.images[0]].shape}; "
                             f"image {image.name!r} has {image.shape}")
        architecture = self._architecture.value
        defaults = dict(ARCHITECTURES[architecture].defaults)
        options = {name: int(getattr(self, f"_{name}").value) for name in _SIZE_OPTIONS if name in defaults}
        ignore = int(self._ignore.value)
        epochs = int(self._epochs.value) or None
        budget = float(self._budget.value)
        device = None if self._device.value == "auto" else self._device.value
        init: Any = None
        if not self._fresh.value:
            init = self._start_folder() or self.last_model
        relay = self._loss_relay
        records = self._epoch_records = []
        saved = self._saved = {"annotations": aset}
        self._loss.value = "-"
        self._plot.clear()
        self._set_status(f"plan: {sentence}")

        def on_epoch(record: Dict[str, Any]) -> None:
            records.append(dict(record))
            relay.progressed.emit(float(record["epoch"]), _format_epoch(record))

        def compute(progress):
            from ..models import load_model, train_model

            array = load_level(image, 0)
            images, targets, ignore_label, channel_axis = _samples(
                array, image.channel_axis, snapshot, labels, ignore, spatial_dims)
            kwargs: Dict[str, Any] = {}
            if init is not None:
                if "init_model" in inspect.signature(train_model).parameters:
                    kwargs["init_model"] = load_model(init) if isinstance(init, Path) else init
                else:
                    progress(0.0, "this train_model cannot fine-tune; training a fresh network")
            model = train_model(
                images, targets, architecture=architecture, options=None if "init_model" in kwargs else options,
                channel_axis=channel_axis, spacing=image.spacing(spatial_dims),
                spatial_dims=spatial_dims, ignore_label=ignore_label, epochs=epochs, time_budget=budget,
                device=device, rng=0, progress=progress, on_epoch=on_epoch, **kwargs,
            )
            if snapshot is not None:  # the model remembers what it was trained on
                model.config.setdefault("training", {})["annotations"] = snapshot.summary()
            saved["model"] = model
            saved["path"] = str(model.save(folder, overwrite=overwrite))
            return saved["path"]

        return compute

    def _on_returned(self, result) -> None:
        saved = self._saved
        super()._on_returned(result)
        if saved.get("path") is None or not self._alive():
            return
        model = saved["model"]
        self.last_model = model
        aset = saved.get("annotations")
        if aset is not None:
            aset.note_training(model.config, path=saved["path"])
        training = model.config.get("training", {})
        if result.cancelled:
            self._set_status(f"cancelled: the best model so far (epoch {training.get('best_epoch')} of "
                             f"{len(training.get('history', []))}) was saved to {saved['path']!r}")
        self._update_plan()

    def result_ready(self, result, layers) -> None:
        self._set_status(f"done in {result.seconds:.1f} s: model saved to {result.value!r}")


def _samples(array, channel_axis, snapshot, labels, ignore: int, spatial_dims: int):
    """``(images, labels, ignore_label, channel_axis)`` for train_model, from an annotation set or a layer."""
    from ..annotation import split_frames, training_inputs

    array = np.asarray(array)
    if snapshot is not None:
        data = training_inputs(snapshot, {snapshot.images[0]: array}, channel_axis=channel_axis,
                               spatial_dims=spatial_dims)
    else:
        data = split_frames([array], [labels], channel_axis=channel_axis, spatial_dims=spatial_dims,
                            ignore_label=None if ignore < 0 else ignore)
    return data.images, data.labels, data.ignore_label, data.channel_axis
