"""Results reach napari in the form it shows cheaply, with values, grid and user layers intact."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari")

from napari.layers import Image, Labels

from napari_segkit import graph_cut
from napari_segkit._napari._handover import DEFERRED_OVERLAYS, add_layer, display_labels
from napari_segkit._napari._jobs import Job, LayerOutput
from napari_segkit._napari._layers import image_input
from napari_segkit._napari._outputs import OutputLayers
from napari_segkit.samples import nuclei_2d


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint32, np.uint64])
def test_wide_labels_whose_ids_fit_become_uint16_with_the_same_values(dtype):
    labels = np.arange(12, dtype=dtype).reshape(3, 4) * 5957  # up to 65527
    shown = display_labels(labels)
    assert shown.dtype == np.uint16 and np.array_equal(shown, labels)


@pytest.mark.parametrize("labels", [
    np.array([[0, 65536]], dtype=np.int32),  # an id beyond uint16
    np.array([[-1, 3]], dtype=np.int64),  # a negative id
    np.array([[0, 200]], dtype=np.uint8),  # already shown as it is
    np.array([[0, 9]], dtype=np.int16),
    np.zeros((0, 3), dtype=np.int32),
])
def test_labels_that_do_not_fit_or_need_nothing_are_kept(labels):
    assert display_labels(labels) is labels


def test_the_job_hands_over_the_core_result_exactly_as_uint16():
    sample = nuclei_2d((96, 96), n_nuclei=6, rng=2)
    image, seeds = np.asarray(sample.image), np.asarray(sample.seeds).astype(np.int32)
    core = graph_cut(image, seeds, instances=True)
    assert core.dtype != np.uint16  # the core's own dtype is wider
    result = Job(lambda progress: graph_cut(image, seeds, instances=True)).run()
    (output,) = result.outputs
    assert output.data.dtype == np.uint16 and np.array_equal(output.data, core)
    big = Job(lambda progress: LayerOutput(np.array([[0, 70000]], dtype=np.int32))).run()
    assert big.labels.dtype == np.int32  # ids beyond uint16 stay as they are


def test_output_layer_keeps_grid_and_gets_its_painting_overlays_once_a_tool_is_picked(viewer, qtbot):
    layer = viewer.add_image(np.zeros((20, 30)), name="img", scale=(2.0, 0.5), translate=(4.0, -1.0))
    mine = viewer.add_labels(np.zeros((20, 30), np.int32), name="img segmentation")  # the user's
    outputs = OutputLayers(viewer, "segmentation")
    result = Job(lambda progress: np.arange(600, dtype=np.int64).reshape(20, 30)).run()
    out, present = outputs.write(result.outputs[0], image_input(layer), layer, protected=[layer])
    assert present and out is not mine and np.all(mine.data == 0)  # the user's layer untouched
    assert out.name.startswith("img segmentation") and out.name != mine.name
    assert tuple(out.scale) == (2.0, 0.5) and tuple(out.translate) == (4.0, -1.0)
    assert np.array_equal(out.data, np.arange(600).reshape(20, 30)) and out.data.dtype == np.uint16
    canvas = viewer.window._qt_viewer.canvas
    built = canvas._layer_overlay_to_visual.get(out, {})
    assert not any(out._overlays[key] in built for key in DEFERRED_OVERLAYS)  # not built yet
    assert all(mine._overlays[key] in canvas._layer_overlay_to_visual[mine] for key in DEFERRED_OVERLAYS)
    out.mode = "paint"
    built = canvas._layer_overlay_to_visual[out]
    assert all(out._overlays[key].visible and out._overlays[key] in built for key in DEFERRED_OVERLAYS)
    assert out._overlays["brush_stroke"].enabled  # napari's paint tool works as on any layer
    out.mode = "polygon"
    assert out._overlays["polygon"].enabled and not out._overlays["brush_stroke"].enabled


def test_add_layer_makes_images_as_napari_does(viewer):
    layer = add_layer(viewer, "image", np.ones((4, 5), np.float32), name="probabilities", opacity=0.5)
    assert isinstance(layer, Image) and layer.opacity == 0.5 and layer in viewer.layers
    labels = add_layer(viewer, "labels", np.ones((4, 5), np.uint16), name="labels", opacity=0.7)
    assert isinstance(labels, Labels) and labels.opacity == 0.7 and viewer.layers[-1] is labels


def test_strided_results_are_handed_over_contiguous_with_the_same_values():
    probabilities = np.random.default_rng(0).random((6, 5, 2)).astype(np.float32)
    labels = np.arange(60, dtype=np.uint16).reshape(6, 10)[:, ::2]  # a strided view
    result = Job(lambda progress: [LayerOutput(labels),
                                   LayerOutput(np.moveaxis(probabilities, -1, 0), kind="image")]).run()
    shown_labels, shown_probabilities = (output.data for output in result.outputs)
    assert shown_labels.flags.c_contiguous and np.array_equal(shown_labels, labels)
    assert shown_probabilities.flags.c_contiguous
    assert np.array_equal(shown_probabilities, np.moveaxis(probabilities, -1, 0))
    image = np.ones((3, 4))
    assert Job(lambda progress: LayerOutput(image, kind="image")).run().outputs[0].data is image


def test_the_job_imports_what_napari_would_import_on_the_gui_thread_for_a_new_layer(monkeypatch):
    import sys

    from napari_segkit._napari import _handover

    monkeypatch.setattr(_handover, "LAZY_NAPARI_IMPORTS", ("json.tool",))
    monkeypatch.delitem(sys.modules, "json.tool", raising=False)
    Job(lambda progress: "not a layer").run()
    assert "json.tool" not in sys.modules  # no layer to show: nothing imported
    Job(lambda progress: np.zeros((2, 2), np.uint8)).run()
    assert "json.tool" in sys.modules


def test_each_new_output_layer_is_added_in_its_own_event_loop_turn(viewer, qtbot, wait_idle):
    from napari_segkit._napari._method_widget import MethodWidget

    class TwoOutputs(MethodWidget):
        method_name = "two"

        def create_parameters(self):
            self.ready = []
            return []

        def prepare(self, image, layers):
            def compute(progress):
                return [LayerOutput(np.arange(12, dtype=np.int32).reshape(3, 4)),
                        LayerOutput(np.ones((2, 3, 4), np.float32), kind="image", suffix="probabilities")]

            return compute

        def result_ready(self, result, layers):
            self.ready.append([layer.name for layer in layers])

    viewer.add_image(np.zeros((3, 4)), name="img", scale=(2.0, 3.0))
    widget = TwoOutputs(viewer)
    original = widget._outputs.write
    busy_while_writing = []

    def write(*args, **kwargs):
        layer = original(*args, **kwargs)
        busy_while_writing.append(widget.busy)
        return layer

    widget._outputs.write = write
    returned = []
    original_returned = widget._on_returned

    def on_returned(result):
        original_returned(result)
        returned.append([layer.name for layer in viewer.layers])  # what the one turn added

    widget._on_returned = on_returned
    widget.run()
    wait_idle(widget)
    assert returned == [["img", "img two"]]  # the second layer came in a later turn
    assert widget.ready == [["img two", "img two probabilities"]] and busy_while_writing == [True, True]
    assert widget.status.startswith("done") and "'img two probabilities'" in widget.status
    labels, probabilities = viewer.layers["img two"], viewer.layers["img two probabilities"]
    assert np.array_equal(labels.data, np.arange(12).reshape(3, 4)) and tuple(labels.scale) == (2.0, 3.0)
    assert tuple(probabilities.scale) == (1.0, 2.0, 3.0)
    widget.run()  # a re-run replaces both (unedited) layers
    wait_idle(widget)
    assert len(viewer.layers) == 3 and widget.ready[-1] == ["img two", "img two probabilities"]
