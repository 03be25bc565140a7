"""Stopping a write: SIGTERM/SIGINT leave no partial output and no traceback;
files that killed runs left behind are removed on the next write there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")

WRITER = textwrap.dedent("""
    import sys, time
    import dask.array as da
    import numpy as np
    from napari_segkit.cli._common import cli_environment
    from napari_segkit.io import _zarr, write_labels

    _zarr.SLAB_BYTES = 1  # one chunk row per slab

    def slow(block):
        time.sleep(0.05)
        return block

    labels = da.ones((100, 64, 64), dtype=np.int32, chunks=(1, 64, 64)).map_blocks(slow)
    with cli_environment(quiet=True):
        try:
            write_labels(sys.argv[1], labels)
        except KeyboardInterrupt:
            print("cancelled", file=sys.stderr)
            sys.exit(130)
    sys.exit(0)
""")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_during_zarr_write_leaves_nothing(tmp_path, signum):
    out = tmp_path / "labels.zarr"
    env = dict(os.environ, PYTHONPATH=SRC, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(out)], stderr=subprocess.PIPE,
                            text=True, env=env)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob("labels.zarr.partial-*")):
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "the write never started"
        time.sleep(0.05)
    time.sleep(0.3)  # inside the write of the chunks
    proc.send_signal(signum)
    try:
        _, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the writer did not stop within 60 s of the signal")
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "Task was destroyed" not in stderr, stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "left behind after the signal"


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_leftovers_of_killed_runs_removed_on_next_write(tmp_path, caplog):
    from napari_segkit.io import write_labels

    dead = _dead_pid()
    out = tmp_path / "labels.zarr"
    (tmp_path / f"labels.zarr.partial-{dead}").mkdir()
    (tmp_path / f"labels.zarr.partial-{dead}" / "c").write_bytes(b"x")
    (tmp_path / f"labels.tif.partial-{dead}").write_bytes(b"x")
    (tmp_path / f"labels.zarr.old-{dead}").mkdir()
    (tmp_path / "other.tif.lock").write_text(f"napari-segkit-lock {dead} 1\n")
    (tmp_path / "labels.zarr.lock").write_text(f"napari-segkit-lock {dead} 1\n")
    keep = tmp_path / "notes.partial-x"  # not one of ours: left alone
    keep.write_text("keep")
    alive = tmp_path / f"labels.npy.partial-{os.getpid()}"  # this process: not stale
    alive.write_bytes(b"x")
    with caplog.at_level("WARNING"):
        write_labels(out, np.ones((8, 8), np.int32))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["labels.zarr", "notes.partial-x", alive.name])
    assert "left by killed runs" in caplog.text


def test_empty_lock_from_a_run_killed_while_locking(tmp_path):
    from napari_segkit.io import write_labels
    from napari_segkit.io import _lock

    out = tmp_path / "labels.tif"
    lock = tmp_path / "labels.tif.lock"
    lock.touch()
    old = time.time() - 2 * _lock._EMPTY_LOCK_SECONDS
    os.utime(lock, (old, old))
    write_labels(out, np.ones((8, 8), np.int32))
    assert out.exists() and not lock.exists()
