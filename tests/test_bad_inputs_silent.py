"""Inputs that used to give a wrong result silently (or a crash deep in a library)."""

from __future__ import annotations

import numpy as np
import pytest

import napari_segkit as ns
from _option_matrix import tiny_model


@pytest.fixture(scope="module")
def model():
    return tiny_model()


def _image(shape=(32, 32)):
    img = np.zeros(shape, np.float32)
    img[8:24, 8:24] = 1
    return img


def test_dask_image_with_one_nan_fails_the_prediction(model):
    da = pytest.importorskip("dask.array")
    image = _image((64, 64))
    image[40, 3] = np.nan
    with pytest.raises(ns.InputError, match=r"image has 1 NaN values"):  # now or when computed
        ns.predict_probabilities(da.from_array(image, chunks=32), model).compute()
    clean = ns.predict_probabilities(da.from_array(_image((64, 64)), chunks=32), model).compute()
    assert np.isfinite(clean).all()


def test_model_with_nan_weights_refused_before_predicting(model):
    import torch

    broken = model.copy()
    with torch.no_grad():
        next(iter(broken.network.parameters())).view(-1)[0] = float("nan")
    with pytest.raises(ns.InputError, match=r"model: 1 tensor\(s\) hold NaN"):
        ns.predict_probabilities(_image(), broken)


def test_training_loss_turning_nan_stops_with_a_clear_error(model):
    import torch

    broken = model.copy()
    with torch.no_grad():
        for p in broken.network.parameters():
            p.fill_(float("inf"))
    labels = (_image() > 0.5).astype(np.int32)
    with pytest.raises(ns.InputError, match=r"training loss became nan.*learning_rate"):
        ns.train_model([_image()], [labels], init_model=broken, epochs=1, steps_per_epoch=1,
                       batch_size=1, patch_shape=16, validation_fraction=0.0, augment=False, rng=0)


def test_infinite_learning_rate_refused():
    with pytest.raises(ns.InputError, match="learning_rate must be a finite number, got inf"):
        ns.train_model([_image()], [(_image() > 0.5).astype(np.int32)], learning_rate=np.inf)


def test_patch_larger_than_the_images_is_clipped():
    labels = (_image() > 0.5).astype(np.int32)
    with pytest.warns(UserWarning, match=r"patch_shape \(100000, 100000\) is larger than the largest"):
        trained = ns.train_model([_image()], [labels], options={"depth": 1, "width": 4}, epochs=1,
                                 steps_per_epoch=1, batch_size=1, patch_shape=100000,
                                 validation_fraction=0.0, augment=False, rng=0)
    assert trained.spatial_dims == 2


def test_spacing_far_from_the_models_refused_before_allocating(model):
    with pytest.raises(ns.ResourceLimitError, match=r"spacing \(1000000.0, 1000000.0\) is 1e\+06x the model's"):
        ns.predict_probabilities(_image((256, 256)), model, spacing=(1e6, 1e6))


@pytest.mark.parametrize("bad", [42, 3.5, object()])
def test_model_argument_named(bad):
    with pytest.raises(ns.InputError, match=r"model must be a Model or the path"):
        ns.predict_probabilities(_image(), bad)


def test_kmeans_masks_lazy_and_empty():
    da = pytest.importorskip("dask.array")
    image = _image()
    mask = da.from_array(image > 0.5, chunks=16)
    labels = ns.kmeans(image, 2, mask=mask, rng=0)  # a lazy mask with an in-memory image
    assert np.asarray(labels)[~(image > 0.5)].max() == 0
    with pytest.raises(ns.InputError, match="mask selects no pixel"):
        np.asarray(ns.kmeans(da.from_array(image, chunks=16), 2,
                             mask=da.zeros((32, 32), dtype=bool, chunks=16), rng=0))


@pytest.mark.parametrize("chunks", [True, "abc", b"x"])
def test_slic_chunks_refused(chunks):
    with pytest.raises(ns.InputError, match="chunks must be None, 'auto'"):
        ns.slic(_image(), chunks=chunks)


@pytest.mark.parametrize("shape, words", [((-5, 10), r"shape\[0\] must be >= 1, got -5"),
                                          ("abc", "shape must be a sequence"),
                                          ((0, 4), r"shape\[0\] must be >= 1")])
def test_graph_cut_estimate_refuses_impossible_shapes(shape, words):
    with pytest.raises(ns.InputError, match=words):
        ns.estimate_graph_cut_memory(shape)


def test_kmeans_rgb_string_not_taken_as_true():
    rgb = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ns.InputError, match="rgb must be True or False, got 'no'"):
        ns.kmeans(rgb, 2, channel_axis=-1, rgb="no")
