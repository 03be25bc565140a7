"""The distance target: relative depth classes, instances from them, training and fine-tuning with it."""

import numpy as np
import pytest

from _model_helpers import touching_nuclei
from napari_segkit import InputError
from napari_segkit.evaluation import iou
from napari_segkit.models import predict_labels, train_model
from napari_segkit.models.instances import instances_from_probabilities
from napari_segkit.models.targets import (BOUNDARY, DISTANCE_CLASSES, IGNORE, INTERIOR, distance_targets,
                                          instance_targets)


def _two_touching_squares():
    labels = np.zeros((30, 44), np.int32)
    labels[5:25, 4:22] = 1
    labels[5:25, 22:40] = 2
    return labels


def test_depth_classes_ring_bins_and_core_per_object():
    labels = _two_touching_squares()
    target = distance_targets(labels)
    assert set(np.unique(target)) == {0, 1, 2, 3, 4}
    ring = instance_targets(labels, boundary_width=1) == BOUNDARY
    np.testing.assert_array_equal(target == BOUNDARY, ring)  # the edge ring, contact line included
    assert target[15, 13] == INTERIOR and target[15, 31] == INTERIOR  # each object's own core
    assert not (target[:, 20:24] == INTERIOR).any()  # no core near the contact
    assert (target[labels == 0] == 0).all()
    # a bigger object does not get a bigger core share: the bins are relative to each object's depth
    small = np.zeros((40, 40), np.int32)
    small[2:8, 2:8] = 1
    small[12:36, 12:36] = 2
    t = distance_targets(small)
    assert (t[small == 1] == INTERIOR).any() and (t[small == 2] == INTERIOR).any()


def test_unannotated_pixels_and_their_neighbours_are_ignored():
    labels = _two_touching_squares()
    labels[:, 38:] = -1
    target = distance_targets(labels, ignore_label=-1)
    assert (target[:, 38:] == IGNORE).all()
    assert (target[5:25, 37] == IGNORE).all()  # object pixels next to unknown ones


def test_instances_from_perfect_depth_probabilities_separate_touching_objects():
    labels = _two_touching_squares()
    probabilities = np.eye(len(DISTANCE_CLASSES), dtype=np.float32)[distance_targets(labels)]
    found = instances_from_probabilities(probabilities)
    assert len(np.unique(found)) == 3
    for k in (1, 2):
        best = np.bincount(found[labels == k]).argmax()
        assert iou(found == best, labels == k) > 0.9


def test_train_with_the_distance_target_predicts_and_fine_tunes_with_it(one_thread):
    image, labels = touching_nuclei((48, 48), n=4, seed=3)
    args = dict(options={"depth": 1, "width": 4}, epochs=1, steps_per_epoch=2, batch_size=2,
                validation_fraction=0.0, rng=0)
    model = train_model(image, labels, target="distance", **args)
    assert model.classes == list(DISTANCE_CLASSES)
    assert predict_labels(image, model).shape == image.shape
    again = train_model(image, labels, init_model=model, **{**args, "options": None})
    assert again.classes == list(DISTANCE_CLASSES)  # the model's own target
    with pytest.raises(InputError, match="target='boundary'"):
        train_model(image, labels, init_model=model, target="boundary", **{**args, "options": None})
    with pytest.raises(InputError, match="target must be one of"):
        train_model(image, labels, target="flows", **args)


def test_thin_touching_rods_keep_their_seeds_from_soft_probabilities():
    from scipy import ndimage as ndi

    labels = np.zeros((40, 60), np.int32)
    labels[10:18, 8:50] = 1  # two rods 8 px wide, side by side
    labels[18:26, 10:52] = 2
    probabilities = np.eye(len(DISTANCE_CLASSES), dtype=np.float32)[distance_targets(labels)]
    probabilities = ndi.gaussian_filter(probabilities, (1.0, 1.0, 0))  # a soft, network-like output
    found = instances_from_probabilities(probabilities)
    for k in (1, 2):
        best = np.bincount(found[labels == k]).argmax()
        assert best > 0 and iou(found == best, labels == k) > 0.8
