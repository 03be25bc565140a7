"""The "Normalized cut" and "Spectral clustering" dock widgets.

Both are :class:`~._method_widget.MethodWidget` s over the affinity graph of
:mod:`napari_segkit.spectral`: its nodes are pixels (small images), SLIC
superpixels, or the superpixels of an optional Labels layer (for instance
the output of the Clustering widget's SLIC).  The algorithms are
:func:`napari_segkit.normalized_cut` and
:func:`napari_segkit.spectral_clustering`; the image is read in the worker
(these methods work in memory).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

from magicgui.widgets import ComboBox, FloatSpinBox, SpinBox

from ._jobs import LayerOutput
from ._layers import ImageInput, labels_snapshot, load_level
from ._method_widget import LayerInput, MethodWidget, seed_choice, spatial_axes_choice

__all__ = ["NormalizedCutWidget", "SpectralClusteringWidget", "NODE_CHOICES"]

#: graph nodes when no superpixel layer is chosen: label -> ``superpixels`` argument
NODE_CHOICES = [("auto (pixels if small, else SLIC)", None), ("SLIC superpixels", "slic"),
                ("pixels", "pixels")]

Progress = Callable[[float, str], None]


class _SpectralWidget(MethodWidget):
    """Shared controls and run of the two spectral widgets."""

    cancel_note = "cancelling"
    isolate_jobs = True  # a child process: no GIL shared with the GUI, stopped at once by Cancel
    job_modules = ("sklearn.cluster", "skimage.segmentation", "scipy.sparse.linalg", "scipy.linalg")
    layer_inputs = (
        LayerInput("superpixels", "Superpixels", "labels", prefer="slic", optional=True),
    )
    #: name of the headless function in napari_segkit
    function_name: str = ""

    def create_parameters(self):
        self._nodes = ComboBox(
            label="Graph nodes", choices=NODE_CHOICES, value=None,
            tooltip="Used when no Superpixels layer is chosen: pixels, or SLIC superpixels.",
        )
        self._n_superpixels = SpinBox(
            label="SLIC superpixels", value=400, min=2, max=1_000_000,
            tooltip="Number of SLIC superpixels asked for when the nodes are SLIC superpixels.",
        )
        self._contrast = FloatSpinBox(
            label="Contrast", value=1.0, min=0.0, max=1000.0, step=0.1,
            tooltip="How fast affinities fall with intensity difference (0 = geometry only).",
        )
        self._seed = seed_choice("the eigensolver (and k-means)")
        self._spatial_dims = spatial_axes_choice()
        self._layer_combos["superpixels"].changed.connect(self._on_superpixels_changed)
        return [*self.method_parameters(), self._channel_axis, self._spatial_dims, self._nodes,
                self._n_superpixels, self._contrast, self._seed]

    def method_parameters(self):
        """The method's own controls, shown first."""
        return []

    def method_options(self) -> Dict[str, Any]:
        """Keyword arguments of the method's own controls."""
        return {}

    def _on_superpixels_changed(self, _value=None) -> None:
        free = self.layer("superpixels") is None
        self._nodes.enabled = free
        self._n_superpixels.enabled = free

    def image_changed(self) -> None:
        self._on_superpixels_changed()

    def prepare(self, image: ImageInput, layers: Dict[str, Any]):
        import napari_segkit

        function = getattr(napari_segkit, self.function_name)
        layer = layers["superpixels"]
        superpixels: Optional[Any] = (
            labels_snapshot(layer, image, role="superpixels") if layer is not None
            else self._nodes.value
        )
        spatial_dims = self._spatial_dims.value
        options = dict(
            self.method_options(), superpixels=superpixels, spatial_dims=spatial_dims,
            n_superpixels=int(self._n_superpixels.value),
            contrast=float(self._contrast.value), rng=int(self._seed.value),
        )

        def compute(progress: Progress) -> LayerOutput:
            progress(0.0, "reading image")
            array = load_level(image, 0)
            labels = function(array, channel_axis=image.channel_axis,
                              spacing=image.spacing(spatial_dims), progress=progress, **options)
            return LayerOutput(labels)

        return compute


class NormalizedCutWidget(_SpectralWidget):
    """Normalized cut (Shi and Malik) of an Image layer, recursive or k-way."""

    method_name = "normalized cut"
    run_verb = "cutting"
    idle_hint = "Choose an image and the number of segments, then Run."
    function_name = "normalized_cut"

    def method_parameters(self):
        self._method = ComboBox(
            label="Method", choices=[("recursive 2-way", "recursive"), ("k-way", "kway")],
            value="recursive",
            tooltip="Recursive: split in two, again and again, cheapest cut first. "
            "k-way: all segments at once from several eigenvectors.",
        )
        self._n_segments = SpinBox(
            label="Segments", value=4, min=0, max=100_000,
            tooltip="Number of segments wanted. 0 (recursive only): stop at the threshold.",
        )
        self._threshold = FloatSpinBox(
            label="Threshold", value=0.0, min=0.0, max=2.0, step=1e-6,
            tooltip="Recursive: largest Ncut value still split. 0: no limit when Segments "
            "is set, 1e-5 otherwise.",
        )
        self._threshold.native.setDecimals(8)
        return [self._method, self._n_segments, self._threshold]

    def method_options(self) -> Dict[str, Any]:
        threshold = float(self._threshold.value)
        return dict(method=str(self._method.value), n_segments=int(self._n_segments.value) or None,
                    threshold=threshold or None)


class SpectralClusteringWidget(_SpectralWidget):
    """Spectral clustering (Ng, Jordan and Weiss) of an Image layer."""

    method_name = "spectral clustering"
    run_verb = "clustering"
    idle_hint = "Choose an image and the number of clusters, then Run."
    function_name = "spectral_clustering"

    def method_parameters(self):
        self._n_clusters = SpinBox(
            label="Clusters", value=3, min=1, max=100_000,
            tooltip="Number of clusters (capped, with a warning, at the distinct values and nodes).",
        )
        return [self._n_clusters]

    def method_options(self) -> Dict[str, Any]:
        return dict(n_clusters=int(self._n_clusters.value))
