"""Every bad input of bad-inputs.md that applies to GrabCut: a clear error or a handled case."""

import numpy as np
import pytest

from napari_segkit import InputError, ResourceLimitError
from napari_segkit.grabcut import grabcut

from _gc_helpers import iou

pytest.importorskip("maxflow")

YY, XX = np.mgrid[:60, :60]
DISC = (YY - 30) ** 2 + (XX - 30) ** 2 < 10**2
IMAGE = 0.1 + 0.8 * DISC + np.random.default_rng(0).normal(0, 0.04, (60, 60))
BOX = [[[15, 15], [45, 45]]]


# -- boxes: C5, C6, C7, C8, C10 --------------------------------------------------------------
@pytest.mark.parametrize("box, match", [
    ([[[10, 10], [10, 30]]], r"boxes\[0\].*zero size along axis 0.*\(60, 60\)"),  # C5 zero area
    ([[[70, 70], [90, 90]]], r"boxes\[0\].*wholly outside.*\(60, 60\)"),  # C5 outside
    ([[[15, 15], [45, 45]], [[-20, -20], [-5, -5]]], r"boxes\[1\].*wholly outside"),
    ([[[5, 5], [7, 7]]], r"boxes\[0\].*4 pixel\(s\).*too few object samples \(4 < 9\)"),  # C7
    ([[[58, 58], [70, 70]]], r"boxes\[0\].*too few object samples"),  # clipped to 2 x 2
])
@pytest.mark.filterwarnings("ignore:.*were clipped")
def test_box_errors_name_the_box_and_bounds(box, match):
    with pytest.raises(InputError, match=match):
        grabcut(IMAGE, box)


def test_box_partly_outside_is_clipped_with_warning():  # C8
    with pytest.warns(UserWarning, match=r"1 box\(es\) extend beyond the image and were clipped.*index 0"):
        clipped = grabcut(IMAGE, [[[15, 15], [45, 99]]], rng=0)
    np.testing.assert_array_equal(clipped, grabcut(IMAGE, [[[15, 15], [45, 60]]], rng=0))


def test_box_covering_the_whole_image_is_shrunk():  # C6
    with pytest.warns(UserWarning, match=r"cover the whole image.*shrunk by one pixel"):
        labels = grabcut(IMAGE, [[[0, 0], [60, 60]]], rng=0)
    assert iou(labels == 1, DISC) > 0.9


def test_several_boxes_one_object_each():  # C10
    image = np.hstack([IMAGE, IMAGE])
    labels = grabcut(image, [[[15, 15], [45, 45]], [[15, 75], [45, 105]]], rng=0)
    assert iou(labels[:, :60] == 1, DISC) > 0.9 and iou(labels[:, 60:] == 2, DISC) > 0.9


def test_box_corners_any_order_and_fractional():
    a = grabcut(IMAGE, [[[44.5, 44.2], [15.3, 15.0]]], rng=0)
    np.testing.assert_array_equal(a, grabcut(IMAGE, BOX, rng=0))


@pytest.mark.parametrize("boxes, match", [
    ([[15, 15, 45, 45]], r"boxes must have shape \(N, 2, d\).*got shape \(1, 4\)"),
    ([[[15, 15, 0], [45, 45, 1]]], r"d in \[2\]"),
    ([[[np.nan, 15], [45, 45]]], r"boxes\[0\] has NaN"),
    ("abc", r"boxes must be numbers"),
])
def test_malformed_boxes(boxes, match):
    with pytest.raises(InputError, match=match):
        grabcut(IMAGE, boxes)


# -- seeds: C1, C2, C3, C12 ------------------------------------------------------------------
def test_no_boxes_no_seeds():  # C1
    with pytest.raises(InputError, match="no boxes and no seeds"):
        grabcut(IMAGE)
    with pytest.raises(InputError, match="no boxes and no seeds"):
        grabcut(IMAGE, np.zeros((0, 2, 2)), seeds=np.zeros((60, 60), int))


