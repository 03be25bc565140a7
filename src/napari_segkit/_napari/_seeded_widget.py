"""The "Random walker" and "Watershed" dock widgets: an image and its seeds -> labels.

Thin :class:`~._method_widget.MethodWidget` subclasses over
:func:`napari_segkit.random_walker` and :func:`napari_segkit.watershed`: the
seeds are a Labels layer painted as for the graph cut (1 = object,
2 = background, or one value per cell); the background seed value becomes 0.
"""

from __future__ import annotations

from typing import Any, ClassVar, Dict, List

from magicgui.widgets import ComboBox, FloatSpinBox, Widget

from ._jobs import LayerOutput
from ._layers import ImageInput, labels_snapshot, load_level, seeds_snapshot
from ._method_widget import LayerInput, MethodWidget, spatial_axes_choice

__all__ = ["RandomWalkerWidget", "WatershedWidget"]

BACKGROUND_CHOICES = [("largest seed value", None), ("none (every seed is an object)", 0)] + [
    (str(v), v) for v in range(1, 10)
]


class _SeededWidget(MethodWidget):
    """Image + seeds (+ optional mask) -> labels, the options of one seeded method."""

    function_name: ClassVar[str] = ""
    idle_hint = "Paint seeds (1 = object, 2 = background, or one value per cell), then Run."
    layer_inputs = (
        LayerInput("seeds", "Seeds", "labels", prefer="seed",
                   missing="choose a seeds Labels layer (0 = unlabelled, 1, 2, ... = regions)"),
        LayerInput("mask", "Mask", "labels", prefer="mask", optional=True),
    )

    def create_parameters(self) -> List[Widget]:
        self._background = ComboBox(
            label="Background seed", choices=BACKGROUND_CHOICES, value=None,
            tooltip="The seed value that marks the background; it becomes 0 in the result.",
        )
        self._spatial_dims = spatial_axes_choice()
        return [self._channel_axis, self._background, self._spatial_dims, *self.method_parameters()]

    def method_parameters(self) -> List[Widget]:
        return []

    def options(self) -> Dict[str, Any]:
        return {}

    def prepare(self, image: ImageInput, layers: Dict[str, Any]):
        import napari_segkit

        function = getattr(napari_segkit, self.function_name)
        seeds = seeds_snapshot(layers["seeds"], image)
        mask = None
        if layers["mask"] is not None:
            mask = labels_snapshot(layers["mask"], image, role="mask") != 0
        spatial_dims = self._spatial_dims.value
        options = dict(self.options(), background_seed=self._background.value, mask=mask,
                       spatial_dims=spatial_dims, channel_axis=image.channel_axis,
                       spacing=image.spacing(spatial_dims))

        def compute(progress):
            data = load_level(image, 0)
            return LayerOutput(function(data, seeds, progress=progress, **options))

        return compute


class RandomWalkerWidget(_SeededWidget):
    """Seeded random walker (scikit-image's) of an Image layer from a Labels layer of seeds."""

    method_name = "random walker"
    run_verb = "walking"
    function_name = "random_walker"

    def method_parameters(self) -> List[Widget]:
        self._beta = FloatSpinBox(label="Beta", value=130.0, min=0.1, max=1e6, step=10.0,
                                  tooltip="Edge sensitivity: larger values stop walks at weaker edges.")
        return [self._beta]

    def options(self) -> Dict[str, Any]:
        return dict(beta=float(self._beta.value))


class WatershedWidget(_SeededWidget):
    """Seeded watershed on the gradient or the intensity of an Image layer."""

    method_name = "watershed"
    run_verb = "flooding"
    function_name = "watershed"

    def method_parameters(self) -> List[Widget]:
        self._feature = ComboBox(
            label="Feature", choices=[("gradient (edges)", "gradient"),
                                      ("intensity (dark valleys between bright cells)", "intensity")],
            value="gradient",
        )
        self._sigma = FloatSpinBox(label="Smoothing", value=1.0, min=0.0, max=100.0, step=0.5,
                                   tooltip="Gaussian smoothing of the gradient, in pixels.")
        self._compactness = FloatSpinBox(label="Compactness", value=0.0, min=0.0, max=1e6, step=0.01,
                                         tooltip="Larger values give more regular regions.")
        return [self._feature, self._sigma, self._compactness]

    def options(self) -> Dict[str, Any]:
        return dict(feature=self._feature.value, sigma=float(self._sigma.value),
                    compactness=float(self._compactness.value))
