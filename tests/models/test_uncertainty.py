"""Monte Carlo dropout: every architecture, hooks leave the network unchanged, tiling, ranking."""

import numpy as np
import pytest

from napari_segkit import InputError
from napari_segkit.annotation import rank_objects, rank_regions
from napari_segkit.models import Model, predict_probabilities
from napari_segkit.models.registry import get_architecture
from napari_segkit.models.uncertainty import DropoutHooks, mc_dropout

SMALL = {
    "unet": {"depth": 2, "width": 4},
    "fcn": {"width": 4},
    "segnet": {"width": 4, "depth": 2},
    "deeplabv3": {"width": 4, "aspp_rates": "1,2,3", "context": 64},
    "pspnet": {"width": 4, "context": 64},
}
CONFIG = {"in_channels": 1, "classes": ["background", "interior", "boundary"],
          "normalisation": {"method": "percentile", "low": 1.0, "high": 99.8}}


def _model(name, spatial_dims=2):
    import torch

    torch.manual_seed(0)
    network = get_architecture(name).build(1, 3, spatial_dims, **SMALL[name])
    with torch.no_grad():
        for p in network.parameters():
            if not p.any():
                p.normal_(0.0, 0.3)
    config = dict(CONFIG, architecture=name, options=SMALL[name], spatial_dims=spatial_dims,
                  voxel_size=[1.0] * spatial_dims)
    return Model(network.eval(), config)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_every_architecture_gets_dropout_and_is_left_unchanged(name, one_thread):
    model = _model(name)
    image = np.random.default_rng(0).random((40, 36)).astype(np.float32)
    before = predict_probabilities(image, model)
    result = mc_dropout(image, model, samples=4, rate=0.2, rng=1)
    assert result.probabilities.shape == (40, 36, 3)
    assert result.entropy.shape == result.mutual_information.shape == (40, 36)
    np.testing.assert_allclose(result.probabilities.sum(-1), 1.0, atol=1e-4)
    assert (result.mutual_information >= 0).all() and result.mutual_information.max() > 1e-4
    assert (result.entropy <= np.log(3) + 1e-4).all()
    # the passes differ from the deterministic prediction, but the network is untouched afterwards
    assert np.abs(result.probabilities - before).max() > 1e-4
    np.testing.assert_array_equal(predict_probabilities(image, model), before)
    again = mc_dropout(image, model, samples=4, rate=0.2, rng=1)
    np.testing.assert_array_equal(again.mutual_information, result.mutual_information)
    with DropoutHooks(model.network, 0.1, None) as hooks:
        assert hooks.hooked
    assert all(not m._forward_hooks for m in model.network.modules())


def test_tiled_agrees_with_whole_image_in_distribution(one_thread):
    model = _model("unet")
    image = np.random.default_rng(2).random((96, 96)).astype(np.float32)
    whole = mc_dropout(image, model, samples=16, rate=0.1, rng=0)
    tiled = mc_dropout(image, model, samples=16, rate=0.1, rng=0, tile_shape=48 + 2 * model.halo)
    assert tiled.probabilities.shape == whole.probabilities.shape
    assert np.abs(tiled.probabilities - whole.probabilities).mean() < 0.02
    assert abs(float(tiled.mutual_information.mean()) - float(whole.mutual_information.mean())) < \
        0.25 * float(whole.mutual_information.mean()) + 1e-4


def test_time_series_and_bad_options(one_thread):
    model = _model("unet")
    movie = np.random.default_rng(3).random((2, 32, 32)).astype(np.float32)
    result = mc_dropout(movie, model, samples=2)
    assert result.mutual_information.shape == (2, 32, 32)
    assert result.labels()[0].shape == (32, 32)
    with pytest.raises(InputError, match="samples"):
        mc_dropout(movie, model, samples=1)
    with pytest.raises(InputError, match="rate"):
        mc_dropout(movie, model, rate=1.0)


def test_ranking_puts_the_doubtful_object_and_region_first():
    labels = np.zeros((64, 64), np.int32)
    labels[5:15, 5:15] = 1
    labels[40:50, 40:50] = 2
    labels[5:15, 40:50] = 3
    unc = np.zeros((64, 64))
    unc[38:52, 38:52] = 0.5
    unc[6:10, 41:45] = 0.2
    ranked = rank_objects(labels, unc)
    assert [r.id for r in ranked] == [2, 3, 1]
    assert ranked[0].centre == pytest.approx((44.5, 44.5))
    assert [r.id for r in rank_objects(labels, unc, exclude=labels == 2)] == [3, 1]
    regions = rank_regions(unc, window=32)
    assert regions[0].box == ((32, 32), (64, 64))
    frames = rank_regions(np.stack([unc, unc[::-1]]), window=32, top=2)
    assert {r.box[0][0] for r in frames} == {0, 1}
    with pytest.raises(InputError, match="must match"):
        rank_objects(labels, unc[:10])
