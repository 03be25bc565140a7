"""Farabet's multi-scale network: pyramid, shared weights, superpixel voting, CLI."""

import numpy as np
import pytest

from _model_helpers import touching_nuclei
from napari_segkit import InputError
from napari_segkit.models import predict_labels, predict_probabilities, train_model
from napari_segkit.models.registry import get_architecture
from napari_segkit.models.superpixel_vote import vote_over_superpixels


def test_laplacian_pyramid_reconstructs_the_image():
    import torch

    from napari_segkit.models.backbones import upsample
    from napari_segkit.models.farabet import pyramid_levels

    x = torch.rand((1, 2, 32, 48), dtype=torch.float64)
    gaussian = pyramid_levels(x, 3, "gaussian")
    laplacian = pyramid_levels(x, 3, "laplacian")
    assert [g.shape[2:] for g in gaussian] == [(32, 48), (16, 24), (8, 12)]
    # each level is blurred and halved: the binomial kernel keeps a constant image constant
    const = pyramid_levels(torch.full((1, 1, 16, 16), 3.0), 3, "gaussian")
    assert all(torch.allclose(level, torch.tensor(3.0)) for level in const)
    # collapsing the Laplacian pyramid gives the image back
    image = laplacian[-1]
    for band in reversed(laplacian[:-1]):
        image = band + upsample(image, band.shape[2:])
    assert torch.allclose(image, x, atol=1e-12)


def test_one_set_of_convolutions_serves_every_scale():
    import torch

    net = get_architecture("farabet").build(1, 3, 2, scales=3, width=4, hidden=8)
    convs = [m for m in net.stack.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 5  # the stack's, once; not once per scale
    assert len(net.stack.norms) == 3
    assert net.classifier[0].in_channels == 3 * 4 * 4  # the scales' features, concatenated
    # a scale's features really reach the classifier: zeroing the coarse level's last norm changes the output
    net.eval()
    x = torch.rand((1, 1, 32, 32))
    with torch.no_grad():
        before = net(x)
        net.stack.norms[2][-1].weight.zero_()
        net.stack.norms[2][-1].bias.zero_()
        assert not torch.allclose(before, net(x))


def test_vote_averages_each_superpixel():
    rng = np.random.default_rng(0)
    prob = rng.random((20, 30, 3)).astype(np.float32)
    prob /= prob.sum(-1, keepdims=True)
    segments = np.repeat(np.arange(6), 100).reshape(20, 30)
    voted = vote_over_superpixels(prob, None, segments=segments)
    for s in range(6):
        inside = voted[segments == s]
        assert np.allclose(inside, prob[segments == s].mean(0), atol=1e-6)
    assert np.allclose(voted.sum(-1), 1.0, atol=1e-5)
    with pytest.raises(InputError, match="superpixels have shape"):
        vote_over_superpixels(prob, None, segments=segments[:10])


def test_predict_with_superpixel_voting(one_thread):
    import dask.array as da

    image, labels = touching_nuclei((64, 64), n=8, seed=1)
    model = train_model(image, labels, architecture="farabet", options={"width": 4, "hidden": 8},
                        epochs=1, steps_per_epoch=2, validation_fraction=0.0, rng=0)
    semantic = predict_labels(image, model, output="semantic", superpixel_size=30)
    plain = predict_labels(image, model, output="semantic")
    assert semantic.shape == plain.shape == image.shape
    from napari_segkit.superpixels import slic

    segments = slic(image, round(image.size / 30), compactness=0.1, sigma=0.0)
    for s in np.unique(segments):  # one class per superpixel
        assert len(np.unique(semantic[segments == s])) == 1
    instances = predict_labels(image, model, superpixel_size=30)
    assert instances.shape == image.shape
    with pytest.raises(InputError, match="superpixel_size must be an integer >= 4"):
        predict_labels(image, model, superpixel_size=2)
    with pytest.raises(InputError, match="needs a numpy image"):
        predict_labels(da.from_array(image, chunks=32), model, superpixel_size=30)
    # a time series: frame by frame
    series = np.stack([image, image[::-1]])
    prob = predict_probabilities(series, model)
    assert predict_labels(series, model, output="semantic", superpixel_size=30).shape == series.shape
    assert prob.shape == series.shape + (3,)


def test_cli_trains_farabet_and_predicts_with_superpixels(tmp_path):
    import json

    import tifffile

    from napari_segkit.cli import main

    image, labels = touching_nuclei((48, 48), n=4, seed=4)
    np.save(tmp_path / "img.npy", image)
    np.save(tmp_path / "lab.npy", labels)
    model = tmp_path / "model"
    assert main(["train", "--image", str(tmp_path / "img.npy"), "--labels", str(tmp_path / "lab.npy"),
                 "-o", str(model), "--architecture", "farabet", "--option", "width=4",
                 "--option", "hidden=8", "--epochs", "1", "-q"]) == 0
    assert json.loads((model / "config.json").read_text())["architecture"] == "farabet"
    out = tmp_path / "pred.tif"
    assert main(["predict", str(model), str(tmp_path / "img.npy"), "-o", str(out), "--superpixels", "30",
                 "--semantic", "-q"]) == 0
    assert tifffile.imread(out).shape == image.shape


def test_validation_loss_falls_in_the_first_epochs(one_thread):
    # the held-out loss (eval mode, running statistics) must follow the training: with batch-norm running
    # statistics still weighed by their starting values it stayed flat or rose for the first epochs
    pairs = [touching_nuclei((96, 96), n=14, seed=s) for s in (3, 4, 5, 6)]
    model = train_model([p[0] for p in pairs], [p[1] for p in pairs], architecture="farabet",
                        options={"width": 8, "hidden": 16}, epochs=4, steps_per_epoch=4, patch_shape=64,
                        validation_fraction=0.25, rng=1)
    losses = [r["val_loss"] for r in model.config["training"]["history"]]
    assert losses[1] < losses[0] and min(losses[1:]) < 0.93 * losses[0], losses
    assert model.config["training"]["best_epoch"] > 1


def test_running_statistics_start_from_the_first_batches():
    import torch

    from napari_segkit.models.running_stats import UnbiasedRunningStats

    net = torch.nn.Sequential(torch.nn.BatchNorm2d(2), torch.nn.BatchNorm2d(2, momentum=0.3))
    stats = UnbiasedRunningStats(net)
    batches = [torch.randn(4, 2, 8, 8) * 0.05 + 3.0 for _ in range(3)]
    for x in batches:
        stats.before_step()
        net(x)
    # the first batches are averaged with equal weights: the starting values 0 and 1 weigh nothing
    expected = torch.stack([x.mean(dim=(0, 2, 3)) for x in batches]).mean(0)
    assert torch.allclose(net[0].running_mean, expected, atol=1e-6)
    assert net[0].running_var.max() < 0.01
    stats.restore()
    assert net[0].momentum == 0.1 and net[1].momentum == 0.3
