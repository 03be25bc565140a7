"""Refinement keeps instances, and prediction chains into refinement as written."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_segkit import InputError, crf_refine, graph_cut_refine, refine_instances
from napari_segkit.refine.instances import instances_in_foreground
from napari_segkit.samples import nuclei_2d

pytest.importorskip("maxflow")


def iou(a, b):
    return (a & b).sum() / (a | b).sum()


def test_instances_in_foreground_keeps_ids_and_numbers_new_regions():
    instances = np.zeros((10, 12), np.int32)
    instances[1:4, 1:4] = 5
    instances[1:4, 5:8] = 9
    foreground = np.zeros((10, 12), bool)
    foreground[0:5, 0:9] = True  # both objects grow and now touch
    foreground[7:9, 2:5] = True  # a region without an object
    out = instances_in_foreground(instances, foreground)
    assert set(np.unique(out)) == {0, 5, 9, 10}
    assert (out[7:9, 2:5] == 10).all()
    assert (out[~foreground] == 0).all() and (out[foreground] > 0).all()
    # each object keeps its own pixels and takes the nearer half of the rest
    assert (out[instances == 5] == 5).all() and (out[instances == 9] == 9).all()
    assert (out[:5, :4] == 5).all() and (out[:5, 6:9] == 9).all()


@pytest.mark.parametrize("method", ["graph_cut", "crf"])
def test_refine_instances_snaps_rough_cells_to_the_image_and_keeps_ids(method):
    sample = nuclei_2d((128, 128), n_nuclei=14, rng=3)
    truth = sample.labels
    # rough instances: every nucleus dilated by 3 pixels, ids shuffled and offset
    ids = np.unique(truth[truth > 0])
    new_ids = dict(zip(ids, np.random.default_rng(0).permutation(len(ids)) + 100))
    rough = np.zeros_like(truth)
    for old in ids:
        grown = ndi.binary_dilation(truth == old, iterations=3) & (rough == 0)
        rough[grown] = new_ids[old]
    out = refine_instances(sample.image, rough, method=method)
    assert out.dtype == np.int32 and out.shape == truth.shape
    assert set(np.unique(out)) - {0} <= set(new_ids.values())
    before = [iou(rough == new_ids[o], truth == o) for o in ids]
    after = [iou(out == new_ids[o], truth == o) for o in ids]
    assert np.median(after) > np.median(before) + 0.1 and np.median(after) > 0.8


def test_refine_instances_with_probabilities_and_options():
    image = np.zeros((30, 30))
    image[5:15, 5:15] = 1
    rough = np.zeros((30, 30), np.int32)
    rough[4:17, 4:13] = 7
    p = np.where(rough > 0, 0.7, 0.3)
    three = np.stack([1 - p, p * 0.8, p * 0.2], axis=-1)  # background, interior, boundary
    out = refine_instances(image, rough, probabilities=three, smoothness=3.0)
    assert set(np.unique(out)) == {0, 7} and (out == 7).sum() == 100
    with pytest.raises(InputError, match="method"):
        refine_instances(image, rough, method="watershed")
    with pytest.raises(InputError, match="instances has dtype float64"):
        refine_instances(image, rough.astype(float))
    with pytest.raises(InputError, match="instances has shape"):
        refine_instances(image, rough[:10])
    with pytest.raises(InputError, match="confidence"):
        refine_instances(image, rough, confidence=0.3)


def test_prediction_chains_into_both_refinements_as_written():
    torch = pytest.importorskip("torch")
    from napari_segkit import predict_labels, predict_probabilities, train_model

    sample = nuclei_2d((64, 64), n_nuclei=6, rng=2)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = train_model(
            [sample.image], [sample.labels], options={"depth": 1, "width": 4}, epochs=1,
            steps_per_epoch=2, patch_shape=64, validation_fraction=0.0, rng=0,
        )
        probabilities = predict_probabilities(sample.image, model)
        instances = predict_labels(sample.image, model)
    finally:
        torch.set_num_threads(before)
    k = len(model.classes)
    assert probabilities.shape == sample.image.shape + (k,)
    refined = crf_refine(sample.image, probabilities)
    assert refined.shape == probabilities.shape
    np.testing.assert_allclose(refined.sum(axis=-1), 1.0, atol=1e-5)
    labels = graph_cut_refine(sample.image, crf_refine(sample.image, probabilities))
    assert labels.shape == sample.image.shape and labels.min() >= 0 and labels.max() < k
    kept = refine_instances(sample.image, instances, probabilities=probabilities)
    assert kept.shape == instances.shape
    assert set(np.unique(kept[instances > 0])) - {0} <= set(np.unique(instances)) | set(
        range(int(instances.max()) + 1, int(instances.max()) + 1000)
    )
