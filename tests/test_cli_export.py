"""``napari-segkit export`` and ``measure`` from files, as a user runs them."""

from __future__ import annotations

import csv
import json
import zipfile

import numpy as np

from napari_segkit.cli import main
from napari_segkit.io import write_labels


def _files(tmp_path):
    labels = np.zeros((3, 16, 16), np.uint16)
    labels[0, 2:6, 2:6] = 1
    labels[2, 8:12, 3:13] = 2
    image = np.zeros((3, 16, 16), np.float32)
    image[2, 8:12, 3:13] = 5.0
    write_labels(tmp_path / "labels.tif", labels, spacing=(2.0, 0.5, 0.5))
    np.save(tmp_path / "image.npy", image)
    return tmp_path / "labels.tif", tmp_path / "image.npy"


def test_export_each_format(tmp_path):
    labels, _ = _files(tmp_path)
    assert main(["export", str(labels), "-o", str(tmp_path / "rois.zip"), "-q"]) == 0
    assert sorted(zipfile.ZipFile(tmp_path / "rois.zip").namelist()) == ["0001-00001.roi", "0003-00002.roi"]
    assert main(["export", str(labels), "-o", str(tmp_path / "cells.geojson"),
                 "--classification", "Nucleus", "-q"]) == 0
    features = json.loads((tmp_path / "cells.geojson").read_text())["features"]
    assert [f["geometry"]["plane"]["z"] for f in features] == [0, 2]
    assert main(["export", str(labels), "-o", str(tmp_path / "coco.json"), "--image-name", "cells.tif",
                 "-q"]) == 0
    coco = json.loads((tmp_path / "coco.json").read_text())
    assert [a["area"] for a in coco["annotations"]] == [16, 40]
    assert coco["images"][2]["file_name"] == "cells_z002.tif"
    # an existing output is kept unless --overwrite
    assert main(["export", str(labels), "-o", str(tmp_path / "coco.json"), "-q"]) == 2
    assert main(["export", str(labels), "-o", str(tmp_path / "out.txt"), "-q"]) == 2


def test_measure_table_uses_the_files_spacing(tmp_path, capsys):
    labels, image = _files(tmp_path)
    out = tmp_path / "cells.csv"
    assert main(["measure", str(labels), "--image", str(image), "-o", str(out), "-q"]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["label"] for r in rows] == ["1", "2"]
    assert float(rows[1]["volume_physical"]) == 40 * 2.0 * 0.5 * 0.5
    assert float(rows[1]["mean_intensity"]) == 5.0
    assert main(["measure", str(labels), "-o", str(tmp_path / "t.csv"), "--spatial-dims", "2",
                 "-q"]) == 0
    rows = list(csv.DictReader((tmp_path / "t.csv").open()))
    assert [r["frame"] for r in rows] == ["0", "2"]


def test_objects_option_labels_the_pieces_of_one_value(tmp_path):
    regions = np.full((20, 20), 2, np.uint8)  # a graph cut's output: 1 = cells, 2 = background
    regions[2:6, 2:6] = 1
    regions[10:15, 10:18] = 1
    write_labels(tmp_path / "regions.tif", regions)
    out = tmp_path / "cells.csv"
    assert main(["measure", str(tmp_path / "regions.tif"), "-o", str(out), "--objects", "1", "-q"]) == 0
    assert [r["area"] for r in csv.DictReader(out.open())] == ["16", "40"]
    assert main(["export", str(tmp_path / "regions.tif"), "-o", str(tmp_path / "c.geojson"),
                 "--objects", "1", "-q"]) == 0
    assert len(json.loads((tmp_path / "c.geojson").read_text())["features"]) == 2
    assert main(["measure", str(tmp_path / "regions.tif"), "-o", str(tmp_path / "x.csv"),
                 "--objects", "7", "-q"]) == 2
