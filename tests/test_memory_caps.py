"""A lazy volume larger than the address space left is clustered and written to zarr.

Run in a subprocess under ``resource.setrlimit(RLIMIT_AS)``: the limit is set
after the libraries are loaded and warmed up, to what they use plus 220 MiB,
while the image and its labels are 256 MiB each.  Materialising either one
fails there, so only a block-by-block computation and write can pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")
resource = pytest.importorskip("resource")

SCRIPT = textwrap.dedent("""
    import resource, sys
    import dask, dask.array as da, numpy as np, psutil, zarr
    import napari_segkit as ns
    from napari_segkit.io import write_labels

    dask.config.set(scheduler="synchronous")
    warm = da.random.RandomState(0).random_sample((8, 64, 64), chunks=(4, 32, 32))
    ns.kmeans(warm, 2, rng=0).compute()  # libraries allocate their buffers before the limit
    limit = psutil.Process().memory_info().vms + 220 * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    image = da.random.RandomState(0).random_sample((64, 1024, 1024), chunks=(8, 512, 512)).astype(np.float32)
    # the default budget is 80 % of this headroom (the pre-flight sees RLIMIT_AS): give it all
    labels = ns.kmeans(image, 2, rng=0, memory_limit=220 * 2**20)
    write_labels(sys.argv[1], labels)
    stored = zarr.open_array(sys.argv[1], mode="r")
    assert stored.shape == (64, 1024, 1024) and set(np.unique(stored[:2, :64, :64])) <= {1, 2}
    try:
        np.asarray(labels)
        print("NOT LIMITED")
    except MemoryError:
        print("WROTE WITHIN LIMIT")
""")


def test_kmeans_on_lazy_volume_written_to_zarr_under_address_space_limit(tmp_path):
    env = dict(os.environ, PYTHONPATH=SRC, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MALLOC_ARENA_MAX="1")
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "labels.zarr")],
                          capture_output=True, text=True, timeout=400, env=env)
    assert done.returncode == 0, done.stderr[-1500:]
    assert "WROTE WITHIN LIMIT" in done.stdout, done.stdout


def test_cli_reports_running_out_of_memory_as_a_resource_refusal(tmp_path, monkeypatch, capsys):
    """MemoryError during a job ends with exit 3 and the amount, never 'internal error'."""
    import numpy as np

    import napari_segkit.clustering as clustering
    from napari_segkit.cli import main

    def greedy(*args, **kwargs):
        raise MemoryError("Unable to allocate 2.00 GiB for an array with shape (16384, 32768)")

    monkeypatch.setattr(clustering, "kmeans", greedy)
    np.save(tmp_path / "img.npy", np.zeros((8, 8), np.float32))
    code = main(["kmeans", str(tmp_path / "img.npy"), "-k", "2", "-o", str(tmp_path / "out.tif"), "-q"])
    err = capsys.readouterr().err
    assert code == 3, err
    assert "not enough memory" in err and "2.00 GiB" in err and "internal error" not in err
    assert not list(tmp_path.glob("out.tif*"))
