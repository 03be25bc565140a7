"""The "Predict with network" dock widget: a saved model + an image -> labels.

A :class:`~._method_widget.MethodWidget` over
:func:`napari_segkit.load_model`, :func:`napari_segkit.predict_probabilities`
and the instance step of :func:`napari_segkit.predict_labels` (run once on
the same probabilities).  Outputs: instance labels (or the most probable
class, for a model that does not separate touching objects) and the class
probabilities (classes first), on the image's grid.  The device used is
shown in the status line.  torch is imported only in the worker.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import numpy as np
from magicgui.widgets import ComboBox, FileEdit, SpinBox

from .._errors import InputError
from ._jobs import LayerOutput
from ._layers import ImageInput, load_level
from ._method_widget import MethodWidget

__all__ = ["DEVICE_CHOICES", "PredictWidget", "model_path"]

#: device combo entries; "auto" = CUDA, then MPS, then CPU
DEVICE_CHOICES = ["auto", "cpu", "cuda", "mps"]


def model_path(value: Any, *, role: str = "model") -> Path:
    """A FileEdit's value as a Path, refusing an empty one."""
    text = str(value or "").strip()
    if not text or text == ".":
        raise InputError(f"choose the {role} folder")
    return Path(text).expanduser()


def _instances(prob: np.ndarray, spatial_dims: int) -> np.ndarray:
    """Instance labels per frame from ``(..., K)`` probabilities (class axis last)."""
    from ..models.instances import instances_from_probabilities

    lead = prob.shape[: prob.ndim - 1 - spatial_dims]
    if not lead:
        return instances_from_probabilities(prob)
    frames = [instances_from_probabilities(prob[index]) for index in np.ndindex(*lead)]
    dtype = np.result_type(*[f.dtype for f in frames])
    return np.stack([f.astype(dtype) for f in frames]).reshape(prob.shape[:-1])


class PredictWidget(MethodWidget):
    """Segment an image with a model trained by "Train network" (or the API)."""

    method_name = "network"
    run_verb = "predicting"
    cancel_note = "cancelling: stops after the current tile"
    idle_hint = "Choose an image and a model folder, then Run."

    def create_parameters(self):
        self._model = FileEdit(label="Model", mode="d",
                               tooltip="A model folder written by 'Train network' (config.json + weights)")
        self._tile = SpinBox(label="Tile size", value=0, min=0, max=8192, step=32,
                             tooltip="Network input per tile, in pixels per axis; 0 = automatic")
        self._device = ComboBox(label="Device", choices=DEVICE_CHOICES, value="auto",
                                tooltip="auto: CUDA, then MPS, then CPU")
        self._run_info: Dict[str, str] = {}
        return [self._model, self._channel_axis, self._tile, self._device]

    def prepare(self, image: ImageInput, layers: Dict[str, Any]):
        path = model_path(self._model.value)
        if not path.exists():
            raise InputError(f"model folder {str(path)!r} does not exist")
        tile = int(self._tile.value) or None
        device = self._device.value
        info: Dict[str, str] = {}
        self._run_info = info  # the worker fills in the device note; read in result_ready

        def compute(progress):
            from ..models import load_model, predict_probabilities
            from ..models.devices import select_device

            progress(0.0, f"loading model {path.name!r}")
            model = load_model(path)
            choice = select_device(None if device == "auto" else device)
            info["device"] = choice.note
            progress(0.02, choice.note)
            array = load_level(image, 0)
            prob = predict_probabilities(
                array, model, channel_axis=image.channel_axis, spacing=image.spacing(model.spatial_dims),
                tile_shape=tile, device=str(choice.device), progress=progress,
            )
            if model.classes[:3] == ["background", "interior", "boundary"]:
                labels = _instances(prob, model.spatial_dims)
            else:
                labels = prob.argmax(axis=-1).astype(np.int32)
            return [LayerOutput(labels),
                    LayerOutput(np.moveaxis(prob, -1, 0), kind="image", suffix="probabilities",
                                layer_kwargs={"colormap": "magma", "contrast_limits": (0.0, 1.0)})]

        return compute

    def result_ready(self, result, layers) -> None:
        if self._run_info.get("device"):
            self._set_status(f"{self.status} ({self._run_info['device']})")
