import numpy as np
import pytest

from napari_segkit._errors import InputError
from napari_segkit.evaluation import dice, foreground_dice, instance_f1, iou, match_instances


def test_iou_and_dice_exact():
    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    a[:2, :2] = True  # 4 px
    b[:2, :3] = True  # 6 px, 4 shared
    assert iou(a, b) == pytest.approx(4 / 6)
    assert dice(a, b) == pytest.approx(8 / 10)
    assert iou(np.zeros((2, 2)), np.zeros((2, 2))) == 1.0
    assert iou(a, np.zeros((4, 4))) == 0.0


def test_shape_mismatch_names_both():
    with pytest.raises(InputError, match="shape"):
        iou(np.zeros((2, 2)), np.zeros((3, 3)))


def _two_objects():
    ref = np.zeros((10, 10), np.int32)
    ref[0:4, 0:4] = 1  # 16 px
    ref[6:10, 6:10] = 2  # 16 px
    return ref


def test_match_exact_counts_and_ids():
    ref = _two_objects()
    pred = np.zeros_like(ref)
    pred[0:4, 0:3] = 7  # IoU 12/16 = 0.75 with ref 1
    pred[6:10, 8:10] = 3  # IoU 8/16 = 0.5 with ref 2: not > 0.5
    pred[5, 0] = 9  # a false positive
    match = match_instances(pred, ref, 0.5)
    assert match.pairs == [(7, 1, pytest.approx(0.75))]
    assert (match.tp, match.fp, match.fn) == (1, 2, 1)
    assert match.f1 == pytest.approx(2 / (2 + 2 + 1))
    assert instance_f1(pred, ref, 0.75) == pytest.approx(0.0)  # 0.75 does not exceed 0.75
    assert instance_f1(pred, ref, 0.7) == pytest.approx(2 / 5)


def test_merged_objects_hidden_by_dice_caught_by_f1():
    ref = np.zeros((4, 8), np.int32)
    ref[:, :4] = 1
    ref[:, 4:] = 2
    merged = (ref > 0).astype(np.int32)
    assert foreground_dice(merged, ref) == 1.0
    assert instance_f1(merged, ref) == 0.0
    assert instance_f1(ref, ref) == 1.0


def test_low_threshold_is_one_to_one_and_maximal():
    ref = np.zeros((1, 10), np.int32)
    ref[0, 0:5] = 1
    ref[0, 5:10] = 2
    pred = np.zeros_like(ref)
    pred[0, 0:7] = 1  # IoU 5/7 with ref 1, 2/10 with ref 2
    pred[0, 7:10] = 2  # IoU 3/5 with ref 2
    match = match_instances(pred, ref, 0.1)
    assert sorted(p[:2] for p in match.pairs) == [(1, 1), (2, 2)]


def test_region_restricts_sparse_reference():
    ref = _two_objects()
    pred = ref.copy()
    pred[0:4, 6:10] = 5  # an object outside the annotated region
    region = np.zeros_like(ref, bool)
    region[:, :5] = True
    region[6:, 5:] = True
    assert instance_f1(pred, ref) == pytest.approx(4 / 5)
    assert instance_f1(pred, ref, region=region) == 1.0


def test_bad_labels_named():
    with pytest.raises(InputError, match="pred"):
        match_instances(np.full((2, 2), -1), np.zeros((2, 2), int))
    with pytest.raises(InputError, match="threshold"):
        match_instances(np.zeros((2, 2), int), np.zeros((2, 2), int), 1.5)
