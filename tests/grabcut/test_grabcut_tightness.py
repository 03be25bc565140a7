"""Boxes drawn tight: a whole cell in its box, not only its bright nucleus; loose boxes unharmed; a box's pad stays background for its neighbours."""

import warnings

import numpy as np

from napari_segkit import grabcut
from napari_segkit.evaluation import ClickRobot, iou
from napari_segkit.grabcut.tightness import pins_supported, required_lines, tightness_pins


def _cells(seed=0):
    """8-bit-like two-level cells: dim elongated cytoplasm (3 noise sigmas over background), a bright nucleus."""
    rng = np.random.default_rng(seed)
    yy, xx = np.indices((120, 160))
    image = np.full((120, 160), 100.0)
    truth = np.zeros((120, 160), np.int32)
    for k, (cy, cx, a, b, ny, nx) in enumerate([(40, 45, 22, 36, 34, 58), (85, 115, 26, 30, 92, 105)]):
        cell = ((yy - cy) / a) ** 2 + ((xx - cx) / b) ** 2 <= 1
        truth[cell] = k + 1
        image[cell] += 60
        image[((yy - ny) / 8) ** 2 + ((xx - nx) / 9) ** 2 <= 1] += 500
    image += rng.normal(0, 20, image.shape)
    return np.clip(image, 0, 4095).astype(np.uint16), truth


def _one_box(image, truth, k, grow=0.0):
    box = ClickRobot(truth == k).first_box()
    extra = np.ceil(grow * (box[1] - box[0])).astype(int)
    box = np.stack([np.maximum(box[0] - extra, 0), np.minimum(box[1] + extra, truth.shape)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return iou(grabcut(image, box[None], rng=0) == 1, truth == k)


def test_tight_box_takes_the_whole_cell_not_its_nucleus():
    image, truth = _cells()
    # the nucleus alone is under 20 % of the cell: these IoUs need the cytoplasm
    assert min(_one_box(image, truth, k) for k in (1, 2)) > 0.85


def test_loose_box_around_a_bright_object_is_not_stretched():
    rng = np.random.default_rng(1)
    image = rng.normal(100, 10, (100, 100))
    truth = np.zeros((100, 100), np.int32)
    yy, xx = np.indices(truth.shape)
    truth[(yy - 50) ** 2 + (xx - 50) ** 2 <= 12**2] = 1
    image[truth == 1] += 200
    # the box 1.5 times the object's extent: no spikes out to its sides
    assert _one_box(image.astype(np.float32), truth, 1, grow=0.25) > 0.9


def test_required_lines_leave_a_slack_per_side():
    assert required_lines((slice(10, 60), slice(0, 5))) == ((23, 46), (2, 2))


def test_pins_reach_every_missing_side_along_the_cheapest_path():
    component = np.zeros((20, 20), bool)
    component[8:12, 8:12] = True
    cost = np.full((20, 20), 5.0)
    cost[10, :] = -1.0  # an object-like corridor along row 10
    allowed = np.ones((20, 20), bool)
    pins = tightness_pins(component, cost, allowed, ((8, 11), (2, 17)))
    assert pins[10, 2:8].all() and pins[10, 12:18].all()
    assert not pins[:8].any() and not pins[12:].any()
    assert tightness_pins(component, cost, allowed, ((8, 11), (8, 11))) is None


def test_thin_pinned_path_is_not_supported():
    mask = np.zeros((20, 20), bool)
    mask[5:15, 5:15] = True
    path = np.zeros((20, 20), bool)
    path[10, 15:19] = True
    assert not pins_supported(mask | path, path)
    mask[8:13, 15:19] = True
    assert pins_supported(mask | path, path)


def test_all_boxes_of_a_dense_field_at_once():
    from napari_segkit.samples import nuclei_2d

    sample = nuclei_2d((256, 256), n_nuclei=25, rng=7)
    ids = np.unique(sample.labels)[1:]
    boxes = np.stack([ClickRobot(sample.labels == i).first_box() for i in ids])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = grabcut(sample.image, boxes, rng=0)
    scores = [iou(out == k + 1, sample.labels == i) for k, i in enumerate(ids)]
    # with whole neighbouring boxes left out of the background samples (not only their interiors): 0.83
    assert np.mean(scores) > 0.87 and min(scores) > 0.6, np.round(scores, 2)
