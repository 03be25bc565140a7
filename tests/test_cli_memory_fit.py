"""Without --memory-limit the CLI measures the memory this process can use (address-space
and cgroup limits included) and, for prediction and clustering, estimates the job's need
before starting: it fits (blocks) or exits 3 naming the amount needed and the amount available."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from _option_matrix import tiny_model


def test_available_memory_sees_the_address_space_limit():
    code = (
        "import resource, psutil\n"
        "from napari_segkit.graph.memory import available_memory\n"
        "vms = psutil.Process().memory_info().vms\n"
        "resource.setrlimit(resource.RLIMIT_AS, (vms + 300 * 2**20, resource.RLIM_INFINITY))\n"
        "print(available_memory())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert 200 * 2**20 < int(out.stdout) <= 300 * 2**20


def test_cgroup_headroom(tmp_path):
    from napari_segkit.graph.memory import _cgroup_headroom

    (tmp_path / "memory.max").write_text("max\n")
    assert _cgroup_headroom(str(tmp_path)) is None
    (tmp_path / "memory.max").write_text(f"{2**30}\n")
    (tmp_path / "memory.current").write_text(f"{2**28}\n")
    assert _cgroup_headroom(str(tmp_path)) == 2**30 - 2**28


@pytest.fixture
def saved_model(tmp_path):
    model = tiny_model()
    model.save(tmp_path / "model")
    rng = np.random.default_rng(1)
    np.save(tmp_path / "img.npy", (rng.random((256, 256)) * 200).astype(np.uint8))
    return model


def _predict(tmp_path, name, *extra):
    from napari_segkit.cli import main

    return main(["predict", str(tmp_path / "model"), str(tmp_path / "img.npy"), "-o",
                 str(tmp_path / name), "-q", *extra])


def test_predict_fits_in_blocks_or_exits_3_with_the_amounts(tmp_path, saved_model, monkeypatch, capsys):
    import napari_segkit.graph.memory as memory
    from napari_segkit.cli import models as cli_models
    from napari_segkit.models.predict_memory import estimate_prediction_memory

    assert _predict(tmp_path, "whole.tif") == 0
    whole = tifffile_read(tmp_path / "whole.tif")

    n = 256 * 256
    common = dict(n_channels=1, n_classes=len(saved_model.classes), instances=True)
    need_whole = estimate_prediction_memory(n, **common)
    need_blocks = estimate_prediction_memory(n, **common, block_shape=(64, 64), halo=saved_model.halo)
    assert need_blocks < need_whole
    fitted = []
    original = cli_models._fit_in_memory
    monkeypatch.setattr(cli_models, "_fit_in_memory",
                        lambda *a: fitted.append(original(*a)) or fitted[-1])
    monkeypatch.setattr(memory, "available_memory", lambda: int((need_whole + need_blocks) / 2 / 0.8))
    assert _predict(tmp_path, "blocks.tif", "--block", "64") == 0
    assert hasattr(fitted[-1], "dask")  # ran in blocks
    np.testing.assert_array_equal(tifffile_read(tmp_path / "blocks.tif"), whole)

    capsys.readouterr()
    monkeypatch.setattr(memory, "available_memory", lambda: int(need_blocks / 2 / 0.8))
    assert _predict(tmp_path, "refused.tif", "--block", "64") == 3
    message = capsys.readouterr().err
    assert "predict needs about" in message and "is available" in message, message
    assert not (tmp_path / "refused.tif").exists()


def tifffile_read(path):
    import tifffile

    return tifffile.imread(path)


def test_clustering_exits_3_naming_needed_and_available(tmp_path, monkeypatch, capsys):
    import napari_segkit.graph.memory as memory
    from napari_segkit.cli import main

    rng = np.random.default_rng(2)
    np.save(tmp_path / "img.npy", rng.random((256, 256)).astype(np.float32))
    monkeypatch.setattr(memory, "available_memory", lambda: 2**20)  # 1 MiB: the image reads, the job does not fit
    assert main(["kmeans", str(tmp_path / "img.npy"), "-k", "3", "-o", str(tmp_path / "k.tif"), "-q"]) == 3
    message = capsys.readouterr().err
    assert "needs about" in message and "allowed" in message, message
