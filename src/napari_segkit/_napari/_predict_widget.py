"""The "Predict with network" dock widget: a saved model + an image -> labels.

A :class:`~._method_widget.MethodWidget` over
:func:`napari_segkit.load_model`, :func:`napari_segkit.predict_probabilities`
and :func:`napari_segkit.models.postprocess.labels_from_probabilities`, the
step that :func:`napari_segkit.predict_labels` runs after the probabilities
(same defaults: the model's minimum object size, threshold 0.5), run once on
the probabilities the widget also shows.  Outputs: instance labels (or the most probable
class, for a model that does not separate touching objects) and the class
probabilities (classes first), on the image's grid.  The device used is
shown in the status line.  torch is imported only in the worker.

With "Uncertainty" ticked the prediction runs Monte Carlo dropout
(:func:`napari_segkit.models.uncertainty.mc_dropout`): the labels are the
*proposals* (from the mean probabilities), an extra image layer holds the
per-pixel mutual information, and the proposals are ranked by their
uncertainty; "Next uncertain" takes the viewer to the next one (centre,
frame) and selects its id in the proposals layer, so the Annotate widget's
"Accept selected" / "Reject selected" act on it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, FileEdit, PushButton, SpinBox

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


def _rank(labels: np.ndarray, uncertainty: np.ndarray, spatial_dims: int) -> list:
    """Proposals of every frame ranked by uncertainty (ids are per frame; centres in full coordinates)."""
    from ..annotation import Ranked, rank_objects

    lead = labels.shape[: labels.ndim - spatial_dims]
    ranked = []
    for index in (np.ndindex(*lead) if lead else [()]):
        for r in rank_objects(labels[index], uncertainty[index]):
            ranked.append(Ranked(r.id, r.score, tuple(float(i) for i in index) + r.centre,
                                 (tuple(index) + r.box[0], tuple(i + 1 for i in index) + r.box[1])))
    ranked.sort(key=lambda r: -r.score)
    return ranked


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
        self._uncertainty = CheckBox(text="Uncertainty (MC dropout)",
                                     tooltip="Rank proposals by model uncertainty (several dropout passes)")
        self._samples = SpinBox(label="Dropout passes", value=8, min=2, max=100)
        self._next = PushButton(text="Next uncertain", enabled=False)
        self._next.changed.connect(self.next_uncertain)
        self._superpixels = SpinBox(
            label="Superpixel voting", value=0, min=0, max=10000,
            tooltip="Average the class probabilities over SLIC superpixels of about this many pixels "
                    "(Farabet et al. 2013), so labels follow the image's edges; 0 = off")
        self._run_info: Dict[str, Any] = {}
        self.ranking: list = []
        self._rank_position = 0
        return [self._model, self._channel_axis, self._tile, self._device, self._uncertainty, self._samples,
                self._next, self._superpixels]

    def prepare(self, image: ImageInput, layers: Dict[str, Any]):
        path = model_path(self._model.value)
        if not path.exists():
            raise InputError(f"model folder {str(path)!r} does not exist")
        tile = int(self._tile.value) or None
        device = self._device.value
        uncertainty = bool(self._uncertainty.value)
        samples = int(self._samples.value)
        superpixels = int(self._superpixels.value) or None
        info: Dict[str, Any] = {}
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
            info["model"] = {"path": str(path), "architecture": model.config.get("architecture"),
                             "trained_seconds": model.config.get("training", {}).get("seconds")}
            common = dict(channel_axis=image.channel_axis, spacing=image.spacing(model.spatial_dims),
                          tile_shape=tile, device=str(choice.device), progress=progress)
            if uncertainty:
                from ..models.uncertainty import mc_dropout

                result = mc_dropout(array, model, samples=samples, **common)
                prob = result.probabilities
            else:
                prob = predict_probabilities(array, model, **common)
            from ..models.postprocess import INSTANCE_CLASSES, labels_from_probabilities

            progress(0.97, "averaging over superpixels" if superpixels else "labelling instances")
            # the same step as predict_labels, with its defaults (minimum size from the model)
            labels = labels_from_probabilities(
                prob, model, output="instances" if list(model.classes[:3]) == INSTANCE_CLASSES else "semantic",
                superpixel_size=superpixels, image=array, channel_axis=image.channel_axis,
                spacing=common["spacing"])
            outputs = [LayerOutput(labels),
                       LayerOutput(np.moveaxis(prob, -1, 0), kind="image", suffix="probabilities",
                                   layer_kwargs={"colormap": "magma", "contrast_limits": (0.0, 1.0)})]
            if uncertainty:
                info["ranking"] = _rank(labels, result.mutual_information, model.spatial_dims)
                outputs.append(LayerOutput(result.mutual_information, kind="image", suffix="uncertainty",
                                           layer_kwargs={"colormap": "inferno"}))
            return outputs

        return compute

    def result_ready(self, result, layers) -> None:
        self.proposals = layers[0] if layers else None
        self.ranking = list(self._run_info.get("ranking", []))
        self._rank_position = 0
        self._next.enabled = bool(self.ranking)
        if self.proposals is not None and self._run_info.get("model"):
            self.proposals.metadata["napari_segkit_model"] = self._run_info["model"]
        if self._run_info.get("device"):
            self._set_status(f"{self.status} ({self._run_info['device']})")
        if self.ranking:
            self._set_status(f"{self.status}; {len(self.ranking)} proposals ranked by uncertainty")

    def next_uncertain(self, _value=None):
        """Move the viewer to the next most uncertain proposal and select its id; returns it (or None)."""
        if not self.ranking or self.proposals is None:
            return None
        ranked = self.ranking[self._rank_position % len(self.ranking)]
        self._rank_position += 1
        layer = self.proposals
        world = layer.data_to_world(ranked.centre)
        ndim = len(world)
        step = list(self._viewer.dims.point)
        lead = len(step) - ndim
        for axis in range(ndim - 2):  # frames / planes: jump there
            self._viewer.dims.set_point(lead + axis, world[axis])
        self._viewer.camera.center = tuple(world[-2:])
        layer.selected_label = int(ranked.id)
        self._set_status(f"proposal {ranked.id}: uncertainty {ranked.score:.3f} "
                         f"({self._rank_position} of {len(self.ranking)})")
        return ranked
