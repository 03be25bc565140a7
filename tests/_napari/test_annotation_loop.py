"""The whole loop through the widgets: accept, train a time series as 2-D, predict, correct, retrain, replay."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari")
pytest.importorskip("torch")

import napari_segkit
from napari_segkit._napari._annotation_widget import AnnotationWidget, annotation_set_of
from napari_segkit._napari._predict_widget import PredictWidget
from napari_segkit._napari._train_widget import TrainWidget, training_plan
from napari_segkit.samples import nuclei_time_series


def test_training_plan_asks_when_it_cannot_tell():
    from napari_segkit import InputError

    assert training_plan(3, "tyx", None, "m")[0] == 2
    assert training_plan(3, "zyx", None, "m")[0] == 3
    assert training_plan(3, None, 2, "m")[0] == 2
    with pytest.raises(InputError, match="time .* or depth"):
        training_plan(3, None, None, "m")


def test_loop_through_the_widgets(viewer, qtbot, wait_idle, error_messages, tmp_path):
    sample = nuclei_time_series(n_frames=3, shape=(64, 64), n_nuclei=6, rng=1)
    movie = viewer.add_image(sample.image, name="movie", axis_labels=("t", "y", "x"))
    cuts = np.zeros_like(sample.labels)
    cuts[0] = sample.labels[0]  # a method's result on frame 0, e.g. GrabCut boxes
    cut_layer = viewer.add_labels(cuts, name="cuts")

    annotate = AnnotationWidget(viewer)
    viewer.window.add_dock_widget(annotate)
    annotate._image.value = movie
    aset = annotate.new_set()
    assert aset.axes["movie"] == "tyx" and annotate.layer.name == "movie annotations"
    annotate._source.value = cut_layer
    ids = annotate.accept_all()
    assert len(ids) == len(np.unique(sample.labels[0])) - 1
    assert np.array_equal(annotate.layer.data[0] > 0, sample.labels[0] > 0)
    annotate.undo()
    assert not annotate.layer.data.any()
    annotate.accept_all()
    points = viewer.add_points([[0, 2, 2], [0, 60, 60]], name="clicks")
    annotate._points.value = points
    assert annotate.background_from_points() > 0
    assert annotation_set_of(annotate.layer) is aset

    train = TrainWidget(viewer)
    viewer.window.add_dock_widget(train)
    train.image_layer = movie
    train.set_layer("labels", annotate.layer)
    train._update_plan()
    assert "2-D network" in str(train._plan.value) and "axis labels" in str(train._plan.value)
    train._depth.value, train._width.value, train._epochs.value = 2, 4, 1
    train._budget.value = 5.0
    train._device.value = "cpu"
    train._folder.value = tmp_path / "model1"
    train.run()
    wait_idle(train, timeout=120000)
    assert train.status.startswith("done"), train.status
    assert train.last_model is not None and train.last_model.spatial_dims == 2
    assert len(train._plot.points) >= 1  # the live plot got the epochs
    assert aset.events[-1]["op"] == "train"
    assert train.last_model.config["training"]["annotations"]["objects"] == aset.n_objects

    predict = PredictWidget(viewer)
    viewer.window.add_dock_widget(predict)
    predict.image_layer = movie
    predict._model.value = tmp_path / "model1"
    predict._device.value = "cpu"
    predict._uncertainty.value = True
    predict._samples.value = 2
    predict.run()
    wait_idle(predict, timeout=120000)
    proposals = viewer.layers["movie network"]
    assert proposals.data.shape == sample.labels.shape
    assert "movie network uncertainty" in [layer.name for layer in viewer.layers]
    if predict.ranking:  # a two-epoch network may propose nothing; the ranking is then empty
        first = predict.next_uncertain()
        assert proposals.selected_label == first.id
        assert viewer.dims.current_step[0] == int(first.centre[0])

    # correct: accept a reference object of frame 2 as if a proposal, split a merged pair, delete, undo
    fixed = np.zeros_like(sample.labels)
    fixed[2] = sample.labels[2]
    fixed_layer = viewer.add_labels(fixed, name="fixed")
    annotate._source.value = fixed_layer
    fixed_layer.selected_label = int(np.unique(sample.labels[2])[1])
    (new_id,) = annotate.accept_selected()
    annotate._ids.value = str(new_id)
    annotate.delete_selected()
    annotate.undo()
    assert (annotate.layer.data == new_id).any()

    train._folder.value = tmp_path / "model2"
    train._update_plan()
    assert "fine-tuning" in str(train._plan.value)
    train.run()
    wait_idle(train, timeout=120000)
    assert train.status.startswith("done"), train.status

    annotate._folder.value = tmp_path / "annotations"
    folder = annotate.save()
    again = napari_segkit.replay(folder)
    assert np.array_equal(again.labels["movie"], annotate.layer.data)
    assert np.array_equal(again.background["movie"], aset.background["movie"])
    assert "napari_segkit.replay" in annotate.copy_python()
    assert str(aset.effort()).startswith(f"{aset.n_objects} objects")
    assert not error_messages


def test_cancel_saves_the_best_model_so_far(viewer, qtbot, wait_idle, tmp_path):
    sample = nuclei_time_series(n_frames=2, shape=(48, 48), n_nuclei=4, rng=2)
    image = viewer.add_image(sample.image[0], name="cells")
    labels = viewer.add_labels(sample.labels[0], name="cells labels")
    train = TrainWidget(viewer)
    viewer.window.add_dock_widget(train)
    train.image_layer = image
    train.set_layer("labels", labels)
    train._depth.value, train._width.value, train._epochs.value = 1, 4, 10000
    train._budget.value = 600.0
    train._device.value = "cpu"
    train._folder.value = tmp_path / "model"
    train.run()
    qtbot.waitUntil(lambda: len(train._plot.points) >= 1, timeout=60000)
    train.cancel()
    wait_idle(train, timeout=60000)
    assert train.status.startswith("cancelled: the best model so far"), train.status
    assert (tmp_path / "model" / "config.json").is_file()
    assert train.last_model.config["training"]["stopped_by"] == "cancelled"
