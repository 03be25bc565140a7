"""Scale-out without shipping the data: a zarr image read lazily puts no pixels in
the task graph, so the graph stays small as the volume grows, and a cluster of
worker processes (each reading its own chunks) gives the in-memory result."""

from __future__ import annotations

import numpy as np
import pytest

from _option_matrix import tiny_model

distributed = pytest.importorskip("distributed")


def _zarr_image(path, side):
    from napari_segkit.io import write_labels  # any integer image will do as input

    rng = np.random.default_rng(0)
    image = (rng.random((side, side)) * 200).astype(np.uint8)
    write_labels(path, image)
    return image


def _graph_bytes(array) -> int:
    import cloudpickle

    return len(cloudpickle.dumps(dict(array.__dask_graph__())))


def test_lazy_zarr_graph_holds_no_pixels(tmp_path):
    from napari_segkit.io import read_image

    sizes = {}
    for side in (256, 1024):
        _zarr_image(tmp_path / f"img{side}.zarr", side)
        lazy = read_image(tmp_path / f"img{side}.zarr", lazy=True).array
        assert hasattr(lazy, "dask")
        sizes[side] = _graph_bytes(lazy.rechunk(128))
    # 16x the pixels: the graph grows with the number of blocks, not the bytes
    assert sizes[1024] < 0.05 * 1024 * 1024, sizes
    import dask.array as da

    embedded = _graph_bytes(da.from_array(np.zeros((1024, 1024), np.uint8), chunks=128))
    assert embedded > 1024 * 1024 > 20 * sizes[1024], (embedded, sizes)


def test_prediction_on_local_cluster_reads_chunks_on_workers(tmp_path):
    import napari_segkit as ns
    from napari_segkit.io import read_image

    model = tiny_model()
    image = _zarr_image(tmp_path / "img.zarr", 128).astype(np.float32)
    expected = ns.predict_probabilities(image, model)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        lazy = read_image(tmp_path / "img.zarr", lazy=True).array.rechunk(64).astype(np.float32)
        got = ns.predict_probabilities(lazy, model)
        assert _graph_bytes(lazy) < 64 * 1024
        result = client.compute(got).result()
    np.testing.assert_allclose(result, expected, atol=1e-4)
