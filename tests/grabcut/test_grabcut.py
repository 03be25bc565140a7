"""GrabCut on synthetic images with known objects."""

import warnings

import numpy as np
import pytest

from napari_segkit import Cancelled, GrabCutReport, InputError
from napari_segkit.grabcut import grabcut
from napari_segkit.samples import nuclei_3d

from _gc_helpers import iou, truth_boxes

pytest.importorskip("maxflow")

YY, XX = np.mgrid[:80, :80]


def _disc(cy, cx, r):
    return (YY - cy) ** 2 + (XX - cx) ** 2 < r**2


def test_bright_square_exact():
    rng = np.random.default_rng(0)
    image = rng.normal(0.2, 0.05, (60, 60))
    image[20:40, 15:45] += 0.6
    labels = grabcut(image, [[[10, 5], [50, 55]]], rng=0)
    assert labels.dtype == np.int32 and labels.shape == image.shape
    truth = np.zeros(image.shape, bool)
    truth[20:40, 15:45] = True
    np.testing.assert_array_equal(labels == 1, truth)


def test_dim_and_bright_objects_each_found():
    rng = np.random.default_rng(1)
    dim, bright = _disc(25, 25, 10), _disc(55, 55, 12)
    image = 100 + 40 * dim + 2000 * bright + rng.normal(0, 8, (80, 80))
    boxes = [[[12, 12], [38, 38]], [[40, 40], [70, 70]]]
    labels = grabcut(image.astype(np.uint16), boxes, rng=0)
    assert iou(labels == 1, dim) > 0.9
    assert iou(labels == 2, bright) > 0.9


def test_fluorescence_16_bit_with_many_boxes(nuclei):
    boxes = truth_boxes(nuclei.labels)
    report = GrabCutReport()
    labels = grabcut(nuclei.image, boxes, rng=0, report=report)
    scores = [iou(labels == i + 1, nuclei.labels == i + 1) for i in range(len(boxes))]
    assert np.mean(scores) > 0.9 and min(scores) > 0.8, scores
    assert len(report.objects) == len(boxes) and not report.degenerate
    for i, (lo, hi) in enumerate(boxes):  # each object stays in its box
        inside = np.zeros(labels.shape, bool)
        inside[lo[0] : hi[0], lo[1] : hi[1]] = True
        assert not np.any((labels == i + 1) & ~inside)


def test_same_result_for_any_dtype_and_range(nuclei):
    boxes = truth_boxes(nuclei.labels)[:4]
    reference = grabcut(nuclei.image, boxes, rng=0)
    scaled = grabcut(nuclei.image.astype(np.float64) * 3.7e-3 + 1e6, boxes, rng=0)
    for i in range(len(boxes)):
        assert iou(reference == i + 1, scaled == i + 1) > 0.98


def test_touching_objects_with_overlapping_boxes_share_no_pixel():
    rng = np.random.default_rng(2)
    a, b = _disc(40, 28, 12), _disc(40, 51, 12)  # touch at x ~ 40
    image = 0.1 + 0.8 * (a | b) + rng.normal(0, 0.04, (80, 80))
    boxes = [[[26, 14], [54, 44]], [[26, 36], [54, 66]]]  # overlap in x 36..44
    labels = grabcut(image, boxes, rng=0)
    assert iou(labels == 1, a) > 0.85 and iou(labels == 2, b) > 0.85


def test_rgb_any_channel_axis():
    rng = np.random.default_rng(3)
    obj = _disc(40, 40, 15) | ((YY > 35) & (YY < 45) & (XX > 20) & (XX < 60))
    colour = np.where(obj[..., None], [150, 60, 160], [230, 180, 200]).astype(float)
    image = np.clip(colour + rng.normal(0, 12, colour.shape), 0, 255).astype(np.uint8)
    box = [[[18, 12], [62, 68]]]
    last = grabcut(image, box, channel_axis=-1, rng=0)
    assert iou(last == 1, obj) > 0.95
    first = grabcut(np.moveaxis(image, -1, 0), box, channel_axis=0, rng=0)
    np.testing.assert_array_equal(first, last)


