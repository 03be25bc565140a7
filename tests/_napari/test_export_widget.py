"""The Export labels and measure widget writes each format from a Labels layer."""

from __future__ import annotations

import csv
import json
import zipfile

import numpy as np
import pytest

pytest.importorskip("napari")

from napari_segkit._napari._export_widget import FORMATS, ExportWidget


def _run(widget, qtbot, fmt, path):
    widget._format_box.value = next(k for k, v in FORMATS.items() if v[0] == fmt)
    widget._path_box.value = str(path)
    written = []
    worker = widget.export(on_done=written.append)
    qtbot.waitUntil(lambda: widget._worker is None, timeout=15000)
    assert worker is not None
    return written


def test_export_and_measure_from_layers(viewer, qtbot, tmp_path):
    labels = np.zeros((20, 30), np.int32)
    labels[2:6, 3:9] = 1
    labels[10:18, 10:20] = 2
    image = np.zeros((20, 30), np.float32)
    image[10:18, 10:20] = 3.0
    viewer.add_image(image, name="cells")
    viewer.add_labels(labels, name="cells labels", scale=(0.5, 0.5))
    _, widget = viewer.window.add_plugin_dock_widget("napari-segkit", "Export labels and measure")
    assert isinstance(widget, ExportWidget)
    assert widget._labels_box.value.name == "cells labels"

    assert _run(widget, qtbot, "imagej", tmp_path / "rois.zip")
    assert sorted(zipfile.ZipFile(tmp_path / "rois.zip").namelist()) == ["00001.roi", "00002.roi"]
    assert _run(widget, qtbot, "geojson", tmp_path / "cells.geojson")
    assert len(json.loads((tmp_path / "cells.geojson").read_text())["features"]) == 2
    assert _run(widget, qtbot, "coco", tmp_path / "coco.json")
    assert json.loads((tmp_path / "coco.json").read_text())["annotations"][1]["area"] == 80

    widget._image_box.value = viewer.layers["cells"]
    assert _run(widget, qtbot, "measure", tmp_path / "cells.csv")
    rows = list(csv.DictReader((tmp_path / "cells.csv").open()))
    assert [float(r["mean_intensity"]) for r in rows] == [0.0, 3.0]
    assert float(rows[1]["area_physical"]) == 80 * 0.25

    # an existing file is not replaced: the status says why, the file is kept
    before = (tmp_path / "cells.csv").read_bytes()
    assert not _run(widget, qtbot, "measure", tmp_path / "cells.csv")
    assert "already exists" in widget._status_box.value
    assert (tmp_path / "cells.csv").read_bytes() == before


def test_multiscale_layers_are_measured_at_full_resolution(viewer, qtbot, tmp_path):
    labels = np.zeros((40, 40), np.int32)
    labels[4:12, 4:20] = 1
    image = np.zeros((40, 40), np.float32)
    image[4:12, 4:20] = 5.0
    viewer.add_image([image, image[::2, ::2]], name="pyramid", multiscale=True)
    viewer.add_labels([labels, labels[::2, ::2]], name="pyramid labels", multiscale=True)
    _, widget = viewer.window.add_plugin_dock_widget("napari-segkit", "Export labels and measure")
    widget._labels_box.value = viewer.layers["pyramid labels"]
    widget._image_box.value = viewer.layers["pyramid"]
    assert _run(widget, qtbot, "measure", tmp_path / "pyramid.csv")
    rows = list(csv.DictReader((tmp_path / "pyramid.csv").open()))
    assert len(rows) == 1 and float(rows[0]["area"]) == 8 * 16 and float(rows[0]["mean_intensity"]) == 5.0
