"""The "Clustering" dock widget: K-means, mean shift or SLIC superpixels of an image.

A :class:`~._method_widget.MethodWidget` (which runs the job, shows progress,
handles cancel, errors, queueing and output layers).  This file adds the
method choice and each method's controls, shown only for that method; the
algorithms are :func:`napari_segkit.kmeans`, :func:`napari_segkit.mean_shift`
and :func:`napari_segkit.slic`.  Output layers are named after the method
(``"<image> k-means"``, ``"<image> mean shift"``, ``"<image> SLIC"``), so
running each method once keeps three layers.

A dask or zarr layer stays lazy: the functions return a lazy labels array,
computed block by block in the worker with progress and cancel between
blocks.
"""

from __future__ import annotations

from typing import Any, Callable, Dict

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, FloatSpinBox, SpinBox

from .._errors import Cancelled
from ._jobs import LayerOutput
from ._layers import ImageInput
from ._method_widget import MethodWidget, seed_choice, spatial_axes_choice

__all__ = ["ClusteringWidget", "METHODS", "compute_lazy"]

#: method choice -> (layer-name part, headless function name in napari_segkit)
METHODS = {
    "K-means": ("k-means", "kmeans"),
    "Mean shift": ("mean shift", "mean_shift"),
    "SLIC superpixels": ("SLIC", "slic"),
}

Progress = Callable[[float, str], None]


def compute_lazy(labels: Any, progress: Progress, start: float = 0.5) -> np.ndarray:
    """``labels`` in memory; a dask array is computed with progress between its tasks.

    ``progress`` may raise :class:`~napari_segkit.Cancelled`, which stops the
    computation at the next task (local schedulers).
    """
    if not hasattr(labels, "compute"):
        return np.asarray(labels)
    from dask.callbacks import Callback

    class _Report(Callback):
        def _start_state(self, dsk, state) -> None:
            self._total = max(sum(len(state[k]) for k in ("ready", "waiting", "running")), 1)
            self._done = 0

        def _posttask(self, key, result, dsk, state, worker_id) -> None:
            self._done += 1
            progress(start + (1.0 - start) * min(self._done / self._total, 1.0), "computing labels")

    progress(start, "computing labels")
    with _Report():
        try:
            return np.asarray(labels.compute())
        except Cancelled:
            raise
        except RuntimeError as exc:  # dask may wrap an error raised in a callback
            if isinstance(exc.__cause__, Cancelled):
                raise exc.__cause__ from None
            raise


class ClusteringWidget(MethodWidget):
    """Unsupervised clustering of an Image layer's pixels: K-means, mean shift or SLIC."""

    # the output name is "<image> <method>": the method part is the suffix of each run
    method_name = ""
    run_verb = "clustering"
    cancel_note = "cancelling"
    isolate_jobs = True  # a child process: no GIL shared with the GUI, stopped at once by Cancel
    job_modules = ("sklearn.cluster", "skimage.segmentation", "dask.array")
    idle_hint = "Choose an image and a method, then Run."

    def create_parameters(self):
        self._method = ComboBox(label="Method", choices=list(METHODS), value="K-means")
        self._n_clusters = SpinBox(
            label="Clusters", value=3, min=1, max=1000,
            tooltip="Number of clusters (capped, with a warning, at the number of distinct values).",
        )
        self._spatial_weight = FloatSpinBox(
            label="Spatial weight", value=0.0, min=0.0, max=1000.0, step=0.1,
            tooltip="Weight of pixel position: 0 ignores it; larger values give compact blobs.",
        )
        self._bandwidth = FloatSpinBox(
            label="Bandwidth", value=0.0, min=0.0, max=100.0, step=0.05,
            tooltip="Kernel radius in normalised intensity (1 = a channel's 1st-99th percentile "
            "range). 0: estimated from the data.",
        )
        self._spatial_bandwidth = FloatSpinBox(
            label="Spatial bandwidth", value=0.0, min=0.0, max=1e6, step=1.0,
            tooltip="Kernel radius over position, in the layer's scale units. 0: intensity only.",
        )
        self._n_segments = SpinBox(
            label="Superpixels", value=0, min=0, max=10_000_000,
            tooltip="Approximate number of superpixels over the whole image; 0: about four per "
            "object, from the size of the image's objects.",
        )
        self._compactness = FloatSpinBox(
            label="Compactness", value=0.0, min=0.0, max=10000.0, step=0.1,
            tooltip="Colour against space: higher gives more regular superpixels; "
            "0: automatic (10 for RGB, 0.1 for grayscale and fluorescence channels).",
        )
        self._instances = CheckBox(
            text="Instances (split clusters into connected objects)",
            tooltip="Give each connected region of a cluster its own label.",
        )
        self._seed = seed_choice("the pixel sample and initialisation")
        self._spatial_dims = spatial_axes_choice()
        self._per_method = {
            "K-means": (self._n_clusters, self._spatial_weight, self._instances, self._seed),
            "Mean shift": (self._bandwidth, self._spatial_bandwidth, self._instances, self._seed),
            "SLIC superpixels": (self._n_segments, self._compactness),
        }
        self._method.changed.connect(self._show_method_controls)
        return [self._method, self._channel_axis, self._spatial_dims, self._n_clusters, self._spatial_weight,
                self._bandwidth, self._spatial_bandwidth, self._n_segments, self._compactness,
                self._instances, self._seed]

    @property
    def method(self) -> str:
        """The chosen method ("K-means", "Mean shift" or "SLIC superpixels")."""
        return str(self._method.value)

    @method.setter
    def method(self, value: str) -> None:
        self._method.value = value

    def _show_method_controls(self, _value=None) -> None:
        shown = self._per_method[self.method]
        for controls in self._per_method.values():
            for control in controls:
                control.visible = any(control is c for c in shown)

    def image_changed(self) -> None:
        self._show_method_controls()

    def options(self) -> Dict[str, Any]:
        """Keyword arguments of the chosen method's function, read from the controls."""
        method = self.method
        if method == "K-means":
            return dict(n_clusters=int(self._n_clusters.value),
                        spatial_weight=float(self._spatial_weight.value),
                        instances=bool(self._instances.value), rng=int(self._seed.value))
        if method == "Mean shift":
            bandwidth = float(self._bandwidth.value)
            spatial = float(self._spatial_bandwidth.value)
            return dict(bandwidth=bandwidth or None, spatial_bandwidth=spatial or None,
                        instances=bool(self._instances.value), rng=int(self._seed.value))
        return dict(n_segments=int(self._n_segments.value) or None,
                    compactness=float(self._compactness.value) or None)

    def prepare(self, image: ImageInput, layers: Dict[str, Any]):
        import napari_segkit

        suffix, function_name = METHODS[self.method]
        function = getattr(napari_segkit, function_name)
        options = self.options()
        spatial_dims = self._spatial_dims.value
        rgb = bool(getattr(self.image_layer, "rgb", False))
        data = image.levels[0]  # lazy data stays lazy; the function reads it block by block
        if image.drop_alpha:
            data = data[..., :3]

        def compute(progress: Progress) -> LayerOutput:
            labels = function(
                data, channel_axis=image.channel_axis, rgb=rgb, spatial_dims=spatial_dims,
                spacing=image.spacing(spatial_dims), progress=progress, **options,
            )
            labels = compute_lazy(labels, progress)
            return LayerOutput(labels, suffix=suffix)

        return compute
