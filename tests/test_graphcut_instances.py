"""Graph cut: background 0 by default, and instance output that separates touching objects."""

import numpy as np
import pytest

from napari_segkit import InputError, graph_cut
from napari_segkit.evaluation import instance_f1, match_instances


def _touching_nuclei():
    """Two pairs of touching bright discs (a dim seam between them) and a lone disc."""
    yy, xx = np.indices((80, 120))
    truth = np.zeros((80, 120), np.int32)
    for k, (cy, cx) in enumerate([(25, 25), (25, 45), (55, 70), (55, 90), (30, 100)]):
        disc = ((yy - cy) ** 2 + (xx - cx) ** 2 <= 11**2) & (truth == 0)
        truth[disc] = k + 1
    rng = np.random.default_rng(0)
    image = 100 + 600 * (truth > 0) + rng.normal(0, 30, truth.shape)
    seam = np.zeros_like(truth, bool)
    for a, b in ((1, 2), (3, 4)):  # touching borders are a little dimmer, as between real nuclei
        from scipy import ndimage as ndi

        seam |= ndi.binary_dilation(truth == a) & (truth == b)
    image[seam] -= 250
    seeds = np.zeros_like(truth)
    for k in range(1, 6):  # one 3x3 seed per nucleus
        cy, cx = np.argwhere(truth == k).mean(axis=0).round().astype(int)
        seeds[cy - 1 : cy + 2, cx - 1 : cx + 2] = 1
    seeds[2:5, 2:5] = seeds[75:78, 2:5] = seeds[2:5, 115:118] = seeds[75:78, 115:118] = 2
    return image, truth, seeds


def test_background_value_becomes_zero():
    image, truth, seeds = _touching_nuclei()
    labels = graph_cut(image, seeds)
    assert set(np.unique(labels)) == {0, 1}
    np.testing.assert_array_equal(labels, np.where(graph_cut(image, seeds, background=None) == 2, 0, 1))
    # a user who painted 1 on the background and 3 on the nuclei
    swapped = np.select([seeds == 1, seeds == 2], [3, 1], 0)
    out = graph_cut(image, swapped, background=1)
    assert set(np.unique(out)) == {0, 3}
    with pytest.raises(InputError, match="background=7 is not a seed value"):
        graph_cut(image, seeds, background=7)


def test_instances_separate_touching_nuclei_seeded_separately():
    image, truth, seeds = _touching_nuclei()
    semantic = graph_cut(image, seeds)
    assert instance_f1(semantic, truth) < 0.5  # touching pairs merge
    labels = graph_cut(image, seeds, instances=True)
    assert labels.dtype == np.int32 and labels.max() == 5
    match = match_instances(labels, truth, 0.5)
    assert match.f1 == 1.0 and match.mean_matched_iou > 0.9


def test_unseeded_object_becomes_its_own_instance():
    image, truth, seeds = _touching_nuclei()
    cy, cx = np.argwhere(truth == 5).mean(axis=0).round().astype(int)
    seeds[cy - 1 : cy + 2, cx - 1 : cx + 2] = 0  # the lone nucleus carries no seed
    labels = graph_cut(image, seeds, instances=True)
    assert labels.max() == 5
    assert np.unique(labels[truth == 5]).size == 1 and labels[truth == 5][0] == 5
