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


@pytest.mark.parametrize("stop", [Cancelled, KeyboardInterrupt])
def test_cancel_after_an_epoch_returns_the_best_model_so_far(one_thread, stop):
    image, labels, args = _tiny(epochs=50)
    calls = []

    def progress(fraction, message):
        calls.append(message)
        if message.startswith("epoch 2, step 1"):
            raise stop()

    model = train_model(image, labels, progress=progress, **args)
    assert model.config["training"]["stopped_by"] == "cancelled"
    assert [r["epoch"] for r in model.history] == [1]
    assert model.config["training"]["best_epoch"] == 1
    assert not any("training done" in m for m in calls)  # nothing reported after the cancel
    assert predict_labels(image, model).shape == image.shape


def test_fine_tune_from_a_model(one_thread, tmp_path):
    image, labels, args = _tiny()
    first = train_model(image, labels, **args)
    first.save(tmp_path / "m")
    second = train_model(image, labels, init_model=first, **{**args, "options": None})
    training = second.config["training"]
    assert training["resumed_from"]["epochs"] == 2
    assert training["resumed_from"]["source"] == str(tmp_path / "m")
    assert training["resumed_from"]["weights_sha256"] == first.config["weights_sha256"]
    assert len(training["earlier_rounds"]) == 1
    assert second.config["options"] == first.config["options"]
    # the weights start from the first model's (a negligible learning rate keeps them), which is left as it was
    import torch

    before = {k: v.clone() for k, v in first.network.named_parameters()}
    zero = train_model(image, labels, init_model=first, **{**args, "options": None, "epochs": 1,
                                                          "learning_rate": 1e-12})
    after = dict(zero.network.named_parameters())
    for key, value in first.network.named_parameters():
        assert torch.equal(value, before[key]), key
        assert torch.allclose(after[key], value, atol=1e-6), key
    third = train_model(image, labels, init_model=str(tmp_path / "m"), **{**args, "options": None})
    assert len(third.config["training"]["earlier_rounds"]) == 1
    fourth = train_model(image, labels, init_model=second, **{**args, "options": None})
    assert len(fourth.config["training"]["earlier_rounds"]) == 2


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(architecture="fcn"), "architecture 'fcn' differs from init_model's 'unet'"),
        (dict(options={"width": 8}), r"options differ from init_model's: width=8 \(init_model: 4\)"),
        (dict(image="rgb"), "init_model expects 1 channel"),
        (dict(image="3d"), "init_model is 2-D but the training images are 3-D"),
        (dict(init_model=42), "init_model must be a Model"),
    ],
)
def test_fine_tune_refuses_a_model_that_does_not_fit(change, match):
    image, labels, args = _tiny()
    first = train_model(image, labels, **{**args, "epochs": 1, "steps_per_epoch": 1})
    args.pop("options")
    kind = change.pop("image", None)
    if kind == "rgb":
        image = np.stack([image] * 3, axis=-1)
        args["channel_axis"] = -1
    elif kind == "3d":
        image, labels = np.stack([image[:16, :16]] * 4), np.stack([labels[:16, :16]] * 4)
    args["init_model"] = first
    args.update(change)
    with pytest.raises(InputError, match=match):
        train_model(image, labels, **args)


def test_integer_valued_float_labels_are_accepted(one_thread):
    image, labels, args = _tiny(epochs=1)
    model = train_model(image, labels.astype(np.float32), **args)
    assert model.config["training"]["n_images"] == 1
    sizes = np.unique(labels[labels > 0], return_counts=True)[1]
    assert model.config["training"]["median_object_size"] == float(np.median(sizes))


def test_labels_that_would_train_a_useless_network_are_refused():
    image, labels, args = _tiny()
    # graph-cut style output: 1 = background seed value, 2 = cells
    semantic = np.where(labels > 0, 2, 1)
    with pytest.raises(InputError, match=r"label 1 covers \d+% .*Map the background value to 0"):
        train_model(image, semantic, **args)
    # the same with 0 left for unlabelled pixels
    partly = semantic.copy()
    partly[:3, :3] = 0
    with pytest.raises(InputError, match="label 1 covers"):
        train_model(image, partly, **args)
    # no background at all among the annotated pixels
    sparse = np.where(labels > 0, labels, -1)
    with pytest.raises(InputError, match=r"no pixel of the annotated pixels is background \(0\)"):
        train_model(image, sparse, ignore_label=-1, **args)
    with pytest.raises(InputError, match="ignore_label=0 marks the background"):
        train_model(image, labels, ignore_label=0, **args)
    # one large cell that does not touch every edge is fine to check
    big = np.zeros((48, 48), int)
    big[4:44, 2:46] = 1
    from napari_segkit.models.label_checks import check_trainable

    check_trainable([big], None)


