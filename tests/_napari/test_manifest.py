"""The npe2 manifest is valid, and every python_name in it imports."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest

npe2 = pytest.importorskip("npe2")

import napari_segkit

MANIFEST = Path(napari_segkit.__file__).with_name("napari.yaml")


def _manifest():
    return npe2.PluginManifest.from_file(MANIFEST)


def test_manifest_validates_like_npe2_validate():
    # what `npe2 validate napari-segkit` does, in process
    manifest = npe2.PluginManifest._from_package_or_name("napari-segkit")
    assert manifest.name == "napari-segkit"
    assert manifest.display_name == "napari-segkit"
    manifest.validate_imports()


def test_every_python_name_imports():
    manifest = _manifest()
    names = [command.python_name for command in manifest.contributions.commands]
    assert names
    for python_name in names:
        module_name, _, attribute = python_name.partition(":")
        module = importlib.import_module(module_name)
        assert callable(getattr(module, attribute)), python_name


def test_every_widget_in_segment_menu():
    manifest = _manifest()
    widgets = manifest.contributions.widgets
    assert widgets[0].display_name == "Graph cut"
    items = manifest.contributions.menus["napari/layers/segment"]
    assert [item.command for item in items] == [widget.command for widget in widgets]


@pytest.mark.parametrize(
    ("key", "ndim", "scale"),
    [("nuclei_2d", 2, (1, 1)), ("nuclei_3d", 3, (4, 1, 1)), ("nuclei_time_series", 3, (1, 1, 1))],
)
def test_sample_functions(key, ndim, scale):
    manifest = _manifest()
    sample = next(s for s in manifest.contributions.sample_data if s.key == key)
    command = next(c for c in manifest.contributions.commands if c.id == sample.command)
    module_name, _, attribute = command.python_name.partition(":")
    layers = getattr(importlib.import_module(module_name), attribute)()
    assert [kind for _, _, kind in layers] == ["image", "labels", "labels"]
    (image, image_kw, _), (truth, truth_kw, _), (seeds, seeds_kw, _) = layers
    assert image.ndim == ndim and truth.shape == image.shape == seeds.shape
    for kwargs in (image_kw, truth_kw, seeds_kw):
        assert tuple(kwargs["scale"]) == scale
    assert truth_kw["visible"] is False
    assert set(np.unique(seeds)) == {0, 1, 2}
    if key == "nuclei_time_series":
        assert seeds[0].any() and not seeds[1:].any()
