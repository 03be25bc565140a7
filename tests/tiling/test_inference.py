"""Sliding-window inference: exact tile placement, halos, blending, dask, OOM retry."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_segkit import Cancelled, InputError, ResourceLimitError
from napari_segkit.tiling.inference import (
    gaussian_weights,
    plan_tiles,
    sliding_window_inference,
    tiled_inference_dask,
)


def plus_one(batch):
    return batch + 1.0


def box_filter(batch):
    """A 3x3(x3) mean with zero padding: receptive radius 1, sensitive to tile edges."""
    size = (1, 1) + (3,) * (batch.ndim - 2)
    return ndi.uniform_filter(batch.astype(np.float64), size=size, mode="constant").astype(np.float32)


def arange_image(shape, channels=1):
    return np.arange(channels * np.prod(shape), dtype=np.float32).reshape((channels,) + shape)


CASES = [
    # spatial shape, tile, halo, overlap, align
    ((37, 53), (16, 16), 0, 0.0, 1),
    ((37, 53), (20, 24), 4, 0.0, 4),
    ((37, 53), (24, 20), 4, 0.5, 4),
    ((64, 64), (64, 64), 0, 0.0, 1),
    ((9, 10, 11), (4, 6, 5), 1, 0.25, 1),
    ((9, 10, 11), (8, 8, 8), 2, 0.0, 2),
]


@pytest.mark.parametrize("shape, tile, halo, overlap, align", CASES)
def test_tiles_land_exactly_where_they_belong(shape, tile, halo, overlap, align):
    image = arange_image(shape, channels=2)
    out = sliding_window_inference(
        image, plus_one, n_outputs=2, tile_shape=tile, halo=halo, overlap=overlap, align=align, batch_size=3
    )
    assert out.shape == image.shape and out.dtype == np.float32
    if overlap == 0:
        assert np.array_equal(out, image + 1)
    else:
        np.testing.assert_allclose(out, image + 1, rtol=1e-6)


@pytest.mark.parametrize("shape, tile, halo, overlap, align", [c for c in CASES if c[2] > 0])
def test_halo_makes_tiled_equal_whole(shape, tile, halo, overlap, align):
    image = np.random.default_rng(0).random((1,) + shape).astype(np.float32)
    whole = box_filter(image[None])[0]
    out = sliding_window_inference(
        image, box_filter, n_outputs=1, tile_shape=tile, halo=halo, overlap=overlap, align=align
    )
    np.testing.assert_allclose(out, whole, atol=1e-6)
    # without a halo the tile edges show
    bare = sliding_window_inference(image, box_filter, n_outputs=1, tile_shape=tile, halo=0, align=align)
    assert np.abs(bare - whole).max() > 1e-3


def test_plan_tiles_cover_every_pixel():
    shape = (50, 70)
    tiles = plan_tiles(shape, tile_shape=(24, 24), halo=(4, 4), overlap=0.0, align=4)
    count = np.zeros(shape, int)
    for read, core in tiles:
        count[core] += 1
        for r, c, s in zip(read, core, shape):
            assert r.start % 4 == 0 and r.start == max(0, c.start - 4) and r.stop == min(s, c.stop + 4)
    assert (count == 1).all()  # without overlap every pixel is in exactly one core
    sizes = {tuple(c.stop - c.start for c in core) for _, core in tiles}
    assert max(s[0] for s in sizes) <= 16 and max(s[1] for s in sizes) <= 16  # cores never exceed tile - 2 halo


def test_window_computes_part_of_the_region():
    image = arange_image((30, 40))
    out = sliding_window_inference(
        image, plus_one, n_outputs=1, tile_shape=(12, 12), halo=2, align=2, window=[(4, 20), (6, 40)]
    )
    assert np.array_equal(out, image[:, 4:20, 6:40] + 1)


def test_gaussian_weights():
    w = gaussian_weights((9, 5))
    assert w.shape == (9, 5) and w.max() == pytest.approx(1.0) and w.min() >= 1e-3
    assert w[4, 2] == w.max() and w[0, 0] == w.min()


@pytest.mark.parametrize(
    "shape, chunks, block, tile, halo",
    [
        ((40, 52), (7, 9), (16, 16), (12, 12), 2),
        ((40, 52), (40, 52), (20, 24), (16, 16), 2),
        ((40, 52), (13, 52), None, (40, 52), 0),
        ((12, 20, 18), (5, 6, 7), (8, 8, 8), (6, 6, 6), 1),
    ],
)
def test_dask_blocks_land_exactly(shape, chunks, block, tile, halo):
    import dask.array as da

    image = arange_image(shape)
    lazy = da.from_array(image, chunks=(1,) + chunks)
    out = tiled_inference_dask(
        lazy, plus_one, n_outputs=1, tile_shape=tile, halo=halo, align=max(1, halo), block_shape=block
    )
    assert isinstance(out, da.Array)
    assert np.array_equal(out.compute(), image + 1)
    if halo:
        noise = np.random.default_rng(1).random(image.shape).astype(np.float32)
        filtered = tiled_inference_dask(
            da.from_array(noise, chunks=(1,) + chunks), box_filter, n_outputs=1, tile_shape=tile,
            halo=halo, align=halo, block_shape=block,
        )
        np.testing.assert_allclose(filtered.compute(), box_filter(noise[None])[0], atol=1e-6)


def test_zarr_in_zarr_out(tmp_path):
    import dask.array as da
    import zarr

    image = arange_image((48, 40))
    source = zarr.open_array(str(tmp_path / "in.zarr"), mode="w", shape=image.shape, chunks=(1, 16, 16),
                             dtype="f4")
    source[:] = image
    out = tiled_inference_dask(
        da.from_zarr(str(tmp_path / "in.zarr")), box_filter, n_outputs=1, tile_shape=(16, 16), halo=2, align=2
    )
    out.to_zarr(str(tmp_path / "out.zarr"))
    back = zarr.open_array(str(tmp_path / "out.zarr"), mode="r")[:]
    np.testing.assert_allclose(back, box_filter(image[None])[0], rtol=1e-6)


def test_freed_memory_is_returned_after_each_block(monkeypatch):
    import sys

    import dask.array as da

    import napari_segkit.tiling.inference as inference
    from napari_segkit._allocator import trim_freed_memory

    assert trim_freed_memory() is sys.platform.startswith("linux")  # glibc here; a no-op elsewhere
    calls = []
    monkeypatch.setattr(inference, "trim_freed_memory", lambda: calls.append(1) or True)
    image = arange_image((40, 36))
    out = tiled_inference_dask(da.from_array(image, chunks=(1, 16, 16)), plus_one, n_outputs=1,
                               tile_shape=(16, 16), block_shape=(16, 16))
    assert np.array_equal(out.compute(scheduler="synchronous"), image + 1)
    assert len(calls) == 3 * 3  # one per block


class OutOfMemoryError(RuntimeError):
    """Stands for torch.cuda.OutOfMemoryError (matched by name)."""


def test_out_of_memory_halves_the_tile_and_retries():
    image = arange_image((40, 40))
    seen = []
    freed = []

    def small_device(batch):
        seen.append(batch.shape[2:])
        if np.prod(batch.shape[2:]) > 300:
            raise OutOfMemoryError("CUDA out of memory")
        return batch + 1.0

    with pytest.warns(RuntimeWarning) as record:
        out = sliding_window_inference(
            image, small_device, n_outputs=1, tile_shape=(40, 40), halo=2, align=2,
            on_out_of_memory=lambda: freed.append(1),
        )
    assert str(record[0].message) == "out of device memory with tile (40, 40); retrying with tile (22, 40)"
    assert np.array_equal(out, image + 1)
    assert freed and max(np.prod(s) for s in seen[-4:]) <= 300

    def no_memory(batch):
        raise RuntimeError("CUDA error: out of memory")

    with pytest.raises(ResourceLimitError, match="even with tile"), pytest.warns(RuntimeWarning):
        sliding_window_inference(image, no_memory, n_outputs=1, tile_shape=(40, 40), halo=2, align=2)


def test_other_errors_are_not_retried():
    def broken(batch):
        raise ValueError("bad weights")

    with pytest.raises(ValueError, match="bad weights"):
        sliding_window_inference(arange_image((8, 8)), broken, n_outputs=1, tile_shape=(4, 4))
    with pytest.raises(RuntimeError, match=r"predictor returned shape \(1, 2, 4, 4\)"):
        sliding_window_inference(
            arange_image((8, 8)), lambda b: np.repeat(b, 2, axis=1), n_outputs=1, tile_shape=(4, 4)
        )


def test_progress_per_batch_and_cancel():
    image = arange_image((32, 32))
    calls = []
    sliding_window_inference(image, plus_one, n_outputs=1, tile_shape=(8, 8), batch_size=4,
                             progress=lambda f, m: calls.append((f, m)))
    assert len(calls) == 4 and calls[-1] == (1.0, "tile 16/16")

    def cancel(fraction, message):
        raise Cancelled()

    seen = []

    def counting(batch):
        seen.append(1)
        return batch + 1

    with pytest.raises(Cancelled):
        sliding_window_inference(image, counting, n_outputs=1, tile_shape=(8, 8), progress=cancel)
    assert len(seen) == 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(overlap=1.0), r"overlap must be a fraction in \[0, 1\)"),
        (dict(halo=3, align=2), r"halo \(3, 3\) must be a multiple of align=2"),
        (dict(tile_shape=(8, 8), halo=4), "leaves no core on axis 0"),
        (dict(tile_shape=(8,)), "tile_shape must give one positive integer per spatial axis"),
        (dict(batch_size=0), "batch_size must be a positive integer"),
    ],
)
def test_bad_arguments(kwargs, match):
    args = dict(n_outputs=1, tile_shape=(8, 8))
    args.update(kwargs)
    with pytest.raises(InputError, match=match):
        sliding_window_inference(arange_image((16, 16)), plus_one, **args)


def test_distributed_local_cluster_equals_local():
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed")
    import dask.array as da

    image = np.random.default_rng(2).random((1, 64, 64)).astype(np.float32)
    lazy = tiled_inference_dask(da.from_array(image, chunks=(1, 16, 16)), box_filter, n_outputs=1,
                                tile_shape=(16, 16), halo=2, align=2)
    local = lazy.compute(scheduler="synchronous")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        remote = lazy.compute()
    assert np.array_equal(remote, local)