def test_anisotropic_volume():
    sample = nuclei_3d((16, 64, 64), n_nuclei=4, rng=1)
    boxes = truth_boxes(sample.labels)
    labels = grabcut(sample.image, boxes, spacing=sample.spacing, rng=0)
    scores = [iou(labels == i + 1, sample.labels == i + 1) for i in range(len(boxes))]
    assert np.mean(scores) > 0.8, scores


def test_time_series_frame_by_frame_and_reused_models(nuclei):
    frames = np.stack([nuclei.image, np.roll(nuclei.image, 2, axis=1)])
    truth = np.stack([nuclei.labels, np.roll(nuclei.labels, 2, axis=1)])
    boxes = truth_boxes(nuclei.labels)[:3]
    boxes[:, 1, 1] += 2  # one spatial box per object, valid in both frames
    labels = grabcut(frames, boxes, spatial_dims=2, rng=0)
    assert labels.shape == frames.shape
    np.testing.assert_array_equal(labels[0], grabcut(frames[0], boxes, rng=0))
    reused = grabcut(frames, boxes, spatial_dims=2, reuse_models=True, rng=0)
    for t in range(2):
        for i in range(3):
            assert iou(reused[t] == i + 1, truth[t] == i + 1) > 0.8
    # a (t, y, x) box selects its frames
    only_second = np.concatenate([[[1], [2]], boxes[0]], axis=1)[None]
    out = grabcut(frames, only_second, spatial_dims=2, rng=0)
    assert not out[0].any() and iou(out[1] == 1, truth[1] == 1) > 0.8


def test_scribble_fixes_wrong_result():
    rng = np.random.default_rng(0)
    disc = _disc(40, 35, 15)
    bar = (YY >= 30) & (YY < 50) & (XX >= 50) & (XX < 75)  # same brightness, touching, inside the box
    image = 0.1 + 0.8 * (disc | bar) + rng.normal(0, 0.05, (80, 80))
    box = [[[20, 15], [60, 68]]]
    assert iou(grabcut(image, box, rng=0) == 1, disc) < 0.8
    seeds = np.zeros((80, 80), np.uint8)
    seeds[30:50, 51:54] = 2  # one stroke across the bar where it joins the disc
    fixed = grabcut(image, box, seeds=seeds, rng=0)
    assert iou(fixed == 1, disc) > 0.95
    assert not fixed[seeds == 2].any()


def test_object_scribble_is_kept_and_grows_the_box():
    rng = np.random.default_rng(4)
    obj = _disc(40, 40, 12)
    image = 0.1 + 0.8 * obj + rng.normal(0, 0.04, (80, 80))
    seeds = np.zeros((80, 80), np.uint8)
    seeds[40, 35:52] = 1  # starts inside the box, leaves it at x = 45
    labels = grabcut(image, [[[25, 25], [56, 45]]], seeds=seeds, rng=0)
    assert labels[40, 35:52].all() and labels[40, 50] == 1


def test_seeds_only_defines_the_objects():
    rng = np.random.default_rng(5)
    d1, d2, d3 = _disc(20, 20, 8), _disc(60, 60, 8), _disc(20, 60, 8)
    image = 0.1 + 0.7 * (d1 | d2 | d3) + rng.normal(0, 0.05, (80, 80))
    seeds = np.zeros((80, 80), np.int32)
    seeds[20, 20] = seeds[60, 60] = 1
    seeds[40, :] = 2
    labels = grabcut(image, seeds=seeds, rng=0)
    assert iou(labels == 1, d1) > 0.95 and iou(labels == 2, d2) > 0.95
    assert not labels[d3].any()  # looks alike, but no scribble defines it


