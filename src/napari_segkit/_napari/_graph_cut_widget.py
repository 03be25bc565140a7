"""The "Graph cut" dock widget: pick an image and a seeds layer, cut, see labels.

A :class:`~._method_widget.MethodWidget` (which runs the job, shows progress,
handles cancel, errors, queueing and output layers).  This file adds the
graph-cut controls, the seeds layer, "New seeds layer" and Live mode; the
job is :class:`~._graph_cut_job.GraphCutJob` and the algorithm
:func:`napari_segkit.graph_cut`.
"""

from __future__ import annotations

from typing import Dict, Optional

from magicgui.widgets import CheckBox, ComboBox, FloatSpinBox, PushButton
from napari.layers import Labels

from .._errors import InputError
from ._graph_cut_job import CANCEL_NOTE, GraphCutJob
from ._layers import ImageInput, empty_seeds_kwargs, seeds_snapshot, unwrap
from ._live import LIVE_DELAY_MS, LiveRecut
from ._method_widget import LayerInput, MethodWidget

__all__ = ["GraphCutWidget", "LIVE_MAX_PIXELS", "LIVE_DELAY_MS"]

#: Live mode only for frames up to this many pixels (a cut then takes well under a second)
LIVE_MAX_PIXELS = 4_000_000

CONNECTIVITY_CHOICES = [("faces (4 in 2-D, 6 in 3-D)", 1), ("all (8 in 2-D, 26 in 3-D)", "full")]


class GraphCutWidget(MethodWidget):
    """Seeded graph cut of an Image layer from a Labels layer of scribbles.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
        The viewer whose layers the widget reads and writes.
    """

    method_name = "graph cut"
    run_verb = "cutting"
    cancel_note = CANCEL_NOTE
    idle_hint = "Paint seeds (1 = object, 2 = background), then Run."
    layer_inputs = (
        LayerInput(
            "seeds", "Seeds", "labels", prefer="seed",
            missing="choose a seeds Labels layer (or click 'New seeds layer' and paint "
            "1 = object, 2 = background)",
        ),
    )

    def create_parameters(self):
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
        self._per_plane = CheckBox(
            text="2D per plane",
            tooltip="Cut each 2-D plane of a 3-D/4-D image on its own (time series, "
            "or stacks too coarse in z).",
        )
        self._instances = CheckBox(
            text="Instances",
            tooltip="One object per connected group of object seeds; touching objects seeded "
            "separately are split between their seeds. Background (2) is 0 either way.",
        )
        self._live = CheckBox(
            text="Live (re-cut after each stroke)",
            tooltip=f"Re-run {LIVE_DELAY_MS} ms after you stop painting the seeds layer; "
            f"only for images up to {LIVE_MAX_PIXELS / 1e6:g} Mpx per frame.",
        )
        self._live_recut = LiveRecut(
            self.native, self._live,
            layer=lambda: self.seeds_layer,
            allowed=self._live_allowed,
            trigger=self.run,
            is_enabled=lambda: not self._closed and self._live.value,
            limit=lambda: f"{LIVE_MAX_PIXELS / 1e6:g} Mpx per frame",
            on_enabled=lambda: self._set_status("live: the cut follows your strokes"),
        )
        self._new_seeds_button.changed.connect(self.new_seeds_layer)
        self._layer_combos["seeds"].changed.connect(self._live_recut.layer_changed)
        return [self._new_seeds_button, self._smoothness, self._connectivity,
                self._channel_axis, self._per_plane, self._instances, self._live]

    # ------------------------------------------------------------------ state
    @property
    def seeds_layer(self) -> Optional[Labels]:
        return self.layer("seeds")

    @seeds_layer.setter
    def seeds_layer(self, layer: Labels) -> None:
        self.set_layer("seeds", layer)

    def _spatial_dims(self) -> Optional[int]:
        return 2 if (self._per_plane.enabled and self._per_plane.value) else None

    # -------------------------------------------------------------------- run
    def prepare(self, image: ImageInput, layers: Dict[str, Labels]) -> GraphCutJob:
        return GraphCutJob(
            image=image,
            seeds=seeds_snapshot(layers["seeds"], image),
            smoothness=float(self._smoothness.value),
            connectivity=self._connectivity.value,
            spatial_dims=self._spatial_dims(),
            instances=bool(self._instances.value),
        )

    def image_changed(self) -> None:
        layer = self.image_layer
        rgb = bool(getattr(layer, "rgb", False))
        ndim = layer.ndim if layer is not None else 2
        if not rgb and self._channel_axis.value != "none":
            ndim -= 1
        self._per_plane.enabled = ndim >= 3
        if not self._per_plane.enabled:
            self._per_plane.value = False
        self._live_recut.check_size()

    # ------------------------------------------------------------- new seeds
    def new_seeds_layer(self, _value=None) -> Optional[Labels]:
        """Add an empty int32 Labels layer on the image's grid and select it."""
        if self.image_layer is None:
            self._fail("choose an Image layer first")
            return None
        try:
            image = self.image_input()
        except InputError as exc:
            self._fail(str(exc))
            return None
        data, kwargs = empty_seeds_kwargs(image)
        seeds = unwrap(self._viewer.add_labels(data, **kwargs))
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
        if self.image_layer is None:
            return True
        try:
            image = self.image_input()
        except InputError:
            return False
        return image.frame_pixels(self._spatial_dims()) <= LIVE_MAX_PIXELS

    def on_shutdown(self) -> None:
        self._live_recut.shutdown()
