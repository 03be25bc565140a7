"""The demo: headless run writes labels and an overlay; display detection."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from napari_segkit import demo, graph_cut
from napari_segkit.samples import nuclei_2d


def test_headless_demo_writes_labels_and_overlay(tmp_path, caplog):
    tifffile = pytest.importorskip("tifffile")
    iio = pytest.importorskip("imageio.v3")
    out = tmp_path / "demo out"
    with caplog.at_level(logging.INFO, logger="napari_segkit.demo"):
        assert demo.main(output_dir=out, headless=True) == 0
    sample = nuclei_2d()
    expected = graph_cut(sample.image, sample.seeds)

    labels = tifffile.imread(out / "labels.tif")
    assert labels.shape == (256, 256)
    assert np.array_equal(labels, expected)

    overlay = iio.imread(out / "overlay.png")
    assert overlay.shape == (256, 256, 3) and overlay.dtype == np.uint8
    coloured = (overlay[..., 0] != overlay[..., 2])  # grey pixels have R == G == B
    from skimage.segmentation import find_boundaries

    boundaries = find_boundaries(expected, mode="inner")
    assert coloured.any() and np.array_equal(coloured, boundaries)
    # the boundary colour is the documented one
    assert (overlay[boundaries] == np.round(np.array(demo.BOUNDARY_COLOUR) * 255)).all()
    assert any("IoU" in r.getMessage() for r in caplog.records)

    # a second run overwrites
    assert demo.main(output_dir=out, headless=True) == 0


def test_display_detection(monkeypatch):
    monkeypatch.setattr(demo.sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert not demo.has_display()
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert demo.has_display()
    monkeypatch.setattr(demo.sys, "platform", "darwin")
    monkeypatch.delenv("WAYLAND_DISPLAY")
    assert demo.has_display()


def test_no_display_means_headless(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "has_display", lambda: False)
    called = []
    monkeypatch.setattr(demo, "_run_gui", lambda: called.append(True) or 0)
    assert demo.main(output_dir=tmp_path) == 0
    assert not called and (tmp_path / "overlay.png").exists()


def test_gui_demo_docks_widget_and_shows_a_cut(make_napari_viewer, qtbot, monkeypatch):
    pytest.importorskip("napari")
    import napari

    viewers = []

    def make_viewer(**kwargs):
        viewers.append(make_napari_viewer(**kwargs))
        return viewers[-1]

    monkeypatch.setattr(napari, "Viewer", make_viewer)
    monkeypatch.setattr(napari, "run", lambda *a, **k: None)
    assert demo.main(headless=False) == 0
    (viewer,) = viewers
    assert "Graph cut" in viewer.window.dock_widgets
    qtbot.waitUntil(lambda: "nuclei 2D graph cut" in viewer.layers, timeout=15000)
    assert viewer.layers["nuclei 2D ground truth"].visible is False
    widget = viewer.window.dock_widgets["Graph cut"]
    qtbot.waitUntil(lambda: not widget.busy, timeout=15000)