def test_degenerate_box_is_reported_not_returned():
    rng = np.random.default_rng(6)
    image = 0.1 + rng.normal(0, 0.05, (80, 80))
    image[5:15, 5:15] += 0.8
    report = GrabCutReport()
    with pytest.warns(UserWarning, match=r"no sensible object for 1 box\(es\) \[0: (empty|full)\]"):
        labels = grabcut(image, [[[40, 40], [70, 70]]], rng=0, report=report)
    assert not labels.any()
    assert [o.status for o in report.degenerate] in (["empty"], ["full"])


def test_identical_boxes_one_object_wins():
    rng = np.random.default_rng(7)
    obj = _disc(40, 40, 12)
    image = 0.1 + 0.8 * obj + rng.normal(0, 0.04, (80, 80))
    report = GrabCutReport()
    labels = grabcut(image, [[[20, 20], [60, 60]]] * 2, rng=0, report=report)
    assert iou(labels == 1, obj) > 0.95 and not (labels == 2).any()
    assert [o.status for o in report.objects] == ["ok", "overlapped"]
    # a report passed again holds the new call's objects only, and the labels stay the return value
    again = grabcut(image, [[[20, 20], [60, 60]]], rng=0, report=report)
    assert isinstance(again, np.ndarray) and np.array_equal(again, labels)
    assert [(o.index, o.status) for o in report.objects] == [(0, "ok")]


def test_report_must_be_a_grabcut_report():
    with pytest.raises(InputError, match=r"report must be a GrabCutReport or None, got list: \[\]"):
        grabcut(np.zeros((20, 20)), [[[5, 5], [15, 15]]], report=[])


def test_progress_and_cancel(nuclei):
    boxes = truth_boxes(nuclei.labels)[:3]
    seen = []
    grabcut(nuclei.image, boxes, rng=0, progress=lambda f, m: seen.append(f))
    assert seen and all(0 <= f <= 1 for f in seen) and seen == sorted(seen)

    def cancel(fraction, message):
        raise Cancelled()

    with pytest.raises(Cancelled):
        grabcut(nuclei.image, boxes, rng=0, progress=cancel)


def test_input_never_modified_and_read_only_ok(nuclei):
    image = nuclei.image.copy()
    image.flags.writeable = False
    boxes = np.asarray(truth_boxes(nuclei.labels)[:2])
    boxes_copy = boxes.copy()
    seeds = np.zeros(image.shape, np.uint8)
    seeds[0, :] = 2
    grabcut(image[:, ::-1][:, ::-1], boxes, seeds=seeds, rng=0)
    np.testing.assert_array_equal(image, nuclei.image)
    np.testing.assert_array_equal(boxes, boxes_copy)
    assert (seeds[0] == 2).all() and seeds[1:].sum() == 0


@pytest.mark.parametrize("convert, agreement", [
    (lambda a: a.astype(">u2"), 1.0),  # big-endian (A12)
    (lambda a: (a.astype(np.int32) - 2000).astype(np.int16), 1.0),  # negatives (A7)
    (lambda a: a.astype(np.int64), 1.0),  # A7
    (lambda a: a.astype(np.float16) / 4096, 0.95),  # float16 (A9): 11-bit mantissa
])
def test_dtypes_give_the_uint16_result(nuclei, convert, agreement):
    boxes = truth_boxes(nuclei.labels)[:3]
    reference = grabcut(nuclei.image, boxes, rng=0)
    labels = grabcut(convert(nuclei.image), boxes, rng=0)
    for i in range(3):
        assert iou(labels == i + 1, reference == i + 1) >= agreement


def test_bool_image():
    image = _disc(40, 40, 12)
    labels = grabcut(image, [[[20, 20], [60, 60]]], rng=0)
    np.testing.assert_array_equal(labels == 1, image)


def test_dask_input_read_by_crops(nuclei):
    da = pytest.importorskip("dask.array")
    boxes = truth_boxes(nuclei.labels)[:2]
    lazy = da.from_array(nuclei.image, chunks=32)
    np.testing.assert_array_equal(grabcut(lazy, boxes, rng=0), grabcut(nuclei.image, boxes, rng=0))
