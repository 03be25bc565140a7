"""Scale-out that ships no data: the network's weights are one key of the graph (each
worker receives them once), the graph of a lazily read zarr does not grow with the
volume's bytes, and on a cluster the workers write their own zarr output chunks."""

from __future__ import annotations

import numpy as np
import pytest

from _option_matrix import tiny_model
from test_distributed_reads import _zarr_image

distributed = pytest.importorskip("distributed")


def _task_bytes(array):
    """Pickled bytes of each task, as the scheduler sends them to workers one by one."""
    import cloudpickle

    return {key: len(cloudpickle.dumps(task)) for key, task in dict(array.__dask_graph__()).items()}


def test_weights_are_one_key_and_graph_does_not_grow_with_volume(tmp_path):
    import cloudpickle

    import napari_segkit as ns
    from napari_segkit.io import read_image

    model = tiny_model()
    weights = len(cloudpickle.dumps(model.network))
    totals, largest = {}, {}
    for side in (128, 512):
        _zarr_image(tmp_path / f"img{side}.zarr", side)
        lazy = read_image(tmp_path / f"img{side}.zarr", lazy=True).array.rechunk(64)
        sizes = _task_bytes(ns.predict_probabilities(lazy.astype(np.float32), model))
        holders = [k for k, n in sizes.items() if n >= weights]
        assert len(holders) == 1 and "segkit-predictor" in str(holders[0]), holders  # the weights, once
        others = [n for k, n in sizes.items() if k != holders[0]]
        largest[side] = max(others)
        totals[side] = sum(others)
    # 16x the pixels and blocks: no task carries the weights or pixels
    assert max(largest.values()) < weights / 4, (largest, weights)
    per_block = {side: totals[side] / (side // 64) ** 2 for side in totals}
    assert max(per_block.values()) < 4096, per_block  # a few KiB per block whatever the volume
    assert totals[512] < 0.2 * 4 * 512 * 512, totals  # far below the float32 pixels' bytes


def test_cluster_workers_write_their_own_zarr_chunks(tmp_path, monkeypatch):
    import napari_segkit as ns
    from napari_segkit.io import _zarr, read_image, write_labels

    stored = []
    original = _zarr._store_on_cluster
    monkeypatch.setattr(_zarr, "_store_on_cluster", lambda a, l: (stored.append(l.shape), original(a, l)))
    model, expected = _local_run(tmp_path, 192)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        lazy = read_image(tmp_path / "img.zarr", lazy=True).array.rechunk(64).astype(np.float32)
        labels = ns.predict_labels(lazy, model, output="semantic")
        write_labels(tmp_path / "out.zarr", labels)
    assert stored == [(192, 192)]  # written by the workers, not gathered slab by slab
    got = read_image(tmp_path / "out.zarr").array
    np.testing.assert_array_equal(got, expected)


def test_cli_predict_workers_to_zarr_equals_local_run(tmp_path, monkeypatch):
    from napari_segkit.cli import main
    from napari_segkit.io import _zarr, read_image

    stored = []
    original = _zarr._store_on_cluster
    monkeypatch.setattr(_zarr, "_store_on_cluster", lambda a, l: (stored.append(l.shape), original(a, l)))
    model = tiny_model()
    model.save(tmp_path / "model")
    _zarr_image(tmp_path / "img.zarr", 128)
    assert main(["predict", str(tmp_path / "model"), str(tmp_path / "img.zarr"), "-o",
                 str(tmp_path / "local.zarr"), "-q"]) == 0
    assert main(["predict", str(tmp_path / "model"), str(tmp_path / "img.zarr"), "-o",
                 str(tmp_path / "spread.zarr"), "--workers", "2", "--block", "64", "-q"]) == 0
    assert stored == [(128, 128)]
    np.testing.assert_array_equal(read_image(tmp_path / "spread.zarr").array,
                                  read_image(tmp_path / "local.zarr").array)


def test_worker_killed_mid_run_still_gives_the_local_result(tmp_path):
    import napari_segkit as ns
    from napari_segkit.io import read_image

    model, expected = _local_run(tmp_path, 256)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        lazy = read_image(tmp_path / "img.zarr", lazy=True).array.rechunk(32).astype(np.float32)
        persisted = ns.predict_labels(lazy, model, output="semantic").persist()
        states = _block_states(cluster.scheduler)
        assert sum(states.get(s, 0) for s in ("waiting", "processing", "queued", "no-worker")) > 0, \
            states  # killed mid-run: some blocks computed, others still to run
        nanny = next(iter(cluster.workers.values()))
        nanny.process.process.kill()  # SIGKILL: its blocks and results are lost, the nanny restarts it
        got = persisted.compute()
    np.testing.assert_array_equal(got, expected)


def _block_states(scheduler, timeout=120.0):
    """The scheduler's task counts by state, once some tasks are in memory and others still to run."""
    import collections
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            states = collections.Counter(ts.state for ts in list(scheduler.tasks.values()))
        except RuntimeError:  # the scheduler's thread changed the table meanwhile
            continue
        if states["memory"] >= 8 and states["processing"] + states["queued"] + states["waiting"]:
            return dict(states)
        time.sleep(0.002)
    raise AssertionError("the run finished (or never started) before the kill")


def _local_run(tmp_path, side):
    """The tiny model and its semantic labels of a ``side``-pixel zarr image, run in memory."""
    import napari_segkit as ns

    model = tiny_model()
    image = _zarr_image(tmp_path / "img.zarr", side).astype(np.float32)
    return model, ns.predict_labels(image, model, output="semantic")
