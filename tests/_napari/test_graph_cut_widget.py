"""The Graph cut dock widget in a real viewer (Xvfb display from pytest-xvfb)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari")

from napari.layers import Labels

from napari_segkit import graph_cut
from napari_segkit._napari import _graph_cut_widget, _method_widget
from napari_segkit._napari._graph_cut_widget import GraphCutWidget
from napari_segkit.samples import nuclei_2d


def _open_sample(viewer, key):
    layers = viewer.open_sample("napari-segkit", key)
    image, truth, seeds = layers
    return image, truth, seeds


def _outputs(viewer):
    return [layer for layer in viewer.layers if layer.name.endswith("graph cut") or " graph cut [" in layer.name]


def test_dock_via_manifest_and_cut_2d_sample(viewer, dock, qtbot, wait_idle, iou):
    assert isinstance(dock, GraphCutWidget)
    image, truth, seeds = _open_sample(viewer, "nuclei_2d")
    for layer in (image, truth, seeds):
        layer.scale = (0.65, 0.65)
        layer.translate = (12.0, -5.0)
    dock.image_layer, dock.seeds_layer = image, seeds
    n_before = len(viewer.layers)
    worker = dock.run()
    assert worker is not None and dock.busy
    assert dock._run_button.text == "Queue next run" and dock._cancel_button.enabled
    wait_idle(dock)
    assert len(viewer.layers) == n_before + 1
    out = viewer.layers[-1]
    assert isinstance(out, Labels) and out.name == "nuclei 2D graph cut"
    assert np.allclose(out.scale, (0.65, 0.65)) and np.allclose(out.translate, (12.0, -5.0))
    assert out.data.dtype == np.uint16 and out.data.shape == image.data.shape
    assert iou(out.data, truth.data) >= 0.85
    assert dock._run_button.enabled and not dock._cancel_button.enabled
    assert dock.status.startswith("done")
    assert dock._progress.value == 1000


def test_3d_sample_keeps_anisotropic_scale(viewer, dock, wait_idle, iou):
    image, truth, seeds = _open_sample(viewer, "nuclei_3d")
    assert tuple(image.scale) == (4, 1, 1)
    dock.image_layer, dock.seeds_layer = image, seeds
    dock.run()
    wait_idle(dock)
    out = viewer.layers[-1]
    assert out.name == "nuclei 3D graph cut"
    assert tuple(out.scale) == (4, 1, 1) and out.data.shape == (24, 128, 128)
    assert iou(out.data, truth.data) >= 0.85


def test_time_series_cut_per_plane(viewer, dock, wait_idle, iou):
    image, truth, seeds = _open_sample(viewer, "nuclei_time_series")
    dock.image_layer, dock.seeds_layer = image, seeds
    assert dock._per_plane.enabled
    dock._per_plane.value = True
    dock.run()
    wait_idle(dock)
    out = viewer.layers[-1]
    assert out.data.shape == image.data.shape
    expected = graph_cut(image.data, seeds.data, spatial_dims=2)
    assert np.array_equal(out.data, expected)
    assert iou(out.data[-1], truth.data[-1]) >= 0.85  # frame without seeds


def test_seeds_not_matching_image_are_reported(viewer, dock, error_messages):
    sample = nuclei_2d()
    image = viewer.add_image(sample.image, name="img")
    seeds = viewer.add_labels(np.zeros((10, 256, 256), dtype=np.int32), name="seeds")
    dock.image_layer, dock.seeds_layer = image, seeds
    n_before = len(viewer.layers)
    assert dock.run() is None
    assert not dock.busy and dock._run_button.enabled
    assert len(viewer.layers) == n_before
    (message,) = error_messages
    assert "'seeds' shape (10, 256, 256)" in message and "'img' shape (256, 256)" in message
    assert dock.status.startswith("error:")

    other_grid = viewer.add_labels(sample.seeds, name="scaled seeds", scale=(2, 2))
    dock.seeds_layer = other_grid
    assert dock.run() is None
    assert "labels 'scaled seeds'" in error_messages[1] and "image 'img'" in error_messages[1]
    assert len(viewer.layers) == n_before + 1 and dock._run_button.enabled


def test_error_in_worker_is_shown_and_ui_reenabled(viewer, dock, wait_idle, error_messages):
    sample = nuclei_2d()
    image = viewer.add_image(sample.image, name="img")
    seeds = viewer.add_labels((sample.seeds == 1).astype(np.int32), name="seeds")
    dock.image_layer, dock.seeds_layer = image, seeds
    n_before = len(viewer.layers)
    assert dock.run() is not None
    wait_idle(dock)
    assert len(viewer.layers) == n_before
    assert len(error_messages) == 1 and "paint at least 2 regions" in error_messages[0]
    assert dock._run_button.enabled and not dock._cancel_button.enabled
    assert dock.status.startswith("error:")


def test_cancel_stops_without_output(viewer, dock, wait_idle):
    sample = nuclei_2d()
    image = viewer.add_image(sample.image, name="img")
    seeds = viewer.add_labels(sample.seeds, name="seeds")
    dock.image_layer, dock.seeds_layer = image, seeds
    n_before = len(viewer.layers)
    dock.run()
    dock.cancel()
    assert "after the current max-flow step" in dock.status
    wait_idle(dock)
    assert len(viewer.layers) == n_before
    assert dock.status.startswith("cancelled")
    assert dock._run_button.enabled


def test_rerun_updates_own_layer_until_user_edits_it(viewer, dock, wait_idle):
    sample = nuclei_2d()
    image = viewer.add_image(sample.image, name="img")
    seeds = viewer.add_labels(sample.seeds, name="seeds")
    dock.image_layer, dock.seeds_layer = image, seeds
    dock.run()
    wait_idle(dock)
    first = viewer.layers[-1]
    n_layers = len(viewer.layers)

    dock._smoothness.value = 0.5
    dock.run()
    wait_idle(dock)
    assert len(viewer.layers) == n_layers and viewer.layers[-1] is first  # unedited: updated
    assert np.array_equal(first.data, graph_cut(sample.image, sample.seeds, smoothness=0.5))

    first.paint((5, 5), 7, refresh=True)  # the user edits the output
    edited = first.data.copy()
    dock.run()
    wait_idle(dock)
    assert len(viewer.layers) == n_layers + 1
    second = viewer.layers[-1]
    assert second is not first and second.name.startswith("img graph cut")
    assert np.array_equal(first.data, edited)  # the user's strokes are kept


def test_seeds_edited_during_run_do_not_change_result(viewer, dock, wait_idle):
    sample = nuclei_2d()
    image = viewer.add_image(sample.image, name="img")
    seeds = viewer.add_labels(sample.seeds.copy(), name="seeds")
    dock.image_layer, dock.seeds_layer = image, seeds
    dock.run()
    seeds.data[:] = 0  # painted over while the job runs
    seeds.data[:128] = 2
    seeds.refresh()
    wait_idle(dock)
    out = viewer.layers[-1]
    assert np.array_equal(out.data, graph_cut(sample.image, sample.seeds))
    assert (seeds.data[:128] == 2).all()  # and the seeds layer is not touched


def test_run_while_busy_is_queued(viewer, dock, wait_idle, monkeypatch):
    sample = nuclei_2d()
    image = viewer.add_image(sample.image, name="img")
    seeds = viewer.add_labels(sample.seeds, name="seeds")
    dock.image_layer, dock.seeds_layer = image, seeds
    runs = []
    original = _method_widget.start_job_worker

    def counting(*args, **kwargs):
        assert not any(w.is_running for w in runs)  # never two at once
        runs.append(original(*args, **kwargs))
        return runs[-1]

    monkeypatch.setattr(_method_widget, "start_job_worker", counting)
    assert dock.run() is not None
    assert dock.run() is None and dock.status.startswith("queued")
    assert dock.run() is None
    wait_idle(dock)
    assert len(runs) == 2  # the queued requests ran once, after the first
    assert len(_outputs(viewer)) == 1


def test_new_seeds_layer_matches_image(viewer, dock):
    image = viewer.add_image(np.zeros((5, 40, 30), dtype=np.uint16), name="stack",
                             scale=(3, 0.5, 0.5), translate=(1, 2, 3))
    dock.image_layer = image
    layer = dock.new_seeds_layer()
    assert layer.name == "stack seeds" and layer.data.dtype == np.int32
    assert layer.data.shape == (5, 40, 30) and not layer.data.any()
    assert tuple(layer.scale) == (3, 0.5, 0.5) and tuple(layer.translate) == (1, 2, 3)
    assert dock.seeds_layer is layer and viewer.layers.selection.active is layer
    dock._new_seeds_button.changed.emit(True)  # the button does the same
    assert viewer.layers[-1].name.startswith("stack seeds")

    # RGB and multichannel images: seeds without the channel axis
    rgb = viewer.add_image(np.zeros((40, 50, 3), dtype=np.uint8), rgb=True, name="rgb")
    dock.image_layer = rgb
    assert not dock._channel_axis.enabled
    assert dock.new_seeds_layer().data.shape == (40, 50)
    multi = viewer.add_image(np.zeros((2, 40, 50)), name="multi")
    dock.image_layer = multi
    dock._channel_axis.value = "first axis"
    layer = dock.new_seeds_layer()
    assert layer.data.shape == (40, 50) and len(layer.scale) == 2


def test_rgb_and_rgba_layers(viewer, dock, wait_idle, iou):
    sample = nuclei_2d()
    grey = (sample.image / sample.image.max() * 255).astype(np.uint8)
    seeds = viewer.add_labels(sample.seeds, name="seeds", scale=(2, 2))
    for alpha in (False, True):
        channels = [grey, grey // 2, 255 - grey] + ([np.full_like(grey, 255)] if alpha else [])
        name = "rgba" if alpha else "rgb"
        image = viewer.add_image(np.stack(channels, axis=-1), rgb=True, name=name, scale=(2, 2))
        dock.image_layer, dock.seeds_layer = image, seeds
        dock.run()
        wait_idle(dock)
        out = viewer.layers[-1]
        assert out.name == f"{name} graph cut" and out.data.shape == (256, 256)
        assert tuple(out.scale) == (2, 2)
        assert iou(out.data, sample.labels) >= 0.8
    rgb_out, rgba_out = viewer.layers["rgb graph cut"], viewer.layers["rgba graph cut"]
    assert np.array_equal(rgb_out.data, rgba_out.data)  # alpha is ignored


def test_multichannel_with_channel_axis(viewer, dock, wait_idle):
    sample = nuclei_2d()
    data = np.stack([sample.image, sample.image[::-1]])
    image = viewer.add_image(data, name="two channels", scale=(1, 0.5, 0.5))
    seeds = viewer.add_labels(sample.seeds, name="seeds", scale=(0.5, 0.5))
    dock.image_layer, dock.seeds_layer = image, seeds
    dock._channel_axis.value = "first axis"
    dock.run()
    wait_idle(dock)
    out = viewer.layers[-1]
    assert out.data.shape == (256, 256) and tuple(out.scale) == (0.5, 0.5)
    assert np.array_equal(out.data, graph_cut(data, sample.seeds, channel_axis=0))


def test_multiscale_image_uses_level_that_fits(viewer, dock, wait_idle, monkeypatch):
    from napari_segkit import estimate_graph_cut_memory
    from napari_segkit._napari import _graph_cut_job

    sample = nuclei_2d()
    pyramid = [sample.image, sample.image[::2, ::2]]
    image = viewer.add_image(pyramid, multiscale=True, name="pyr", contrast_limits=(0, 4095))
    seeds = viewer.add_labels(sample.seeds, name="seeds")
    fine = estimate_graph_cut_memory((256, 256)).total_bytes
    coarse = estimate_graph_cut_memory((128, 128)).total_bytes
    available = (fine + coarse) / 2 / _graph_cut_job.MEMORY_FRACTION
    monkeypatch.setattr(_graph_cut_job, "available_memory", lambda: int(available))
    dock.image_layer, dock.seeds_layer = image, seeds
    dock.run()
    wait_idle(dock)
    out = viewer.layers[-1]
    assert out.data.shape == (128, 128) and tuple(out.scale) == (2, 2)
    assert "pyramid level 1" in dock.status


def test_deleting_layers_during_and_between_runs(viewer, dock, wait_idle):
    sample = nuclei_2d()
    image = viewer.add_image(sample.image, name="img", scale=(2, 2))
    seeds = viewer.add_labels(sample.seeds, name="seeds", scale=(2, 2))
    dock.image_layer, dock.seeds_layer = image, seeds
    dock.run()
    viewer.layers.remove(viewer.layers["img"])  # input removed while the job runs
    wait_idle(dock)
    out = viewer.layers[-1]  # the result still arrives, on the captured grid
    assert out.name == "img graph cut" and tuple(out.scale) == (2, 2)

    image = viewer.add_image(sample.image, name="img", scale=(2, 2))
    dock.image_layer = image
    dock.run()
    wait_idle(dock)
    viewer.layers.remove(viewer.layers[-1])  # output removed, then a re-run
    n_before = len(viewer.layers)
    dock.run()
    wait_idle(dock)
    assert len(viewer.layers) == n_before + 1
    assert viewer.layers[-1].name.startswith("img graph cut")


def test_closing_widget_cancels_run(viewer, qtbot):
    sample = nuclei_2d()
    image = viewer.add_image(sample.image, name="img")
    seeds = viewer.add_labels(sample.seeds, name="seeds")
    widget = GraphCutWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Graph cut")
    widget.image_layer, widget.seeds_layer = image, seeds
    n_before = len(viewer.layers)
    worker = widget.run()
    job = widget._job
    with qtbot.waitSignal(worker.finished, timeout=15000):
        widget.close()
    assert job.cancelled
    qtbot.wait(50)
    assert len(viewer.layers) == n_before
    viewer.add_labels(np.zeros((4, 4), dtype=np.int32))  # layer events no longer reach it
    assert widget.run() is None


def test_removing_dock_or_closing_viewer_cancels_run(make_napari_viewer, qtbot):
    sample = nuclei_2d()
    for how in ("remove dock", "close viewer"):
        viewer = make_napari_viewer()
        viewer.add_image(sample.image, name="img")
        seeds = viewer.add_labels(sample.seeds, name="seeds")
        _, widget = viewer.window.add_plugin_dock_widget("napari-segkit", "Graph cut")
        widget.seeds_layer = seeds
        n_before = len(viewer.layers)
        assert widget.run() is not None
        job = widget._job
        if how == "remove dock":
            viewer.window.remove_dock_widget(widget.native)
        else:
            viewer.close()
        # the widget's own `finished` handler (connected before the thread started: no race
        # with a job that ends before this test could connect to the signal)
        qtbot.waitUntil(lambda: widget.worker is None, timeout=15000)
        assert job.cancelled, how
        qtbot.wait(20)
        assert "img graph cut" not in viewer.layers, how
        if how == "remove dock":
            assert len(viewer.layers) == n_before


def test_live_mode_recuts_after_strokes(viewer, dock, qtbot, wait_idle):
    sample = nuclei_2d()
    image = viewer.add_image(sample.image, name="img")
    seeds = viewer.add_labels(sample.seeds.copy(), name="seeds")
    dock.image_layer, dock.seeds_layer = image, seeds
    dock._live.value = True
    assert dock._live.value
    seeds.paint((200, 10), 2, refresh=True)
    seeds.paint((201, 10), 2, refresh=True)
    qtbot.waitUntil(lambda: len(_outputs(viewer)) == 1, timeout=15000)
    wait_idle(dock)
    out = _outputs(viewer)[0]
    assert np.array_equal(out.data, graph_cut(sample.image, seeds.data))
    seeds.paint((20, 200), 2, refresh=True)
    qtbot.waitUntil(lambda: np.array_equal(out.data, graph_cut(sample.image, seeds.data)), timeout=15000)
    assert len(_outputs(viewer)) == 1  # the live output layer is updated in place


def test_live_mode_refused_for_large_frames(viewer, dock, monkeypatch):
    image = viewer.add_image(np.zeros((64, 64), dtype=np.uint8), name="big")
    dock.image_layer = image
    monkeypatch.setattr(_graph_cut_widget, "LIVE_MAX_PIXELS", 1000)
    dock._live.value = True
    assert not dock._live.value


@pytest.mark.parametrize("how", ["remove", "del", "remove_selected", "clear", "pop"])
def test_seeds_layer_in_paint_mode_leaves_it_before_it_leaves_the_viewer(viewer, dock, how):
    image = viewer.add_image(np.zeros((40, 30), dtype=np.uint16), name="img")
    dock.image_layer = image
    seeds = dock.new_seeds_layer()
    assert seeds.mode == "paint"  # the plugin put it there
    newer = dock.new_seeds_layer()  # the widget now uses this one; the first stays in paint mode
    assert dock.seeds_layer is newer and seeds.mode == "paint"
    mode_when_removed = {}
    viewer.layers.events.removed.connect(
        lambda event: mode_when_removed.setdefault(event.value.name, event.value.mode))
    if how == "remove":
        viewer.layers.remove(seeds)
    elif how == "del":
        del viewer.layers[viewer.layers.index(seeds)]
    elif how == "remove_selected":
        viewer.layers.select_all()
        viewer.layers.remove_selected()
    elif how == "clear":
        viewer.layers.clear()
    else:
        viewer.layers.pop(viewer.layers.index(seeds))
    assert seeds not in viewer.layers and mode_when_removed[seeds.name] == "pan_zoom"
