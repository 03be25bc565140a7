"""Correcting proposals: accepted objects over proposals, clicks from a proposal, accept, undo, new objects."""

import numpy as np
import pytest

from napari_segkit import InputError
from napari_segkit.annotation import AnnotationSet, ProposalCorrection, dataset_labels, replay
from napari_segkit.evaluation import ClickRobot, iou


def _scene(shape=(96, 96), seed=0):
    """Three bright discs on a dark background, the image and the reference."""
    rng = np.random.default_rng(seed)
    yy, xx = np.indices(shape)
    truth = np.zeros(shape, np.int32)
    for k, (cy, cx, r) in enumerate(((25, 25, 10), (25, 70, 9), (70, 48, 12)), start=1):
        truth[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = k
    image = 100 + 500 * (truth > 0) + rng.normal(0, 40, shape)
    return image.astype(np.float32), truth


def test_dataset_labels_keeps_accepted_and_drops_replaced_proposals():
    accepted = np.zeros((20, 20), np.int32)
    accepted[2:8, 2:8] = 4
    proposals = np.zeros((20, 20), np.int32)
    proposals[3:9, 3:9] = 1  # mostly under the accepted object: replaced
    proposals[12:18, 12:18] = 2  # free: kept
    proposals[6:12, 2:8] = 3  # a third under the accepted object: its free part kept
    out = dataset_labels(accepted, proposals)
    assert (out[accepted > 0] == 4).all()
    assert not np.isin(1 + 4, out)
    np.testing.assert_array_equal(out == 2 + 4, proposals == 2)
    np.testing.assert_array_equal(out == 3 + 4, (proposals == 3) & (accepted == 0))
    with pytest.raises(InputError, match="shape"):
        dataset_labels(accepted, proposals[:10])


def test_clicks_correct_a_proposal_then_accept_records_them():
    image, truth = _scene()
    proposals = truth.copy()
    proposals[(truth == 0) & (np.indices(truth.shape)[1] > 55) & (np.indices(truth.shape)[0] < 45)] = 2  # 2 took a slab
    proposals[truth == 3] = 0  # 3 was missed
    fix = ProposalCorrection(image, proposals, rng=0)
    robot = ClickRobot(truth == 2)
    before = iou(fix.mask(2), truth == 2)
    clicks = 0
    while iou(fix.mask(2), truth == 2) < 0.85 and clicks < 3:
        coords, positive = robot.next_click(fix.mask(2))
        fix.click(2, coords, positive=positive)
        clicks += 1
    assert before < 0.5 and iou(fix.mask(2), truth == 2) > 0.85
    np.testing.assert_array_equal(fix.mask(1), proposals == 1)  # the other proposal is untouched
    new = fix.new_object(ClickRobot(truth == 3).first_click())
    assert iou(fix.mask(new), truth == 3) > 0.85

    aset = AnnotationSet({"img": truth.shape})
    [corrected] = fix.accept(aset, "img", 2)
    [as_is] = fix.accept(aset, "img", 1)
    assert aset.effort().interactions == clicks + 1  # the clicks, one accept
    assert iou(aset.labels["img"] == corrected, truth == 2) > 0.85
    np.testing.assert_array_equal(aset.labels["img"] == as_is, proposals == 1)
    events = [e for e in aset.record()["events"] if e["op"] == "accept"]
    assert len(events[0]["prompt"]["points"]) == clicks and events[1]["prompt"]["kind"] == "accept"
    np.testing.assert_array_equal(replay(aset.record()).labels["img"], aset.labels["img"])


def test_undo_takes_back_the_last_click_and_bad_ids_are_refused():
    image, truth = _scene()
    fix = ProposalCorrection(image, truth, rng=0)
    before = fix.labels.copy()
    fix.click(1, (25, 25), positive=False)  # a wrong click: the object goes
    assert not np.array_equal(fix.labels, before)
    assert fix.undo() and not fix.undo()
    np.testing.assert_array_equal(fix.labels, before)
    assert fix.clicks(1) == []
    aset = AnnotationSet({"img": truth.shape})
    fix.accept(aset, "img", 1)
    assert aset.effort().interactions == 1  # the undone click still cost one
    with pytest.raises(InputError, match="object_id 9"):
        fix.click(9, (5, 5))
    with pytest.raises(InputError, match="lie on object 1"):
        fix.new_object((25, 25))
    with pytest.raises(InputError, match="outside"):
        fix.new_object((500, 5))