@pytest.mark.parametrize("value, missing", [(1, r"no background \(2\)"), (2, r"no object \(1\)")])
def test_seeds_only_needs_both_values(value, missing):  # C2
    seeds = np.zeros((60, 60), int)
    seeds[30, 30] = value
    with pytest.raises(InputError, match=missing):
        grabcut(IMAGE, seeds=seeds)


def test_seeds_with_one_value_are_fine_with_a_box():
    seeds = np.zeros((60, 60), int)
    seeds[30, 30] = 1
    assert iou(grabcut(IMAGE, BOX, seeds=seeds, rng=0) == 1, DISC) > 0.9


def test_seeds_covering_everything():  # C3
    seeds = np.where(DISC, 1, 2)
    with pytest.warns(UserWarning, match="seeds cover every pixel"):
        labels = grabcut(IMAGE, seeds=seeds)
    np.testing.assert_array_equal(labels == 1, DISC)


def test_seed_values_outside_the_convention():  # C12
    seeds = np.zeros((60, 60), int)
    seeds[0, 0], seeds[1, 1] = 7, 2
    with pytest.raises(InputError, match=r"value\(s\) 7.*1 = definitely object, 2 = definitely background"):
        grabcut(IMAGE, BOX, seeds=seeds)


def test_object_scribble_outside_every_box_warns():
    seeds = np.zeros((60, 60), int)
    seeds[2:4, 2:4] = 1
    with pytest.warns(UserWarning, match=r"1 object scribble\(s\).*lie in no box"):
        grabcut(IMAGE, BOX, seeds=seeds, rng=0)


@pytest.mark.parametrize("seeds, match", [
    (np.zeros((60, 60)), "dtype float64"),
    (np.zeros((30, 60), int), r"shape \(30, 60\) but the image needs \(60, 60\)"),
])
def test_bad_seed_arrays(seeds, match):
    with pytest.raises(InputError, match=match):
        grabcut(IMAGE, BOX, seeds=seeds)


# -- image: A1, A2, A11, A14, A15, A16, A20 ---------------------------------------------------
@pytest.mark.parametrize("image, match", [
    (np.zeros((0, 60)), r"shape \(0, 60\): empty"),
    (np.zeros(60), r"grabcut accepts 2-D or 3-D images"),
    (np.zeros((2,) * 6), r"grabcut accepts 2-D or 3-D images"),
    (IMAGE.astype(complex), "complex input is not supported"),
])
def test_bad_images(image, match):
    with pytest.raises(InputError, match=match):
        grabcut(image, BOX)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf(bad):
    image = IMAGE.copy()
    image[3, 3] = bad
    with pytest.raises(InputError, match=r"1 (NaN|infinite) values"):
        grabcut(image, BOX)


def test_constant_image():  # A16
    with pytest.warns(UserWarning, match="image is constant"):
        labels = grabcut(np.full((60, 60), 7, np.uint16), BOX)
    assert not labels.any()


def test_rgb_like_shape_without_channel_axis_warns():  # A20
    image = np.repeat(IMAGE[..., None], 3, axis=-1)
    with pytest.warns(UserWarning, match="pass channel_axis=-1"):
        grabcut(image, [[[15, 15, 0], [45, 45, 3]]], rng=0)


# -- options -------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    ({"n_components": 0}, r"n_components must be an integer from 1 to 20, got 0"),
    ({"n_components": 2.5}, r"n_components must be"),
    ({"max_iter": 0}, r"max_iter must be an integer >= 1"),
    ({"smoothness": -1}, r"smoothness must be non-negative"),
    ({"margin": 0}, r"margin must be positive"),
    ({"spacing": (1, 2, 3)}, r"spacing must give one value per spatial axis \(2\)"),
    ({"spacing": (0, 1)}, r"spacing values must be positive"),  # A22
    ({"connectivity": 5}, r"connectivity=5 is not valid"),
    ({"channel_axis": 3}, r"channel_axis=3 is out of range"),
])
def test_bad_options(kwargs, match):
    with pytest.raises(InputError, match=match):
        grabcut(IMAGE, BOX, **kwargs)


def test_graph_over_the_memory_limit_is_refused_before_work():  # D1
    with pytest.raises(ResourceLimitError, match="graph needs about"):
        grabcut(IMAGE, BOX, memory_limit=1000)
