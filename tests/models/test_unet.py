"""U-Net shapes, receptive field, the architecture registry, targets and instances."""

import subprocess
import sys

import numpy as np
import pytest

from napari_segkit import InputError
from napari_segkit.models.instances import instances_from_probabilities
from napari_segkit.models.registry import ARCHITECTURES, Architecture, get_architecture, register_architecture
from napari_segkit.models.targets import BOUNDARY, IGNORE, INTERIOR, instance_targets


@pytest.mark.parametrize("shape", [(1, 1), (2, 2), (5, 7), (33, 17), (3, 9, 10)])
def test_any_size_goes_in_and_comes_out(shape):
    import torch

    from napari_segkit.models.unet import UNet

    net = UNet(2, 3, spatial_dims=len(shape), depth=3, width=4).eval()
    with torch.no_grad():
        out = net(torch.rand((1, 2) + shape))
    assert out.shape == (1, 3) + shape


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_receptive_radius_is_an_upper_bound(depth):
    import torch

    from napari_segkit.models.unet import UNet, unet_receptive_radius

    torch.manual_seed(0)
    net = UNet(1, 2, depth=depth, width=4).double().eval()
    n = 192
    x = torch.rand((1, 1, n, n), dtype=torch.float64)
    with torch.no_grad():
        base = net(x)
        x[0, 0, n // 2, n // 2] += 10.0
        changed = (net(x) - base).abs().sum(1)[0] > 0
    reach = np.abs(np.argwhere(changed.numpy()) - n // 2).max()
    assert 0 < reach <= unet_receptive_radius(depth)
    assert get_architecture("unet").receptive_radius(depth=depth) == unet_receptive_radius(depth)


def test_registry_is_open(tmp_path):
    import torch

    from napari_segkit.models import Model, load_model

    def build(in_channels, out_channels, spatial_dims, kernel=3):
        return torch.nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2)

    register_architecture("tiny-conv", Architecture(build, lambda kernel=3: kernel // 2, lambda **_: 1,
                                                    {"kernel": 3}))
    try:
        with pytest.raises(ValueError, match="already registered"):
            register_architecture("tiny-conv", ARCHITECTURES["unet"])
        config = {"architecture": "tiny-conv", "options": {"kernel": 5}, "spatial_dims": 2, "in_channels": 1,
                  "classes": ["background", "interior", "boundary"], "voxel_size": [1.0, 1.0],
                  "normalisation": {"method": "percentile", "low": 1.0, "high": 99.8}}
        model = Model(build(1, 3, 2, kernel=5), config)
        assert model.halo == 2
        model.save(tmp_path / "m")
        loaded = load_model(tmp_path / "m")
        assert loaded.network.kernel_size == (5, 5)
        assert loaded.predict_probabilities(np.random.default_rng(0).random((9, 9))).shape == (9, 9, 3)
    finally:
        ARCHITECTURES.pop("tiny-conv")
    with pytest.raises(InputError, match="architecture 'tiny-conv' is not known; available: unet"):
        get_architecture("tiny-conv")


def test_targets_separate_touching_objects_and_ignore_unlabelled():
    labels = np.zeros((10, 14), int)
    labels[2:8, 2:7] = 1
    labels[2:8, 7:12] = 2  # touches object 1
    t = instance_targets(labels, boundary_width=1)
    assert (t[:, 6] == BOUNDARY)[2:8].all() and (t[:, 7] == BOUNDARY)[2:8].all()
    assert t[4, 4] == INTERIOR and t[0, 0] == 0
    t2 = instance_targets(labels)  # two pixels wide by default
    assert (t2[2:8, 5:9] == BOUNDARY).all() and (t2[4:6, 4] == INTERIOR).all()
    assert (t2[4:6, 2:4] == BOUNDARY).all() and (t2[2:4, 4] == BOUNDARY).all()
    sparse = labels.copy()
    sparse[:, 10:] = -1
    t3 = instance_targets(sparse, ignore_label=-1, boundary_width=1)
    assert (t3[:, 10:] == IGNORE).all() and (t3[2:8, 9] == IGNORE).all()
    assert t3[4, 5] == INTERIOR  # not a boundary just because the ignore region is near


def test_instances_split_at_a_boundary_ridge():
    interior = np.zeros((12, 20), np.float32)
    interior[3:9, 2:9] = 0.9
    interior[3:9, 11:18] = 0.9
    boundary = np.zeros_like(interior)
    boundary[2:10, 9:11] = 0.9  # the two cells touch through this band
    background = 1.0 - np.maximum(interior, boundary)
    prob = np.stack([background, interior, boundary], axis=-1)
    labels = instances_from_probabilities(prob)
    assert labels.dtype == np.int32 and labels.max() == 2
    assert labels[5, 4] != labels[5, 14]
    assert (labels[3:9, 9:11] > 0).all()  # the band is shared out between them


def test_importing_the_models_loads_no_torch():
    code = (
        "import sys, napari_segkit.models, napari_segkit.tiling.inference, napari_segkit.tiling.stitch\n"
        "print(','.join(m for m in ('torch', 'dask.array', 'safetensors') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
