"""The "Train network" dock widget: an image + its labels -> a saved model.

A :class:`~._method_widget.MethodWidget` over
:func:`napari_segkit.train_model` and :meth:`napari_segkit.Model.save`.  The
labels layer may be sparse (an "ignore value" marks unannotated pixels).
Each epoch's losses reach the "Loss" readout through a Qt signal (the
training runs in a worker thread); the model is saved to the chosen folder
at the end, which must not exist unless "Overwrite" is ticked.  torch is
imported only in the worker.
"""

from __future__ import annotations

from typing import Any, Dict, List

from magicgui.widgets import CheckBox, ComboBox, FileEdit, FloatSpinBox, Label, SpinBox

from .._errors import InputError
from ._layers import ImageInput, labels_snapshot, load_level
from ._method_widget import LayerInput, MethodWidget
from ._predict_widget import DEVICE_CHOICES, model_path
from ._worker import ProgressRelay

__all__ = ["TrainWidget"]

#: architecture options offered as spin boxes when the architecture has them
_SIZE_OPTIONS = ("depth", "width")
#: epochs shown in the loss readout
_LOSS_LINES = 5


def _architectures() -> List[str]:
    from ..models.registry import ARCHITECTURES

    return sorted(ARCHITECTURES)


def _format_epoch(record: Dict[str, Any]) -> str:
    val = record.get("val_loss")
    text = f"epoch {int(record['epoch'])}: loss {float(record['loss']):.4f}"
    return text + (f", validation {float(val):.4f}" if val is not None else "")


class TrainWidget(MethodWidget):
    """Train a segmentation network on an Image layer and its (sparse) Labels layer."""

    method_name = "network"
    run_verb = "training on"
    cancel_note = "cancelling: stops after the current step; no model is saved"
    idle_hint = "Choose an image, its labels and a folder for the model, then Train."
    layer_inputs = (
        LayerInput("labels", "Labels", "labels", prefer="label",
                   missing="choose the Labels layer with the training labels"),
    )

    def create_parameters(self):
        self._losses: List[str] = []
        self._architecture = ComboBox(label="Architecture", choices=_architectures(), value="unet")
        self._depth = SpinBox(label="Depth", value=3, min=1, max=6, tooltip="Down-sampling levels")
        self._width = SpinBox(label="Width", value=16, min=2, max=256, tooltip="Features of the first level")
        self._ignore = SpinBox(label="Ignore value", value=-1, min=-1, max=2**31 - 1,
                               tooltip="Label value of pixels not annotated (sparse labels); -1 = none")
        self._budget = FloatSpinBox(label="Time budget (s)", value=300.0, min=1.0, max=7 * 86400.0, step=30.0)
        self._epochs = SpinBox(label="Max epochs", value=0, min=0, max=100_000,
                               tooltip="0 = as many as the time budget allows")
        self._device = ComboBox(label="Device", choices=DEVICE_CHOICES, value="auto")
        self._folder = FileEdit(label="Save model to", mode="w",
                                tooltip="A new folder for the model (config.json + weights)")
        self._overwrite = CheckBox(text="Overwrite", tooltip="Replace an existing model folder")
        self._loss = Label(label="Loss", value="-")
        self._loss_relay = ProgressRelay(self.native)
        self._loss_relay.progressed.connect(self._on_loss)
        self._architecture.changed.connect(self._on_architecture)
        return [self._architecture, self._depth, self._width, self._channel_axis, self._ignore,
                self._budget, self._epochs, self._device, self._folder, self._overwrite, self._loss]

    def image_changed(self) -> None:
        self._run_button.text = "Train"
        self._on_architecture()

    def _on_architecture(self, _value=None) -> None:
        from ..models.registry import ARCHITECTURES

        spec = ARCHITECTURES.get(self._architecture.value)
        defaults = dict(spec.defaults) if spec is not None else {}
        for name in _SIZE_OPTIONS:
            getattr(self, f"_{name}").visible = name in defaults

    def _on_loss(self, _epoch: float, text: str) -> None:
        self._losses = (self._losses + [text])[-_LOSS_LINES:]
        try:
            self._loss.value = "\n".join(self._losses)
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
        labels = labels_snapshot(layers["labels"], image, role="training labels")
        architecture = self._architecture.value
        defaults = dict(ARCHITECTURES[architecture].defaults)
        options = {name: int(getattr(self, f"_{name}").value) for name in _SIZE_OPTIONS if name in defaults}
        ignore = int(self._ignore.value)
        epochs = int(self._epochs.value) or None
        budget = float(self._budget.value)
        device = None if self._device.value == "auto" else self._device.value
        relay = self._loss_relay
        self._losses = []
        self._loss.value = "-"

        def on_epoch(record: Dict[str, Any]) -> None:
            relay.progressed.emit(float(record["epoch"]), _format_epoch(record))

        def compute(progress):
            from ..models import train_model

            array = load_level(image, 0)
            model = train_model(
                array, labels, architecture=architecture, options=options,
                channel_axis=image.channel_axis, spacing=image.spacing(None),
                ignore_label=None if ignore < 0 else ignore, epochs=epochs, time_budget=budget,
                device=device, rng=0, progress=progress, on_epoch=on_epoch,
            )
            progress(1.0, f"saving model to {str(folder)!r}")
            return str(model.save(folder, overwrite=overwrite))

        return compute

    def result_ready(self, result, layers) -> None:
        self._set_status(f"done in {result.seconds:.1f} s: model saved to {result.value!r}")
