"""Saved model files are readable like any file the user makes (the umask decides)."""

import os
import stat

import pytest

pytest.importorskip("torch")

from test_architectures import _random_model


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("umask, file_mode, dir_mode", [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)])
def test_weights_get_the_same_mode_as_the_config(tmp_path, umask, file_mode, dir_mode):
    model = _random_model("unet", {"width": 4, "depth": 2})
    old = os.umask(umask)
    try:
        path = model.save(tmp_path / "model")
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in path.iterdir()}
    assert modes == {"config.json": file_mode, "model.safetensors": file_mode}
    assert stat.S_IMODE(path.stat().st_mode) == dir_mode
