"""FCN, SegNet, DeepLabv3 and PSPNet: shapes, receptive radius, tiling, training, files, internals."""

import numpy as np
import pytest

from _model_helpers import instance_f1, touching_nuclei
from napari_segkit import InputError, UnsafeFileError
from napari_segkit.models import Model, load_model, predict_labels, predict_probabilities, train_model
from napari_segkit.models.registry import ARCHITECTURES, get_architecture

NAMES = ["fcn", "segnet", "deeplabv3", "pspnet", "farabet"]
# small versions for the tests: a few feature maps, modest context
SMALL = {
    "fcn": {"width": 4},
    "segnet": {"width": 4, "depth": 2},
    "deeplabv3": {"width": 4, "aspp_rates": "1,2,3", "context": 64},
    "pspnet": {"width": 4, "context": 64},
    "farabet": {"width": 4, "hidden": 8},
}
CONFIG = {"spatial_dims": 2, "in_channels": 1, "classes": ["background", "interior", "boundary"],
          "voxel_size": [1.0, 1.0], "normalisation": {"method": "percentile", "low": 1.0, "high": 99.8}}


def _random_model(name, options, spatial_dims=2, seed=0):
    """An untrained model, with FCN's zero-initialised skip scores made random too."""
    import torch

    torch.manual_seed(seed)
    network = get_architecture(name).build(1, 3, spatial_dims, **options)
    with torch.no_grad():
        for p in network.parameters():
            if not p.any():
                p.normal_(0.0, 0.3)
    config = dict(CONFIG, architecture=name, options=options, spatial_dims=spatial_dims,
                  voxel_size=[1.0] * spatial_dims)
    return Model(network.eval(), config)


# ----------------------------------------------------------------------------- registry and shapes


def test_registered_with_scalar_defaults():
    import json

    assert list(ARCHITECTURES)[:6] == ["unet", "fcn", "segnet", "deeplabv3", "pspnet", "farabet"]
    for name in NAMES:
        defaults = get_architecture(name).defaults
        assert json.loads(json.dumps(defaults)) == defaults
        assert all(isinstance(v, (int, float, str, bool)) for v in defaults.values())
        assert "width" in defaults  # the tiler's memory estimate reads it


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(1, 1), (5, 7), (33, 17), (3, 9, 10)])
def test_any_size_goes_in_and_comes_out(name, shape):
    import torch

    net = get_architecture(name).build(2, 3, len(shape), **SMALL[name]).eval()
    with torch.no_grad():
        out = net(torch.rand((1, 2) + shape))
    assert out.shape == (1, 3) + shape


def test_pspnet_returns_the_auxiliary_logits_in_training_only():
    import torch

    from napari_segkit.models.training import _training_loss

    net = get_architecture("pspnet").build(1, 3, 2, **SMALL["pspnet"], aux_weight=0.25)
    x = torch.rand((2, 1, 19, 24))
    y = torch.randint(0, 3, (2, 19, 24))
    main, aux = net.train()(x)
    assert main.shape == aux.shape == (2, 3, 19, 24)
    loss_fn = torch.nn.CrossEntropyLoss()
    expected = loss_fn(main, y) + 0.25 * loss_fn(aux, y)
    assert torch.allclose(_training_loss(net, (main, aux), y, loss_fn), expected)
    assert torch.allclose(_training_loss(net, main, y, loss_fn), loss_fn(main, y))
    with torch.no_grad():
        assert net.eval()(x).shape == (2, 3, 19, 24)


# ----------------------------------------------------------------------------- receptive radius and tiling


