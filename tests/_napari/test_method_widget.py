"""MethodWidget, the base of the dock widgets, with a trivial threshold method."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

pytest.importorskip("napari")

from magicgui.widgets import FloatSpinBox
from napari.layers import Image, Labels

from napari_segkit import InputError
from napari_segkit._napari import _method_widget
from napari_segkit._napari._jobs import LayerOutput
from napari_segkit._napari._layers import labels_snapshot, load_level
from napari_segkit._napari._method_widget import LayerInput, MethodWidget


class ThresholdWidget(MethodWidget):
    """labels = 1 where image > level (inside the optional mask), else 0."""

    method_name = "threshold"
    run_verb = "thresholding"
    layer_inputs = (LayerInput("mask", "Mask", "labels", prefer="mask", optional=True),)

    def create_parameters(self):
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Event()
        self.mode = "labels"  # or "level 1", "probability", "plane", "boom"
        self._level = FloatSpinBox(label="Level", value=0.5, min=-1e6, max=1e6)
        return [self._level]

    def prepare(self, image, layers):
        level, mode, gate, started = float(self._level.value), self.mode, self.gate, self.started
        pyramid_level = 1 if mode == "level 1" else 0
        data = np.asarray(load_level(image, pyramid_level), dtype=float)
        mask = labels_snapshot(layers["mask"], image, role="mask") if layers["mask"] else None
        plane = self.current_plane(image) if mode == "plane" else ()
        if plane:
            data = data[plane]

        def compute(progress):
            started.set()
            while not gate.wait(0.01):
                progress(0.5, "waiting for the gate")
            if level > data.max():
                raise InputError(f"level {level:g} is above the image maximum {data.max():g}")
            if mode == "boom":
                raise RuntimeError("boom: a bug")
            if mode == "warn":
                warnings.warn("few distinct values: 2 classes used", UserWarning, stacklevel=2)
            labels = (data > level).astype(np.int32)
            if mask is not None:
                labels[mask == 0] = 0
            if mode == "probability":
                return [LayerOutput(labels), LayerOutput(data / data.max(), kind="image",
                                                         suffix="probability",
                                                         layer_kwargs={"colormap": "magma"})]
            if mode == "plane":
                return LayerOutput(labels, plane=plane)
            return LayerOutput(labels, level=pyramid_level) if pyramid_level else labels

        return compute


@pytest.fixture
def widget(viewer):
    widget = ThresholdWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Threshold")
    return widget


@pytest.fixture
def ramp():
    return np.tile(np.linspace(0, 1, 32), (24, 1))  # columns 16.. are > 0.5


def test_result_layer_name_grid_and_ui(viewer, widget, wait_idle, ramp):
    image = viewer.add_image(ramp, name="img", scale=(2, 0.5), translate=(1, -3))
    assert widget.image_layer is image and widget.layer("mask") is None
    assert widget.run() is not None and widget.busy
    assert widget._run_button.text == "Queue next run" and widget._cancel_button.enabled
    wait_idle(widget)
    out = viewer.layers[-1]
    assert isinstance(out, Labels) and out.name == "img threshold"
    assert tuple(out.scale) == (2, 0.5) and tuple(out.translate) == (1, -3)
    assert np.array_equal(out.data, (ramp > 0.5).astype(np.int32))
    assert widget.status.startswith("done") and "'img threshold'" in widget.status
    assert widget._run_button.enabled and widget._run_button.text == "Run" and not widget._cancel_button.enabled
    assert widget._progress.value == 1000


def test_pyramid_level_scales_output(viewer, widget, wait_idle, ramp):
    image = viewer.add_image([ramp, ramp[::2, ::2]], multiscale=True, name="pyr",
                             scale=(3, 3), translate=(5, 6), contrast_limits=(0, 1))
    widget.image_layer = image
    widget.mode = "level 1"
    widget.run()
    wait_idle(widget)
    out = viewer.layers[-1]
    assert out.data.shape == (12, 16) and tuple(out.scale) == (6, 6)
    assert tuple(out.translate) == (5, 6) and "pyramid level 1" in widget.status


def test_image_output_next_to_labels(viewer, widget, wait_idle, ramp):
    viewer.add_image(ramp * 10, name="img", scale=(2, 2))
    widget.mode = "probability"
    widget.run()
    wait_idle(widget)
    labels, prob = viewer.layers["img threshold"], viewer.layers["img threshold probability"]
    assert isinstance(labels, Labels) and isinstance(prob, Image)
    assert tuple(prob.scale) == (2, 2) and prob.colormap.name == "magma"
    assert np.allclose(prob.data, ramp)
    widget.run()  # both unedited: both re-used
    wait_idle(widget)
    assert len(viewer.layers) == 3


def test_plane_captured_at_start(viewer, widget, wait_idle, ramp):
    stack = np.stack([ramp * (i + 1) / 4 for i in range(4)])
    viewer.add_image(stack, name="stack", scale=(5, 1, 1))
    viewer.dims.set_point(0, 2 * 5)  # world z = 10 -> plane 2
    widget.mode = "plane"
    widget.gate.clear()
    widget.run()
    viewer.dims.set_point(0, 0)  # moved while the job runs (K3)
    widget.gate.set()
    wait_idle(widget)
    out = viewer.layers[-1]
    assert out.data.shape == (4, 24, 32) and tuple(out.scale) == (5, 1, 1)
    assert not out.data[[0, 1, 3]].any()
    assert np.array_equal(out.data[2], (stack[2] > 0.5).astype(np.int32))


def test_cancel(viewer, widget, qtbot, wait_idle, ramp):
    viewer.add_image(ramp, name="img")
    n_before = len(viewer.layers)
    widget.gate.clear()
    widget.run()
    job = widget.job
    qtbot.waitUntil(widget.started.is_set, timeout=5000)
    widget.cancel()
    assert job.cancelled and widget.status == widget.cancel_note
    wait_idle(widget)
    assert len(viewer.layers) == n_before
    assert widget.status.startswith("cancelled")
    assert widget._run_button.enabled and not widget._cancel_button.enabled


def test_errors_notified_and_ui_reenabled(viewer, widget, wait_idle, error_messages, ramp):
    viewer.add_image(ramp, name="img")
    n_before = len(viewer.layers)
    widget._level.value = 7  # refused inside the job
    assert widget.run() is not None
    wait_idle(widget)
    assert error_messages == ["level 7 is above the image maximum 1"]
    assert widget.status == "error: level 7 is above the image maximum 1"
    assert widget._run_button.enabled and not widget._cancel_button.enabled

    widget._level.value = 0.5
    widget.set_layer("mask", viewer.add_labels(np.zeros((3, 3), dtype=np.int32), name="mask"))
    assert widget.run() is None  # refused in prepare, before any thread
    assert "labels 'mask' shape (3, 3) does not match image 'img'" in error_messages[1]
    assert len(viewer.layers) == n_before + 1 and widget._run_button.enabled


def test_unexpected_error_notified_and_ui_reenabled(viewer, widget, qtbot, wait_idle, ramp, monkeypatch):
    from napari.utils.notifications import notification_manager

    notified = []  # napari's worker sends its exceptions here (with the traceback)
    monkeypatch.setattr(notification_manager, "receive_error",
                        lambda kind, exc, tb: notified.append(str(exc)))
    viewer.add_image(ramp, name="img")
    widget.mode = "boom"
    widget.run()
    wait_idle(widget)
    qtbot.waitUntil(lambda: len(notified) > 0, timeout=5000)
    qtbot.wait(20)
    assert notified == ["boom: a bug"]  # once
    assert widget.status == "failed: boom: a bug"
    assert widget._run_button.enabled and not widget._cancel_button.enabled
    widget.mode = "labels"  # and the widget still works
    widget.run()
    wait_idle(widget)
    assert viewer.layers[-1].name == "img threshold"


def test_warning_in_job_is_notified(viewer, widget, qtbot, wait_idle, ramp, monkeypatch):
    from napari.utils.notifications import notification_manager

    notified = []
    monkeypatch.setattr(notification_manager, "receive_warning",
                        lambda message, *args, **kwargs: notified.append(str(message)))
    viewer.add_image(ramp, name="img")
    widget.mode = "warn"
    widget.run()
    wait_idle(widget)
    qtbot.waitUntil(lambda: len(notified) > 0, timeout=5000)
    qtbot.wait(20)
    assert notified == ["few distinct values: 2 classes used"]  # once
    assert viewer.layers[-1].name == "img threshold"  # a warning is not a failure


def test_second_run_is_queued(viewer, widget, qtbot, wait_idle, monkeypatch, ramp):
    viewer.add_image(ramp, name="img")
    runs = []
    original = _method_widget.start_job_worker

    def counting(*args, **kwargs):
        assert not any(w.is_running for w in runs)  # never two at once
        runs.append(original(*args, **kwargs))
        return runs[-1]

    monkeypatch.setattr(_method_widget, "start_job_worker", counting)
    widget.gate.clear()
    assert widget.run() is not None
    widget._level.value = 0.75  # the queued run reads the controls when it starts
    assert widget.run() is None and widget.status.startswith("queued")
    assert widget.run() is None
    widget.gate.set()
    wait_idle(widget)
    assert len(runs) == 2
    outputs = [layer for layer in viewer.layers if layer.name.startswith("img threshold")]
    assert len(outputs) == 1
    assert np.array_equal(outputs[0].data, (ramp > 0.75).astype(np.int32))


def test_reuse_own_layer_until_edited(viewer, widget, wait_idle, ramp):
    viewer.add_image(ramp, name="img")
    widget.run()
    wait_idle(widget)
    first = viewer.layers[-1]
    widget._level.value = 0.25
    widget.run()
    wait_idle(widget)
    assert viewer.layers[-1] is first and len(viewer.layers) == 2
    assert np.array_equal(first.data, (ramp > 0.25).astype(np.int32))

    first.paint((3, 3), 5, refresh=True)  # the user edits the output
    edited = first.data.copy()
    widget.run()
    wait_idle(widget)
    second = viewer.layers[-1]
    assert second is not first and len(viewer.layers) == 3
    assert np.array_equal(first.data, edited)

    widget.set_layer("mask", second)  # an input of the run is never overwritten
    before = second.data.copy()
    widget.run()
    wait_idle(widget)
    assert len(viewer.layers) == 4 and np.array_equal(second.data, before)
    assert np.array_equal(viewer.layers[-1].data, before)  # masked by itself: the same


def test_reuse_check_off_the_gui_thread_and_edits_during_a_run(viewer, widget, qtbot, wait_idle, ramp,
                                                               monkeypatch):
    from napari_segkit._napari import _outputs

    viewer.add_image(ramp, name="img")
    widget.run()
    wait_idle(widget)
    first = viewer.layers[-1]
    gui_digests = []
    original = _outputs.array_digest
    monkeypatch.setattr(_outputs, "array_digest", lambda a: gui_digests.append(1) or original(a))
    widget._level.value = 0.25
    widget.run()
    wait_idle(widget)
    assert viewer.layers[-1] is first and np.array_equal(first.data, (ramp > 0.25).astype(np.int32))
    assert gui_digests == []  # the job computed the checksum of the old output

    widget.gate.clear()  # the next run waits: the user paints the output meanwhile
    widget.run()
    qtbot.waitUntil(widget.started.is_set, timeout=5000)
    first.paint((3, 3), 5, refresh=True)
    edited = first.data.copy()
    widget.gate.set()
    wait_idle(widget)
    assert viewer.layers[-1] is not first and np.array_equal(first.data, edited)  # not overwritten


def test_user_layer_with_output_name_is_never_written(viewer, widget, wait_idle, ramp):
    viewer.add_image(ramp, name="img")
    mine = viewer.add_labels(np.zeros((24, 32), dtype=np.int32), name="img threshold")
    widget.run()
    wait_idle(widget)
    assert not mine.data.any() and viewer.layers[-1] is not mine
    assert viewer.layers[-1].name.startswith("img threshold")


def test_missing_image_and_layer_types(viewer, widget, error_messages):
    assert widget.image_layer is None and widget.run() is None
    assert error_messages == ["choose an Image layer to segment"]
    viewer.add_points(np.zeros((1, 2)), name="pts")
    other = viewer.add_labels(np.zeros((4, 4), dtype=np.int32), name="other")
    mask = viewer.add_labels(np.zeros((4, 4), dtype=np.int32), name="a Mask")
    assert set(widget._layer_combos["mask"].choices) == {None, mask, other}  # Labels only
    assert widget.layer("mask") is None  # optional: nothing chosen by default
    assert widget._image_combo.choices == ()
