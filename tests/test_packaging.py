"""The wheel is release-ready, and the set-up scripts decide the same way every time."""

from __future__ import annotations

import email
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    if not (ROOT / "pyproject.toml").is_file():
        pytest.skip("not a source checkout")
    pytest.importorskip("setuptools")
    source = tmp_path_factory.mktemp("source")
    # build from a copy, so no build/ or egg-info lands in the checkout
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
         str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (path,) = out.glob("napari_segkit-*.whl")
    return path


def test_wheel_holds_the_manifest_licence_and_entry_points(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        metadata = email.message_from_bytes(archive.read(f"{info}/METADATA"))
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    assert "napari_segkit/napari.yaml" in names
    assert f"{info}/licenses/LICENSE" in names
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "docs/"))]
    assert "[napari.manifest]" in entry_points and "napari-segkit = napari_segkit:napari.yaml" in entry_points
    assert "napari-segkit = napari_segkit.cli:main" in entry_points
    assert metadata["Name"] == "napari-segkit"
    assert metadata["License-Expression"] == "GPL-3.0-or-later"
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert "Framework :: napari" in metadata.get_all("Classifier")
    assert metadata.get_payload().startswith("# napari-segkit")
    requires = metadata.get_all("Requires-Dist")
    assert any(r.startswith("torch") for r in requires)
    assert not any(r.startswith("napari") and "extra ==" not in r for r in requires), \
        "napari itself must stay an extra: the plugin installs into an existing napari"


def test_twine_check_passes(wheel):
    pytest.importorskip("twine")
    result = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(wheel)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_system_library_check_gives_the_same_answer_every_time():
    script = ROOT / "tools" / "missing-system-libs.sh"
    answers = {
        subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=30).stdout
        for _ in range(40)
    }
    assert len(answers) == 1, answers
