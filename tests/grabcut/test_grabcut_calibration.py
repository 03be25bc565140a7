"""GrabCut's boundary weight follows the object's size; clear objects never come back empty."""

import warnings

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_segkit import GrabCutReport, InputError, grabcut
from napari_segkit.evaluation import ClickRobot, iou
from napari_segkit.grabcut.core import SMOOTHNESS_PER_PIXEL, auto_smoothness
from napari_segkit.grabcut.frames import contrast_fallback
from napari_segkit.samples import nuclei_2d


def test_auto_smoothness_grows_with_linear_scale():
    assert auto_smoothness((20, 20), (1.0, 1.0)) == pytest.approx(20 * SMOOTHNESS_PER_PIXEL)
    assert auto_smoothness((40, 40), (1.0, 1.0)) == pytest.approx(2 * auto_smoothness((20, 20), (1.0, 1.0)))
    # anisotropic: 5 planes of 4 units are 20 fine pixels
    assert auto_smoothness((5, 20, 20), (4.0, 1.0, 1.0)) == pytest.approx(20 * SMOOTHNESS_PER_PIXEL)


def _boxes_iou(image, labels, **options):
    scores = []
    for i in np.unique(labels)[1:]:
        ref = labels == i
        box = ClickRobot(ref).first_box()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores.append(iou(grabcut(image, box[None], rng=0, **options) == 1, ref))
    return np.array(scores)


def test_same_quality_at_every_size_and_bit_depth():
    sample = nuclei_2d((96, 96), n_nuclei=5, rng=3)
    results = {}
    for zoom in (1, 3):
        image = ndi.zoom(sample.image.astype(np.float64), zoom, order=1)
        labels = ndi.zoom(sample.labels, zoom, order=0)
        as_uint16 = _boxes_iou(image.astype(np.uint16), labels)
        as_float = _boxes_iou(image * 1e-3 + 5.0, labels)
        np.testing.assert_allclose(as_uint16, as_float, atol=0.02)
        assert as_uint16.min() > 0.75
        results[zoom] = as_uint16.mean()
    assert abs(results[1] - results[3]) < 0.06


def _dim_nuclei():
    """12-bit camera image: soft, textured nuclei 4-17 px in radius, 2 noise sigmas above background."""
    rng = np.random.default_rng(4)
    yy, xx = np.indices((120, 120))
    signal = np.zeros((120, 120))
    truth = np.zeros((120, 120), np.int32)
    for k, (cy, cx, r) in enumerate([(20, 20, 5), (25, 70, 8), (70, 30, 12), (80, 85, 17), (100, 20, 4), (50, 100, 6)]):
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        truth[disc] = k + 1
        signal[disc] = 80 * (1 + 0.3 * rng.normal(size=disc.sum()))
    image = 300 + ndi.gaussian_filter(signal, 1.0) + rng.normal(0, 40, (120, 120))
    return np.clip(image, 0, 4095).astype(np.uint16), truth


def test_small_dim_nuclei_are_never_empty():
    image, truth = _dim_nuclei()
    scores = _boxes_iou(image, truth)
    # the 4-px-radius nucleus (50 pixels, 2 noise sigmas) is the hardest: about 0.5
    assert scores.min() > 0.45 and scores.mean() > 0.75, scores
    # a fixed boundary weight far above the object's scale (OpenCV's 50 emptied these cuts before the
    # smoothed channels of noisy crops; 100 still does) empties them; the contrast fallback still finds them
    with pytest.warns(UserWarning, match="differs from its surroundings"):
        report = GrabCutReport()
        labels = grabcut(image, [ClickRobot(truth == 6).first_box()], smoothness=100, rng=0, report=report)
    assert report.objects[0].status == "fallback"
    assert iou(labels == 1, truth == 6) > 0.5


def test_contrast_fallback_keeps_clear_object_rejects_noise():
    rng = np.random.default_rng(0)
    features = rng.normal(0, 0.05, (30, 30, 1)).astype(np.float32)
    features[10:20, 12:18] += 1.0
    unknown = np.zeros((30, 30), bool)
    unknown[7:23, 9:21] = True
    band = rng.normal(0, 0.05, (200, 1)).astype(np.float32)
    none = np.zeros((30, 30), bool)
    mask = contrast_fallback(features, unknown, band, none, none)
    truth = np.zeros((30, 30), bool)
    truth[10:20, 12:18] = True
    assert iou(mask, truth) > 0.95
    noise = rng.normal(0, 0.05, (30, 30, 1)).astype(np.float32)
    assert contrast_fallback(noise, unknown, band, none, none) is None


def test_bad_smoothness_named():
    with pytest.raises(InputError, match="smoothness"):
        grabcut(np.zeros((20, 20)), [[[2, 2], [15, 15]]], smoothness="big")
