"""Traps a newcomer met: stacks thinner than the halo (dask, --workers), a 2-D model on a stack."""

from __future__ import annotations

import numpy as np
import pytest

from napari_segkit import InputError
from napari_segkit.tiling.inference import tiled_inference_dask

torch = pytest.importorskip("torch")


def _box_filter(batch):
    from scipy import ndimage as ndi

    size = (1, 1) + (3,) * (batch.ndim - 2)
    return ndi.uniform_filter(batch.astype(np.float64), size=size, mode="constant").astype(np.float32)


def test_dask_stack_thinner_than_the_halo_equals_whole():
    import dask.array as da

    noise = np.random.default_rng(1).random((1, 6, 40, 36)).astype(np.float32)
    out = tiled_inference_dask(da.from_array(noise, chunks=(1, 6, 16, 16)), _box_filter, n_outputs=1,
                               tile_shape=(24, 24, 24), halo=8, align=8, block_shape=(16, 16, 16))
    np.testing.assert_allclose(out.compute(), _box_filter(noise[None])[0], atol=1e-6)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent / "models"))
    from test_architectures import _random_model

    folder = tmp_path_factory.mktemp("models")
    two = _random_model("unet", {"width": 4, "depth": 2}).save(folder / "model2d")
    three = _random_model("unet", {"width": 4, "depth": 2}, spatial_dims=3).save(folder / "model3d")
    return two, three


def test_3d_model_on_a_thin_dask_stack_equals_numpy(models):
    import dask.array as da

    from napari_segkit import load_model, predict_probabilities

    model = load_model(models[1])
    stack = np.random.default_rng(0).random((5, 40, 48)).astype(np.float32)
    assert model.halo > 5
    lazy = predict_probabilities(da.from_array(stack, chunks=(5, 24, 24)), model, block_shape=(8, 24, 24))
    np.testing.assert_allclose(lazy.compute(), predict_probabilities(stack, model), atol=1e-5)


def test_2d_model_on_a_stack_hints_at_in_plane_spacing(models):
    from napari_segkit import load_model, predict_labels

    model = load_model(models[0])
    stack = np.random.default_rng(0).random((3, 32, 32)).astype(np.float32)
    with pytest.raises(InputError, match=r"model is 2-D; a 2-D model segments a stack plane by plane.*"
                                         r"spacing=\(0.5, 0.5\)"):
        predict_labels(stack, model, spacing=(2.0, 0.5, 0.5))
    assert predict_labels(stack, model, spacing=(1.0, 1.0)).shape == stack.shape


def test_cli_2d_model_on_a_stack_and_workers(models, tmp_path, capsys):
    import tifffile

    from napari_segkit.cli import main
    from napari_segkit.io import read_image

    stack = np.random.default_rng(0).random((4, 48, 40)).astype(np.float32)
    tifffile.imwrite(tmp_path / "stack.tif", stack, photometric="minisblack")
    two, three = (str(m) for m in models)
    # a 2-D model segments the stack plane by plane without being told
    assert main(["predict", two, str(tmp_path / "stack.tif"), "-o", str(tmp_path / "a.tif"), "-q"]) == 0
    assert read_image(tmp_path / "a.tif").array.shape == stack.shape
    assert main(["predict", two, str(tmp_path / "stack.tif"), "-o", str(tmp_path / "b.tif"),
                 "--spatial-dims", "3", "-q"]) == 2
    assert "use --spatial-dims 2" in capsys.readouterr().err
    # a 3-D model on 4 planes (fewer than its halo) through a local dask.distributed cluster
    pytest.importorskip("distributed")
    assert main(["predict", three, str(tmp_path / "stack.tif"), "-o", str(tmp_path / "c.tif"),
                 "--workers", "1", "-q"]) == 0, capsys.readouterr().err
    assert main(["predict", three, str(tmp_path / "stack.tif"), "-o", str(tmp_path / "d.tif"), "-q"]) == 0
    assert np.array_equal(read_image(tmp_path / "c.tif").array, read_image(tmp_path / "d.tif").array)
