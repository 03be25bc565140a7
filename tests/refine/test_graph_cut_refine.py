"""Graph-cut refinement: scribbles respected, wrong regions fixed by one stroke."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_segkit import Cancelled, InputError, ResourceLimitError
from napari_segkit.refine import graph_cut_refine
from napari_segkit.samples import nuclei_2d

pytest.importorskip("maxflow")


def iou(a, b):
    return (a & b).sum() / (a | b).sum()


@pytest.fixture(scope="module")
def discs():
    """Three bright discs on a dark noisy background; the map misses the third."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:60, :90]
    truth = np.zeros((60, 90), dtype=np.int32)
    for i, (cy, cx) in enumerate([(20, 20), (40, 50), (25, 75)], start=1):
        truth[(yy - cy) ** 2 + (xx - cx) ** 2 < 10**2] = i
    image = 100 + 80 * (truth > 0) + rng.normal(0, 8, truth.shape)
    fg = np.where(truth > 0, 0.9, 0.1)
    fg[truth == 3] = 0.1  # a confident mistake: the network missed this one
    fg = ndi.gaussian_filter(fg, 1.0)
    return image, np.stack([1 - fg, fg], axis=-1), truth


def test_refines_a_blurred_map():
    sample = nuclei_2d((128, 128), n_nuclei=14, rng=3)
    truth = sample.labels > 0
    fg = np.clip(ndi.gaussian_filter(truth.astype(float), 4) * 0.8 + 0.1, 0.01, 0.99)
    labels = graph_cut_refine(sample.image, np.stack([1 - fg, fg], axis=-1))
    assert labels.dtype == np.int32 and labels.shape == truth.shape
    assert set(np.unique(labels)) == {0, 1}  # 0 = background, 1 = class 1
    assert iou(labels == 1, truth) > iou(fg > 0.5, truth) + 0.03
    # the object map alone gives the same labels
    np.testing.assert_array_equal(graph_cut_refine(sample.image, fg), labels)


def test_one_stroke_fixes_a_missed_region(discs):
    image, probs, truth = discs
    before = graph_cut_refine(image, probs)
    assert (before[truth == 3] == 1).mean() < 0.05
    seeds = np.zeros(truth.shape, dtype=np.int32)
    seeds[25, 72:79] = 1  # one short "object" stroke inside the missed disc
    after = graph_cut_refine(image, probs, seeds=seeds)
    assert (after[truth == 3] == 1).mean() > 0.95
    # nothing else changes much
    outside = truth != 3
    assert (after[outside] != before[outside]).sum() < 10
    # without spreading, the stroke alone is fixed and the rest stays wrong
    hard_only = graph_cut_refine(image, probs, seeds=seeds, seed_reach=0)
    assert (hard_only[seeds == 1] == 1).all()
    assert (hard_only[truth == 3] == 1).mean() < 0.2


def test_one_stroke_removes_a_false_region(discs):
    image, probs, truth = discs
    seeds = np.zeros(truth.shape, dtype=np.int32)
    seeds[40, 46:55] = 2  # "this is background" across the second disc
    after = graph_cut_refine(image, probs, seeds=seeds)
    assert (after[truth == 2] == 0).mean() > 0.95
    assert (after[truth == 1] == 1).mean() > 0.9


@pytest.mark.parametrize("seed_reach", [0.0, 15.0])
@pytest.mark.parametrize("smoothness", [0.0, 3.0, 50.0])
def test_scribbles_are_always_respected(discs, smoothness, seed_reach):
    image, probs, truth = discs
    rng = np.random.default_rng(int(smoothness))
    seeds = np.zeros(truth.shape, dtype=np.int32)
    # random scribbles, many against the map's confident opinion
    seeds[rng.random(truth.shape) < 0.05] = 1
    seeds[rng.random(truth.shape) < 0.05] = 2
    labels = graph_cut_refine(image, probs, seeds=seeds, smoothness=smoothness, seed_reach=seed_reach)
    # seed 1 = object (class 1), seed 2 (= K) = background (class 0)
    np.testing.assert_array_equal(labels[seeds == 1], 1)
    np.testing.assert_array_equal(labels[seeds == 2], 0)


