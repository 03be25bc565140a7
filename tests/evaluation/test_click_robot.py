import numpy as np
import pytest

from napari_segkit._errors import InputError
from napari_segkit.evaluation import ClickRobot, Prompts, click_seed, simulate_interactions, summarize_sessions


def _disk(shape=(21, 21), centre=(10, 10), radius=5):
    yy, xx = np.indices(shape)
    return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius**2


def test_first_box_is_bbox_plus_margin_clipped():
    ref = np.zeros((20, 20), bool)
    ref[5:9, 1:4] = True
    box = ClickRobot(ref).first_box()
    assert box.tolist() == [[2, 0], [12, 7]]
    assert ClickRobot(ref).first_box(margin=0).tolist() == [[5, 1], [9, 4]]


def test_first_click_at_deepest_point():
    ref = np.zeros((9, 15), bool)
    ref[2:7, 1:14] = True  # rows 2..6: deepest row 4
    coords = ClickRobot(ref).first_click()
    assert coords[0] == 4
    assert 3 <= coords[1] <= 11


def test_border_counts_as_boundary():
    ref = np.zeros((10, 10), bool)
    ref[0:10, 0:3] = True  # touches the image border on the left
    coords = ClickRobot(ref).first_click()
    assert coords[1] == 1  # centre of the 3-wide strip, not at column 0


def test_next_click_positive_for_miss_negative_for_taken():
    ref = _disk()
    robot = ClickRobot(ref)
    empty = np.zeros_like(ref)
    coords, positive = robot.next_click(empty)
    assert positive and coords == (10, 10)
    grown = _disk(radius=5) | _disk(centre=(10, 18), radius=2)
    grown = grown.copy()
    grown[14:21, 0:8] = True  # a big wrong blob touching the border
    coords, positive = robot.next_click(grown)
    assert not positive
    assert not ref[coords] and grown[coords]
    assert robot.next_click(ref) is None


def test_3d_and_spacing():
    ref = np.zeros((5, 11, 11), bool)
    ref[1:4, 1:10, 1:10] = True
    robot = ClickRobot(ref, spacing=(4.0, 1.0, 1.0))
    assert robot.first_click() == (2, 5, 5)
    assert robot.first_box().tolist() == [[0, 0, 0], [5, 11, 11]]
    assert click_seed((0, 5, 10), ref.shape) == (slice(0, 2), slice(4, 7), slice(9, 11))


def test_jitter_reproducible_and_bounded():
    ref = _disk()
    a = [ClickRobot(ref, jitter=2.0, rng=s).first_click() for s in range(5)]
    b = [ClickRobot(ref, jitter=2.0, rng=s).first_click() for s in range(5)]
    assert a == b
    assert len(set(a)) > 1
    assert all(abs(y - 10) <= 8 and abs(x - 10) <= 8 for y, x in a)


def test_simulation_counts_interactions():
    ref = _disk()
    robot = ClickRobot(ref)

    def paint_clicks(prompts: Prompts):
        # a toy segmenter: the reference, minus a quarter until two clicks were given
        mask = ref.copy()
        if len(prompts.positive) < 2:
            mask[:10, :10] = False
        return mask

    record = simulate_interactions(robot, paint_clicks, start="click", max_interactions=5)
    assert record.noc(0.85) == 2
    assert record.ious[-1] == 1.0
    summary = summarize_sessions([record])
    assert summary["noc85"] == 2 and summary["nof85"] == 0


def test_never_reaching_counts_cap():
    ref = _disk()
    record = simulate_interactions(ClickRobot(ref), lambda p: np.zeros_like(ref), start="box", max_interactions=4)
    assert len(record.ious) == 4 and record.noc(0.85) == 4
    assert summarize_sessions([record])["nof90"] == 1


def test_bad_robot_inputs():
    with pytest.raises(InputError, match="empty"):
        ClickRobot(np.zeros((4, 4)))
    with pytest.raises(InputError, match="jitter"):
        ClickRobot(_disk(), jitter=-1)