@pytest.mark.parametrize("name, options", [
    ("fcn", SMALL["fcn"]),
    ("fcn", {"width": 4, "skips": 1, "upsampling": "bilinear"}),
    ("segnet", SMALL["segnet"]),
    ("deeplabv3", SMALL["deeplabv3"]),
    ("pspnet", SMALL["pspnet"]),
    ("farabet", SMALL["farabet"]),
    ("farabet", {"width": 4, "hidden": 8, "scales": 2, "pyramid": "gaussian"}),
])
def test_receptive_radius_is_a_tight_upper_bound(name, options):
    """Perturb one pixel: nothing beyond the radius changes, and the radius is not loose."""
    import torch

    spec = get_architecture(name)
    radius = spec.receptive_radius(**options)
    torch.manual_seed(0)
    net = spec.build(1, 3, 2, **options).double().eval()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.2 * torch.randn_like(p))
    n = 2 * radius + 40
    x = torch.rand((1, 1, n, n), dtype=torch.float64)
    reach = 0
    with torch.no_grad():
        base = net(x)
        for dy, dx in [(0, 0), (7, 5)]:  # two phases of the pooling grid
            y = x.clone()
            y[0, 0, n // 2 + dy, n // 2 + dx] += 10.0
            changed = np.argwhere(((net(y) - base).abs().sum(1)[0] > 0).numpy())
            reach = max(reach, int(np.abs(changed - [n // 2 + dy, n // 2 + dx]).max()))
    assert 0.5 * radius < reach <= radius


@pytest.mark.parametrize("name", NAMES)
def test_tiled_equals_untiled(name, one_thread):
    model = _random_model(name, SMALL[name])
    halo = model.halo
    image = touching_nuclei((halo + 80, halo + 96), n=30, seed=4)[0]
    tile = 2 * halo + 32  # cores of 32: every tile is cut short of the image on some side
    whole = predict_probabilities(image, model)
    tiled = predict_probabilities(image, model, tile_shape=tile, batch_size=4)
    # same arithmetic on the same values; only convolution blocking can change the rounding
    # (float32, logits of order 0.1-1: at most 1e-7 seen)
    assert np.abs(tiled - whole).max() <= 1e-5
    # and the check has teeth: with half the halo, tiles differ by more than that tolerance
    half = halo // 2 // model.align * model.align
    short = predict_probabilities(image, model, tile_shape=2 * half + 32, halo=half, batch_size=4)
    assert np.abs(short - whole).max() > 1e-5


def test_tiled_equals_untiled_3d(one_thread):
    model = _random_model("segnet", {"width": 4, "depth": 2}, spatial_dims=3)
    halo = model.halo
    volume = np.random.default_rng(0).random((halo + 12, halo + 20, halo + 8)).astype(np.float32)
    whole = predict_probabilities(volume, model)
    tiled = predict_probabilities(volume, model, tile_shape=(2 * halo + 8,) * 3, batch_size=4)
    assert whole.shape == volume.shape + (3,)
    assert np.abs(tiled - whole).max() <= 1e-5


@pytest.mark.parametrize("name, options", [
    ("deeplabv3", dict(SMALL["deeplabv3"], image_pooling="global")),
    ("pspnet", dict(SMALL["pspnet"], pooling="global")),
])
def test_global_pooling_is_not_local(name, options, one_thread):
    """The papers' global pooling sees the whole input: tiles differ from the whole image (documented)."""
    model = _random_model(name, options)
    halo = model.halo
    image = touching_nuclei((halo + 80, halo + 96), n=30, seed=4)[0]
    whole = predict_probabilities(image, model)
    tiled = predict_probabilities(image, model, tile_shape=2 * halo + 32, batch_size=4)
    assert np.abs(tiled - whole).max() > 1e-5  # the tolerance of the exact case, see above
    assert whole.shape == image.shape + (3,)


def test_box_mean_is_the_clipped_window_average():
    import torch

    from napari_segkit.models.backbones import box_mean

    x = torch.rand((2, 3, 9, 12), dtype=torch.float64)
    out = box_mean(x, 5)
    ref = torch.empty_like(x)
    for i in range(9):
        for j in range(12):
            ref[..., i, j] = x[..., max(0, i - 2): i + 3, max(0, j - 2): j + 3].mean(dim=(-2, -1))
    assert torch.allclose(out, ref)
    assert box_mean(torch.rand(1, 1, 4, 5, 6), 3).shape == (1, 1, 4, 5, 6)


# ----------------------------------------------------------------------------- training and model files

TRAINING = {
    "fcn": {"width": 8},
    "segnet": {"width": 8, "depth": 2},
    "deeplabv3": {"width": 8, "aspp_rates": "1,2,3", "context": 64},
    "pspnet": {"width": 8, "context": 64},
    "farabet": {"width": 8, "hidden": 16},
}


@pytest.fixture(scope="module")
def trained_models():
    """Each architecture trained 80 steps on two 96 x 96 images of touching nuclei (1 thread)."""
    import time

    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    pairs = [touching_nuclei((96, 96), n=14, seed=s) for s in (0, 1)]
    models = {}
    try:
        for name in NAMES:
            start = time.perf_counter()
            model = train_model(
                [p[0] for p in pairs], [p[1] for p in pairs], architecture=name, options=TRAINING[name],
                epochs=10, steps_per_epoch=8, patch_shape=64, learning_rate=3e-3, validation_fraction=0.0,
                rng=0,
            )
            models[name] = (model, time.perf_counter() - start)
    finally:
        torch.set_num_threads(before)
    return models


@pytest.mark.parametrize("name", NAMES)
def test_short_training_learns_touching_nuclei(name, trained_models, one_thread):
    model, seconds = trained_models[name]
    image, truth = touching_nuclei((96, 96), n=14, seed=2)  # held out
    semantic = predict_labels(image, model, output="semantic")
    iou = ((semantic > 0) & (truth > 0)).sum() / ((semantic > 0) | (truth > 0)).sum()
    f1 = instance_f1(truth, predict_labels(image, model))
    message = f"{name}: foreground IoU {iou:.3f}, instance F1@0.5 {f1:.3f} after {seconds:.1f} s"
    assert iou >= 0.7 and f1 >= 0.8, message
    history = model.history
    assert len(history) == 10 and history[-1]["loss"] < 0.8 * history[0]["loss"]
    assert model.config["architecture"] == name


@pytest.mark.parametrize("name", NAMES)
def test_save_load_round_trip(name, trained_models, tmp_path, one_thread):
    model, _ = trained_models[name]
    path = model.save(tmp_path / name)
    loaded = load_model(path)
    assert loaded.config["architecture"] == name and loaded.config["options"] == model.config["options"]
    assert type(loaded.network) is type(model.network)
    for key, value in model.network.state_dict().items():
        assert np.array_equal(loaded.network.state_dict()[key].numpy(), value.numpy()), key
    image = touching_nuclei((40, 52), n=4, seed=5)[0]
    np.testing.assert_array_equal(loaded.predict_probabilities(image), model.predict_probabilities(image))
    assert loaded.halo == model.halo and loaded.align == model.align


def test_a_file_of_another_architecture_is_refused(trained_models, tmp_path):
    import json

    model, _ = trained_models["segnet"]
    path = model.save(tmp_path / "m")
    config = json.loads((path / "config.json").read_text())
    config["architecture"] = "fcn"
    config["options"] = {}
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(InputError, match="does not match its architecture: weights .* missing"):
        load_model(path)


# ----------------------------------------------------------------------------- internals


def test_segnet_unpooling_puts_values_at_the_pooled_indices():
    import torch

    net = get_architecture("segnet").build(1, 3, 2, depth=2, width=3, convs=1).eval()
    x = torch.rand((1, 1, 12, 16))
    encoded, pooled = [], []
    net.encoders[0].register_forward_hook(lambda m, i, o: encoded.append(o.clone()))
    original = net._unpool

    def spy(features, indices, size):
        out = original(features, indices, size)
        pooled.append((features, out))
        return out

    net._unpool = spy
    with torch.no_grad():
        net(x)
    before = encoded[0]  # level-0 encoder features, (1, 3, 12, 16)
    features, out = pooled[-1]  # the level-0 unpooling, (1, 3, 12, 16)
    cells = before.reshape(1, 3, 6, 2, 8, 2).permute(0, 1, 2, 4, 3, 5).reshape(1, 3, 6, 8, 4)
    where = torch.zeros_like(cells).scatter_(-1, cells.argmax(-1, keepdim=True), 1.0)
    where = where.reshape(1, 3, 6, 8, 2, 2).permute(0, 1, 2, 4, 3, 5).reshape(1, 3, 12, 16)
    expected = where * torch.repeat_interleave(torch.repeat_interleave(features, 2, 2), 2, 3)
    assert torch.equal(out, expected)  # each value at its encoder maximum, zeros elsewhere
    assert ((out != 0).reshape(1, 3, 6, 2, 8, 2).sum(dim=(3, 5)) <= 1).all()


def test_deeplab_dilation_rates_and_aspp_branches_are_as_configured():
    import torch

    options = {"width": 4, "output_stride": 4, "multi_grid": "1,3", "aspp_rates": "2,5,7"}
    net = get_architecture("deeplabv3").build(1, 3, 2, **options).eval()
    backbone = net.backbone
    # strides 2, 4 then atrous: stage 3 at rate 2, stage 4 at rate 4 times the multi-grid (1, 3)
    assert backbone.dilations == [[1], [1], [2], [4, 12]]
    assert backbone.layer3[0].conv1.stride == (1, 1) and backbone.layer3[0].conv1.dilation == (2, 2)
    assert [b.conv1.dilation for b in backbone.layer4] == [(4, 4), (12, 12)]
    assert [b.conv2.dilation for b in backbone.layer4] == [(4, 4), (12, 12)]
    assert backbone.layer2[0].conv1.stride == (2, 2)
    aspp = net.aspp
    assert len(aspp.branches) == 4 and aspp.pooling is not None  # 1x1, three rates, image pooling
    assert aspp.branches[0][0].kernel_size == (1, 1)
    for branch, rate in zip(aspp.branches[1:], (2, 5, 7)):
        conv = branch[0]
        assert conv.dilation == (rate, rate) and conv.padding == (rate, rate)
        # an impulse reaches exactly the taps at 0 and +-rate
        probe = torch.nn.Conv2d(1, 1, 3, padding=rate, dilation=rate, bias=False)
        torch.nn.init.ones_(probe.weight)
        impulse = torch.zeros((1, 1, 31, 31))
        impulse[0, 0, 15, 15] = 1
        taps = set(map(tuple, (torch.nonzero(probe(impulse)[0, 0]) - 15).tolist()))
        assert taps == {(a, b) for a in (-rate, 0, rate) for b in (-rate, 0, rate)}
        assert probe.weight.shape == conv.weight.shape[:0] + (1, 1, 3, 3)
    none = get_architecture("deeplabv3").build(1, 3, 2, width=4, image_pooling="none")
    assert none.aspp.pooling is None and len(none.aspp.branches) == 4
    radius = get_architecture("deeplabv3").receptive_radius
    local = dict(options, image_pooling="none")
    assert radius(**local) - radius(**dict(local, aspp_rates="1")) == (7 - 1) * 4  # the largest rate, at stride 4


def test_fcn_fuses_coarse_to_fine():
    net = get_architecture("fcn").build(1, 3, 2, width=4, skips=2)
    strides = [net.backbone.strides[i] for i in net.skip_stages]
    assert net.backbone.strides[-1] == 16 and strides == [8, 4]
    assert net.final_upsampler.factor == 4
    assert get_architecture("fcn").align(skips=2) == 16


# ----------------------------------------------------------------------------- pretrained backbones


def _torchvision_resnet18_keys():
    """The state_dict keys of torchvision.models.resnet18, from its naming rules."""
    bn = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    keys = ["conv1.weight"] + [f"bn1.{k}" for k in bn]
    for layer in range(1, 5):
        for block in range(2):
            p = f"layer{layer}.{block}."
            keys += [p + "conv1.weight"] + [p + f"bn1.{k}" for k in bn]
            keys += [p + "conv2.weight"] + [p + f"bn2.{k}" for k in bn]
            if layer > 1 and block == 0:
                keys += [p + "downsample.0.weight"] + [p + f"downsample.1.{k}" for k in bn]
    return keys + ["fc.weight", "fc.bias"]


def test_resnet18_backbone_has_torchvision_names_and_shapes():
    from napari_segkit.models.backbones import ResNetBackbone

    import torch

    with torch.device("meta"):  # names and shapes only, no memory
        state = ResNetBackbone(3, 2, variant="resnet18").state_dict()
    assert sorted(list(state) + ["fc.weight", "fc.bias"]) == sorted(_torchvision_resnet18_keys())
    assert len(state) + 2 == 122  # len(torchvision.models.resnet18().state_dict())
    assert tuple(state["conv1.weight"].shape) == (64, 3, 7, 7)
    assert tuple(state["layer2.0.downsample.0.weight"].shape) == (128, 64, 1, 1)
    assert tuple(state["layer4.1.conv2.weight"].shape) == (512, 512, 3, 3)


@pytest.fixture
def weights_file(tmp_path):
    """A torchvision-format state_dict (an RGB ``small`` ResNet, width 8, plus a classifier) on disk."""
    import torch

    from napari_segkit.models.backbones import ResNetBackbone

    torch.manual_seed(1)
    state = {k: torch.randn_like(v.float()) if v.is_floating_point() else v
             for k, v in ResNetBackbone(3, 2, variant="small", width=8).state_dict().items()}
    state["fc.weight"] = torch.randn(10, 64)
    state["fc.bias"] = torch.randn(10)
    path = tmp_path / "backbone.pth"
    torch.save({"module." + k: v for k, v in state.items()}, path)  # a DataParallel prefix is accepted
    return path, state


def test_pretrained_backbone_from_a_local_file(weights_file):
    import torch

    path, state = weights_file
    options = {"width": 8, "backbone_weights": str(path)}
    net = get_architecture("deeplabv3").build(1, 3, 2, **options)
    got = net.backbone.state_dict()
    assert torch.equal(got["layer4.1.conv2.weight"], state["layer4.1.conv2.weight"])
    assert torch.equal(got["layer3.0.bn1.running_var"], state["layer3.0.bn1.running_var"])
    # one input channel: the RGB filters summed, so a grey image gives the RGB response
    assert torch.allclose(got["conv1.weight"], state["conv1.weight"].sum(1, keepdim=True))
    three = get_architecture("pspnet").build(3, 3, 2, **options)
    assert torch.equal(three.backbone.conv1.weight, state["conv1.weight"])
    fresh = get_architecture("fcn").build(1, 3, 2, width=8)
    assert not torch.equal(fresh.backbone.layer1[0].conv1.weight, state["layer1.0.conv1.weight"])
    with torch.no_grad():
        assert net.eval()(torch.rand(1, 1, 37, 45)).shape == (1, 3, 37, 45)


def test_pretrained_backbone_errors(weights_file, tmp_path):
    import os

    import torch

    from napari_segkit.models.backbones import ResNetBackbone, load_backbone_weights

    path, state = weights_file
    with pytest.raises(InputError, match=r"backbone_weights '.*nowhere.pth' does not exist"):
        get_architecture("pspnet").build(1, 3, 2, backbone="resnet18",
                                         backbone_weights=str(tmp_path / "nowhere.pth"))
    small = ResNetBackbone(1, 2, variant="small", width=8)
    with pytest.raises(InputError, match=r"do not fit the 'resnet18' backbone.*missing \(e.g. layer1.1"):
        with torch.device("meta"):
            resnet18 = ResNetBackbone(1, 2, variant="resnet18")
        load_backbone_weights(resnet18, path)
    torch.save(dict(state, **{"head.weight": torch.zeros(3)}), tmp_path / "extra.pth")
    with pytest.raises(InputError, match=r"1 unexpected \(e.g. head.weight\)"):
        load_backbone_weights(small, tmp_path / "extra.pth")
    torch.save(dict(state, **{"layer1.0.conv1.weight": torch.zeros(8, 8, 5, 5)}), tmp_path / "wrong.pth")
    with pytest.raises(InputError, match=r"layer1.0.conv1.weight has shape \(8, 8, 5, 5\).*needs \(8, 8, 3, 3\)"):
        load_backbone_weights(small, tmp_path / "wrong.pth")
    with pytest.raises(InputError, match=r"conv1.weight has shape \(8, 3, 3, 3\), the 3-D 'small' backbone"):
        load_backbone_weights(ResNetBackbone(1, 3, variant="small", width=8), path)
    (tmp_path / "cut.pth").write_bytes(path.read_bytes()[:5000])
    with pytest.raises(InputError, match="corrupt or incomplete"):
        load_backbone_weights(small, tmp_path / "cut.pth")

    class Payload:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "ran"),))

    torch.save({"conv1.weight": Payload()}, tmp_path / "evil.pth")
    with pytest.raises(UnsafeFileError, match="nothing from it was run"):
        load_backbone_weights(small, tmp_path / "evil.pth")
    assert not (tmp_path / "ran").exists()


# ----------------------------------------------------------------------------- bad options


@pytest.mark.parametrize("name, options, match", [
    ("deeplabv3", {"aspp_rates": (6, 12)}, r"aspp_rates must be a string of comma-separated integers"),
    ("deeplabv3", {"aspp_rates": "6,x"}, r"aspp_rates must be comma-separated integers like '1,2,4', got '6,x'"),
    ("deeplabv3", {"output_stride": 5}, r"output_stride must be one of \[1, 2, 4, 8, 16\]"),
    ("deeplabv3", {"image_pooling": "max"}, r"image_pooling must be one of \['window', 'global', 'none'\]"),
    ("pspnet", {"bins": "1,0"}, r"bins must be integers >= 1"),
    ("pspnet", {"aux_weight": -1}, r"aux_weight must be a number"),
    ("fcn", {"skips": 5}, r"skips must be an integer between 0 and 4, got 5"),
    ("fcn", {"backbone": "vgg16"}, r"backbone 'vgg16' is not known; available: small, resnet18, resnet34"),
    ("fcn", {"backbone_weights": 3}, r"backbone_weights must be a path"),
    ("segnet", {"depth": 0}, r"depth must be an integer between 1 and 6, got 0"),
    ("segnet", {"width": True}, r"width must be an integer"),
])
def test_bad_options_are_refused_before_training(name, options, match):
    image, labels = touching_nuclei((48, 48), n=4, seed=3)
    calls = []
    with pytest.raises(InputError, match=match):
        train_model(image, labels, architecture=name, options=options, epochs=1, steps_per_epoch=1,
                    validation_fraction=0.0, progress=lambda f, m: calls.append(m))
    assert not any("step" in m for m in calls)