def test_many_classes_with_scribbles(discs):
    image, probs, truth = discs
    # three classes: background, disc 1-2, "disc 3" class from nowhere
    p = np.stack([probs[..., 0], probs[..., 1] * 0.9, probs[..., 1] * 0.1], axis=-1)
    seeds = np.zeros(truth.shape, dtype=np.int32)
    seeds[25, 72:79] = 2  # class 2
    seeds[0, :] = 3  # K = 3: background, class 0
    labels = graph_cut_refine(image, p, seeds=seeds)
    np.testing.assert_array_equal(labels[seeds == 2], 2)
    np.testing.assert_array_equal(labels[seeds == 3], 0)
    # class 2 has p of about 0.01 there (an unseen class): most of the disc flips
    assert (labels[truth == 3] == 2).mean() > 0.8
    assert (labels[truth == 1] == 1).mean() > 0.9


def test_single_class_map_and_3d_spacing():
    rng = np.random.default_rng(1)
    zz, yy, xx = np.mgrid[:8, :24, :24]
    truth = ((zz - 4) * 3) ** 2 + (yy - 12) ** 2 + (xx - 12) ** 2 < 8**2
    image = truth * 1.0 + rng.normal(0, 0.1, truth.shape)
    fg = np.clip(ndi.gaussian_filter(truth.astype(float), [0.7, 2, 2]) * 0.8 + 0.1, 0, 1)
    labels = graph_cut_refine(image, fg[..., np.newaxis], spacing=(3, 1, 1))
    # one object map: 1 = object, 0 = background
    assert iou(labels == 1, truth) >= iou(fg > 0.5, truth) - 0.01
    assert iou(labels == 1, truth) > 0.85


def test_progress_and_cancel(discs):
    image, probs, _ = discs
    seen = []
    graph_cut_refine(image, probs, progress=lambda f, m: seen.append(f))
    assert seen[0] == 0.0 and seen[-1] == 1.0

    def cancel(fraction, message):
        if message == "max-flow":
            raise Cancelled()

    with pytest.raises(Cancelled):
        graph_cut_refine(image, probs, progress=cancel)


def test_input_not_modified(discs):
    image, probs, _ = discs
    seeds = np.zeros(image.shape, np.int32)
    seeds[25, 72:79] = 2
    copies = [a.copy() for a in (image, probs, seeds)]
    graph_cut_refine(image, probs, seeds=seeds)
    for a, b in zip((image, probs, seeds), copies):
        np.testing.assert_array_equal(a, b)


def test_all_zero_seeds_are_no_seeds(discs):
    image, probs, _ = discs
    np.testing.assert_array_equal(
        graph_cut_refine(image, probs, seeds=np.zeros(image.shape, np.uint8)),
        graph_cut_refine(image, probs),
    )


@pytest.mark.parametrize(
    "seeds, match",
    [
        (np.full((20, 20), 3), r"values \[3\].*1 to 2"),
        (np.zeros((20, 21), int), r"shape \(20, 21\)"),
        (np.full((20, 20), 1.0), "dtype float64"),
        (np.full((20, 20), -1), "negative"),
    ],
)
def test_bad_seeds(seeds, match):
    fg = np.random.default_rng(0).random((20, 20))
    with pytest.raises(InputError, match=match):
        graph_cut_refine(fg, np.stack([1 - fg, fg], axis=-1), seeds=seeds)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(smoothness=-1), "smoothness"),
        (dict(seed_reach=np.inf), "seed_reach"),
        (dict(connectivity=5), "connectivity=5"),
        (dict(max_iter=0), "max_iter"),
    ],
)
def test_bad_options(kwargs, match):
    fg = np.random.default_rng(0).random((20, 20))
    with pytest.raises(InputError, match=match):
        graph_cut_refine(fg, fg, **kwargs)


def test_bad_probabilities():
    fg = np.random.default_rng(0).random((20, 20))
    with pytest.raises(InputError, match="NaN"):
        graph_cut_refine(fg, np.stack([1 - fg, np.where(fg > 0.5, np.nan, fg)], axis=-1))
    with pytest.raises(InputError, match="outside"):
        graph_cut_refine(fg, np.stack([1 - fg, fg], axis=-1) * 3)


def test_memory_limit():
    fg = np.random.default_rng(0).random((20, 20))
    with pytest.raises(ResourceLimitError, match="graph needs about"):
        graph_cut_refine(fg, fg, memory_limit=1000)
