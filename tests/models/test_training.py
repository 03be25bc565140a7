"""train_model: a short run separates touching nuclei; options, progress, cancel, errors."""

import numpy as np
import pytest

from _model_helpers import instance_f1, touching_nuclei, touching_pairs
from napari_segkit import Cancelled, InputError
from napari_segkit.models import predict_labels, train_model


def test_short_training_separates_touching_nuclei(trained, one_thread):
    model, seconds = trained
    image, truth = touching_nuclei(seed=2)  # held out: not seen in training
    assert touching_pairs(truth) >= 5
    labels = predict_labels(image, model)
    assert labels.dtype == np.int32 and labels.shape == image.shape
    f1 = instance_f1(truth, labels, 0.5)
    assert f1 >= 0.9, f"instance F1@0.5 = {f1:.3f} after {seconds:.0f} s of training"
    history = model.history
    assert len(history) == 8 and history[-1]["loss"] < history[0]["loss"]
    assert model.config["training"]["device"] == "cpu"


def _tiny(**kwargs):
    image, labels = touching_nuclei((48, 48), n=4, seed=3)
    args = dict(options={"depth": 1, "width": 4}, epochs=2, steps_per_epoch=2, batch_size=2,
                validation_fraction=0.0, rng=0)
    args.update(kwargs)
    return image, labels, args


def test_progress_reports_losses_and_validation_keeps_best_epoch(one_thread):
    image, labels, args = _tiny(epochs=3, validation_fraction=0.5)
    messages, records = [], []
    model = train_model(
        [image, image[::-1]], [labels, labels[::-1]],
        progress=lambda f, m: messages.append((f, m)), on_epoch=records.append, **args,
    )
    fractions = [f for f, _ in messages]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("validation loss" in m for _, m in messages)
    assert [r["epoch"] for r in records] == [1, 2, 3]
    best = min(records, key=lambda r: r["val_loss"])["epoch"]
    assert model.config["training"]["best_epoch"] == best


def test_cancel_between_steps(one_thread):
    image, labels, args = _tiny(epochs=50)
    calls = []

    def progress(fraction, message):
        calls.append(message)
        if "step 2" in message:
            raise Cancelled()

    with pytest.raises(Cancelled):
        train_model(image, labels, progress=progress, **args)
    assert len(calls) < 5


def test_time_budget_stops_training(one_thread):
    image, labels, args = _tiny(epochs=None, time_budget=0.01)
    model = train_model(image, labels, **args)
    assert model.config["training"]["stopped_by"] == "time budget"
    assert len(model.history) == 1


def test_sparse_labels_with_ignore_region(one_thread):
    image, labels, args = _tiny()
    sparse = labels.copy()
    sparse[:, 24:] = -1  # right half not annotated
    model = train_model(image, sparse, ignore_label=-1, **args)
    assert model.config["training"]["ignore_label"] == -1
    with pytest.raises(InputError, match="every pixel as ignored"):
        train_model(image, np.full_like(labels, -1), ignore_label=-1, **args)


def test_multichannel_and_3d(one_thread):
    image, labels, args = _tiny()
    rgb = np.stack([image, image // 2, image], axis=-1)
    model = train_model(rgb, labels, channel_axis=-1, **args)
    assert model.in_channels == 3
    volume = np.stack([image[:16, :16]] * 8)
    vlabels = np.stack([labels[:16, :16]] * 8)
    model3 = train_model(volume, vlabels, spacing=(2.0, 1.0, 1.0), **args)
    assert model3.spatial_dims == 3 and model3.voxel_size == (2.0, 1.0, 1.0)


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(labels=[np.zeros((48, 48), int)] * 2), "2 label arrays"),
        (dict(labels=np.zeros((40, 48), int)), r"labels\[0\] has shape \(40, 48\)"),
        (dict(labels=np.zeros((48, 48), float)), "float dtype"),
        (dict(labels=np.zeros((48, 48), int)), "no objects"),
        (dict(image=np.full((48, 48), np.nan)), "NaN"),
        (dict(image=np.zeros((48, 48), complex)), "complex"),
        (dict(epochs=0), "epochs must be an integer"),
        (dict(time_budget=-1), "time_budget must be a positive"),
        (dict(validation_fraction=1.0), "validation_fraction"),
        (dict(architecture="resnet"), "architecture 'resnet' is not known; available: unet"),
        (dict(options={"depht": 2}), r"options \['depht'\] are not known"),
        (dict(device="cuda:3"), "device 'cuda:3' is not present"),
    ],
)
def test_bad_inputs(change, match):
    image, labels, args = _tiny()
    image = change.pop("image", image)
    labels = change.pop("labels", labels)
    args.update(change)
    with pytest.raises(InputError, match=match):
        train_model(image, labels, **args)
