"""A TIFF read lazily ships no pixels: each dask block opens the file and decodes its own
strips or tiles, so on dask.distributed the workers read the file themselves, and the
result equals the in-memory run."""

from __future__ import annotations

import numpy as np
import pytest

from _option_matrix import tiny_model
from napari_segkit._errors import ResourceLimitError


def _tiff_image(path, shape, **layout):
    import tifffile

    image = (np.random.default_rng(0).random(shape) * 200).astype(np.uint8)
    tifffile.imwrite(path, image, **layout)
    return image


def _task_bytes(array):
    import cloudpickle

    return [len(cloudpickle.dumps(task)) for task in dict(array.__dask_graph__()).values()]


@pytest.mark.parametrize("layout", [dict(rowsperstrip=16), dict(tile=(64, 64))], ids=["strips", "tiles"])
def test_lazy_tiff_equals_eager_and_reads_by_block(tmp_path, layout):
    from napari_segkit.io import read_image

    image = _tiff_image(tmp_path / "img.tif", (2, 300, 200), **layout)
    lazy = read_image(tmp_path / "img.tif", lazy=True)
    assert hasattr(lazy.array, "dask") and lazy.axes == read_image(tmp_path / "img.tif").axes
    np.testing.assert_array_equal(lazy.array.compute(), image)
    odd = lazy.array.rechunk((1, 37, 53))  # blocks that cut strips and tiles
    np.testing.assert_array_equal(odd.compute(), image)
    np.testing.assert_array_equal(odd.blocks[1, 3, 2].compute(), image[1:2, 111:148, 106:159])


def test_lazy_tiff_needs_only_a_block_in_memory(tmp_path):
    from napari_segkit.io import read_image

    image = _tiff_image(tmp_path / "big.tif", (1024, 1024), tile=(64, 64))
    with pytest.raises(ResourceLimitError):
        read_image(tmp_path / "big.tif", memory_limit=400_000)
    lazy = read_image(tmp_path / "big.tif", memory_limit=400_000, lazy=True).array
    assert max(lazy.blocks[0, 0].shape) < 1024 and lazy.blocks[0, 0].nbytes <= 100_000
    np.testing.assert_array_equal(lazy.compute(), image)


def test_lazy_tiff_graph_does_not_grow_with_the_image(tmp_path):
    import napari_segkit as ns
    from napari_segkit.io import read_image

    model = tiny_model()
    per_block, totals = {}, {}
    for side in (128, 1024):
        _tiff_image(tmp_path / f"img{side}.tif", (side, side), tile=(64, 64))
        lazy = read_image(tmp_path / f"img{side}.tif", lazy=True).array.rechunk(64).astype(np.float32)
        read_sizes = _task_bytes(lazy)
        assert max(read_sizes) < 2048, max(read_sizes)  # a path and a block position, no pixels
        sizes = sorted(_task_bytes(ns.predict_probabilities(lazy, model)))[:-1]  # less the weights
        per_block[side] = sum(sizes) / (side // 64) ** 2
        totals[side] = sum(sizes)
    # 64x the pixels: the same few KiB per block, nothing that scales with a block's pixels
    assert max(per_block.values()) < 4096 and per_block[1024] < 1.5 * per_block[128], per_block
    assert totals[1024] < 0.2 * 4 * 1024 * 1024, totals  # far below the float32 pixels' bytes


def test_cli_predict_workers_on_tiff_equals_local_run(tmp_path):
    pytest.importorskip("distributed")
    from napari_segkit.cli import main
    from napari_segkit.io import read_image

    model = tiny_model()
    model.save(tmp_path / "model")
    _tiff_image(tmp_path / "img.tif", (160, 160), rowsperstrip=8)
    assert main(["predict", str(tmp_path / "model"), str(tmp_path / "img.tif"), "-o",
                 str(tmp_path / "local.zarr"), "-q"]) == 0
    assert main(["predict", str(tmp_path / "model"), str(tmp_path / "img.tif"), "-o",
                 str(tmp_path / "spread.zarr"), "--workers", "2", "--block", "64", "-q"]) == 0
    np.testing.assert_array_equal(read_image(tmp_path / "spread.zarr").array,
                                  read_image(tmp_path / "local.zarr").array)
