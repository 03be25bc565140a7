"""The "Refine probabilities" dock widget: a probability map + its image -> labels.

A :class:`~._method_widget.MethodWidget` over :func:`napari_segkit.crf_refine`
(Dense CRF; also shows the refined probabilities) and
:func:`napari_segkit.graph_cut_refine` (Graph cut, with optional scribbles and
a Live mode that re-cuts after each stroke on images up to 1 Mpx).  The
probability layer is ``(K, ...)`` with the classes first (napari shows the
first axis as a slider; the headless functions take the class axis last), or
the image's shape for a single object-probability map.  Labels: 0 =
background (class 0), class ``k`` = ``k``; for a single map 1 = object.
"""

from __future__ import annotations

from typing import Any, Dict

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, FloatSpinBox, SpinBox
from napari.utils.notifications import show_info

from .._errors import InputError
from ..refine import crf_refine, graph_cut_refine
from ..refine.graph_cut_refine import DEFAULT_SEED_REACH, DEFAULT_SMOOTHNESS
from ._jobs import LayerOutput
from ._layers import ImageInput, _fmt, image_input, labels_snapshot, load_level
from ._live import LIVE_DELAY_MS, LiveRecut
from ._method_widget import LayerInput, MethodWidget

__all__ = ["RefineWidget", "LIVE_MAX_PIXELS", "LIVE_DELAY_MS"]

#: Live mode only for images up to this many pixels
LIVE_MAX_PIXELS = 1_000_000
CRF, GRAPH_CUT = "Dense CRF", "Graph cut"


def probability_input(layer: Any, image: ImageInput) -> ImageInput:
    """The probability layer described on ``image``'s grid (classes first, or one map).

    Raises
    ------
    InputError
        RGB, a shape that is neither the image's nor ``(K,) +`` it, or another grid.
    """
    if getattr(layer, "rgb", False):
        raise InputError(f"probabilities {layer.name!r} is an RGB layer; choose a probability map")
    probs = image_input(layer)
    shape = probs.shape
    if shape not in (image.shape, shape[:1] + image.shape) or len(shape) > image.ndim + 1:
        raise InputError(
            f"probabilities {layer.name!r} shape {shape} must be image {image.name!r}'s shape "
            f"{image.shape} (one object-probability map) or (classes,) + that shape"
        )
    n = image.ndim
    if not np.allclose(probs.scale[-n:], image.scale) or not np.allclose(probs.translate[-n:], image.translate):
        raise InputError(
            f"probabilities {layer.name!r} (scale {_fmt(probs.scale[-n:])}) and image {image.name!r} "
            f"(scale {_fmt(image.scale)}) are not on the same pixel grid; give both the same scale "
            "and translate"
        )
    return probs


class RefineWidget(MethodWidget):
    """Refine a probability map along the image's edges (dense CRF or graph cut)."""

    method_name = "refined"
    run_verb = "refining"
    cancel_note = "cancelling"
    isolate_jobs = True  # a child process: no GIL shared with the GUI, stopped at once by Cancel
    job_modules = ("maxflow", "scipy.ndimage")
    idle_hint = "Choose the image and its probability map, then Run."
    layer_inputs = (
        LayerInput("probabilities", "Probabilities", "image", prefer="prob",
                   missing="choose the Image layer that holds the probability map"),
        LayerInput("scribbles", "Scribbles", "labels", prefer="scribble", optional=True),
    )

    def create_parameters(self):
        self._method = ComboBox(label="Method", choices=[CRF, GRAPH_CUT], value=CRF)
        self._iterations = SpinBox(label="Iterations", value=5, min=0, max=100,
                                   tooltip="Dense CRF: mean-field iterations")
        self._smoothness = FloatSpinBox(label="Smoothness", value=DEFAULT_SMOOTHNESS, min=0.0, max=1000.0,
                                        step=0.5, tooltip="Graph cut: weight of the boundary term")
        self._reach = FloatSpinBox(label="Seed reach", value=DEFAULT_SEED_REACH, min=0.0, max=10_000.0,
                                   tooltip="Graph cut: how far (pixels, geodesic) a scribble's influence spreads")
        self._live = CheckBox(text="Live (graph cut, re-cut after each stroke)",
                              tooltip=f"Only for images up to {LIVE_MAX_PIXELS / 1e6:g} Mpx.")
        self._live_recut = LiveRecut(
            self.native, self._live,
            layer=lambda: self.layer("scribbles"),
            allowed=self._live_allowed,
            trigger=self.run,
            is_enabled=lambda: not self._closed and self._live.value and self._method.value == GRAPH_CUT,
            limit=lambda: f"{LIVE_MAX_PIXELS / 1e6:g} Mpx",
        )
        self._method.changed.connect(self._on_method_changed)
        self._layer_combos["scribbles"].changed.connect(lambda _v=None: self._live_recut.toggled(self._live.value))
        self._on_method_changed()
        return [self._method, self._channel_axis, self._iterations, self._smoothness, self._reach, self._live]

    def _on_method_changed(self, _value=None) -> None:
        cut = self._method.value == GRAPH_CUT
        self._iterations.visible = not cut
        self._smoothness.visible = self._reach.visible = self._live.visible = cut
        if not cut and self._live.value:
            self._live.value = False

    # -------------------------------------------------------------------- run
    def prepare(self, image: ImageInput, layers: Dict[str, Any]):
        probs = probability_input(layers["probabilities"], image)
        single = probs.shape == image.shape
        cut = self._method.value == GRAPH_CUT
        seeds = None
        if layers["scribbles"] is not None:
            if not cut:
                show_info("Dense CRF does not use scribbles; choose Graph cut to use them")
            else:
                seeds = labels_snapshot(layers["scribbles"], image, role="scribbles")
        common = dict(spacing=image.spacing(None), channel_axis=image.channel_axis)
        if cut:
            options = dict(common, seeds=seeds, smoothness=float(self._smoothness.value),
                           seed_reach=float(self._reach.value))
        else:
            options = dict(common, max_iter=int(self._iterations.value))

        def compute(progress):
            array = load_level(image, 0)
            p = load_level(probs, 0)
            if not single:  # the layer's classes first -> class axis last
                p = np.moveaxis(p, 0, -1)
            if cut:
                labels = graph_cut_refine(array, p, progress=progress, **options)
                refined = None
            else:
                refined = crf_refine(array, p, progress=progress, **options)
                labels = (refined > 0.5 if single else refined.argmax(axis=-1)).astype(np.int32)
                if not single:  # back to the layer's layout
                    refined = np.moveaxis(refined, -1, 0)
            outputs = [LayerOutput(labels, suffix="graph cut" if cut else "CRF")]
            if refined is not None:
                outputs.append(LayerOutput(refined, kind="image",
                                           suffix="CRF probabilities",
                                           layer_kwargs={"colormap": "magma", "contrast_limits": (0, 1)}))
            return outputs

        return compute

    # ------------------------------------------------------------------ live
    def _live_allowed(self) -> bool:
        try:
            return self.image_layer is None or self.image_input().frame_pixels(None) <= LIVE_MAX_PIXELS
        except InputError:
            return False

    def image_changed(self) -> None:
        if getattr(self, "_live_recut", None) is not None:
            self._live_recut.check_size()

    def on_shutdown(self) -> None:
        self._live_recut.shutdown()
