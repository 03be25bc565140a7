"""The Train network and Predict with network dock widgets: train a tiny model, then use it."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari")
pytest.importorskip("torch")

from napari.layers import Image, Labels

from napari_segkit import load_model, predict_labels, predict_probabilities
from napari_segkit._napari._predict_widget import PredictWidget
from napari_segkit._napari._train_widget import TrainWidget
from napari_segkit.samples import nuclei_2d


def test_train_then_predict(viewer, qtbot, wait_idle, error_messages, tmp_path):
    sample = nuclei_2d()
    image = np.asarray(sample.image)[:64, :64]
    truth = np.asarray(sample.labels)[:64, :64].astype(np.int32)
    img = viewer.add_image(image, name="cells", scale=(0.5, 0.5))
    lab = viewer.add_labels(truth, name="cells labels", scale=(0.5, 0.5))

    train = TrainWidget(viewer)
    viewer.window.add_dock_widget(train)
    assert train._run_button.text == "Train"
    train.image_layer = img
    train.set_layer("labels", lab)
    train._depth.value, train._width.value, train._epochs.value = 2, 8, 1
    train._device.value = "cpu"
    assert train.run() is None and "choose the 'Save model to' folder" in error_messages[-1]
    folder = tmp_path / "model"
    train._folder.value = folder
    train.run()
    wait_idle(train, timeout=60000)
    assert train.status.startswith("done") and str(folder) in train.status, train.status
    assert (folder / "config.json").is_file()
    qtbot.waitUntil(lambda: "epoch 1: loss" in str(train._loss.value), timeout=5000)
    n_layers = len(viewer.layers)
    # a second run would replace the folder: refused unless Overwrite is ticked
    assert train.run() is None and "already exists" in error_messages[-1]
    assert len(viewer.layers) == n_layers

    predict = PredictWidget(viewer)
    viewer.window.add_dock_widget(predict)
    predict.image_layer = img
    predict._model.value = folder
    predict._device.value = "cpu"
    predict.run()
    wait_idle(predict, timeout=60000)
    assert "CPU" in predict.status, predict.status
    model = load_model(folder)
    expected = predict_labels(image, model, spacing=(0.5, 0.5), device="cpu")
    out = viewer.layers["cells network"]
    assert isinstance(out, Labels) and np.array_equal(out.data, expected)
    assert tuple(out.scale) == (0.5, 0.5)
    prob = viewer.layers["cells network probabilities"]
    assert isinstance(prob, Image) and prob.data.shape == (3, 64, 64)
    expected_prob = predict_probabilities(image, model, spacing=(0.5, 0.5), device="cpu")
    assert np.allclose(prob.data, np.moveaxis(expected_prob, -1, 0), atol=1e-5)
    assert tuple(prob.scale) == (1.0, 0.5, 0.5)

    # the widget applies predict_labels' default minimum size (a quarter of the model's median training
    # object): with a median recorded at 4.4 x the largest predicted object, every object goes
    import json

    sizes = np.bincount(out.data.ravel())[1:]
    assert sizes.max() > 0
    config = json.loads((folder / "config.json").read_text())
    config["training"]["median_object_size"] = 4.4 * float(sizes.max())
    (folder / "config.json").write_text(json.dumps(config))
    predict.run()
    wait_idle(predict, timeout=60000)
    assert np.array_equal(viewer.layers[-2].data, predict_labels(image, load_model(folder), spacing=(0.5, 0.5)))
    assert viewer.layers[-2].data.max() == 0

    predict._model.value = tmp_path / "missing"
    assert predict.run() is None and "does not exist" in error_messages[-1]