def test_epoch_lines_name_the_budget_not_an_epoch_cap(one_thread, caplog):
    import logging

    image, labels, args = _tiny(epochs=None, time_budget=30.0)
    args["steps_per_epoch"] = 1
    messages = []
    stop_after = 2

    def progress(fraction, message):
        messages.append(message)
        if sum(m.startswith("epoch") and "loss" in m and "step" not in m for m in messages) >= stop_after:
            raise Cancelled()

    with caplog.at_level(logging.INFO, logger="napari_segkit"):
        train_model(image, labels, progress=progress, **args)
    epoch_lines = [m for m in messages if m.startswith("epoch") and "step" not in m]
    assert epoch_lines and all("s of 30 s)" in m and "/" not in m.split(":")[0] for m in epoch_lines)
    assert sum("cpu" in m.lower() for m in messages[:1]) == 1
    # with a progress callback, nothing of it is logged a second time
    logged = [r.getMessage() for r in caplog.records if r.name == "napari_segkit.models.training"]
    assert not any("epoch 1" in m for m in logged)
    # without one, each line is logged once
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="napari_segkit"):
        train_model(image, labels, **{**args, "epochs": 2, "time_budget": None})
    logged = [r.getMessage() for r in caplog.records if r.name == "napari_segkit.models.training"]
    assert sum("epoch 1/2:" in m for m in logged) == 1 and sum("epoch 2/2:" in m for m in logged) == 1
    assert sum("cpu" in m.lower() and "epoch" not in m for m in logged) == 1


def test_time_budget_stops_training(one_thread):
    image, labels, args = _tiny(epochs=None, time_budget=1e-6)
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
        (dict(labels=np.full((48, 48), 0.5)), "non-integer values"),
        (dict(labels=np.full((48, 48), np.nan)), "NaN"),
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


def test_plateau_rule():
    from napari_segkit.models.schedule import plateau as _plateau

    def history(losses):
        return [{"val_loss": v} for v in losses]

    assert not _plateau(history([1.0] * 12))  # too few epochs to judge
    assert _plateau(history([1.0] * 13))  # 12 epochs without a new best
    assert not _plateau(history([1.0] * 12 + [0.95]))  # a 5 % gain resets it
    assert _plateau(history([1.0] + [0.995] * 12))  # 0.5 % is not a gain
    # the window grows with the run: 20 epochs after 64 or 65 (30 %, rounded up)
    improving = list(np.linspace(2.0, 1.0, 45))
    assert not _plateau(history(improving + [1.0] * 19))  # a gain 20 epochs back
    assert _plateau(history(improving + [1.0] * 20))


def test_cosine_rate_decays_to_five_percent():
    import torch

    from napari_segkit.models.schedule import set_rate as _set_rate

    optimiser = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1.0)
    rates = []
    for f in (0.0, 0.5, 1.0, 2.0):
        _set_rate(optimiser, 1e-3, "cosine", f)
        rates.append(optimiser.param_groups[0]["lr"])
    assert rates[0] == pytest.approx(1e-3) and rates[1] == pytest.approx(0.525e-3)
    assert rates[2] == rates[3] == pytest.approx(0.05e-3)
    _set_rate(optimiser, 1e-3, "constant", 0.7)
    assert optimiser.param_groups[0]["lr"] == 1e-3


def test_a_budget_without_epochs_stops_when_validation_stops_improving(one_thread, monkeypatch):
    from napari_segkit.models import schedule

    monkeypatch.setattr(schedule, "PLATEAU_EPOCHS", 1)
    monkeypatch.setattr(schedule, "PLATEAU_GAIN", 0.99)  # demands a 99 % gain per epoch
    image, labels, args = _tiny(epochs=None, time_budget=600.0, validation_fraction=0.5)
    model = train_model([image, image[::-1]], [labels, labels[::-1]], **args)
    assert model.config["training"]["stopped_by"] == "converged"
    assert len(model.history) == 2
    with pytest.raises(InputError, match="lr_schedule must be one of"):
        train_model(image, labels, **{**args, "lr_schedule": "step"})
    with pytest.raises(InputError, match="budget_clock must be one of .* got 'gpu'"):
        train_model(image, labels, **{**args, "budget_clock": "gpu"})
    with pytest.raises(InputError, match="augment must be True, False or one of .* got 'heavy'"):
        train_model(image, labels, **{**args, "augment": "heavy"})


def test_a_cpu_budget_counts_this_process_cpu_time(one_thread):
    import time

    # a progress callback that sleeps: wall time passes, CPU time hardly does
    image, labels, args = _tiny(epochs=None, time_budget=0.5, validation_fraction=0.0)
    model = train_model(image, labels, **args, budget_clock="cpu", progress=lambda f, m: time.sleep(0.02))
    record = model.config["training"]
    assert record["budget_clock"] == "cpu" and record["stopped_by"] == "time budget"
    assert 0.5 <= record["budget_seconds"] < record["seconds"]
