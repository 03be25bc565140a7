"""The ``clicks`` verb and the points CSV reader."""

import numpy as np
import pytest

from napari_segkit import InputError
from napari_segkit.cli import main
from napari_segkit.evaluation import iou
from napari_segkit.prompts.points_file import read_points

from _click_helpers import _discs


def test_read_points_napari_export_and_signs(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("index,axis-0,axis-1,positive\n0,40,40,true\n1,44.6,66,0\n")
    points, positive = read_points(path)
    assert points.tolist() == [[40, 40], [44.6, 66]] and positive.tolist() == [True, False]
    bad = tmp_path / "bad.csv"
    bad.write_text("y,x,positive\n1,2,maybe\n")
    with pytest.raises(InputError, match="row 2: positive='maybe'"):
        read_points(bad)
    with pytest.raises(InputError, match="coordinate columns"):
        (tmp_path / "c.csv").write_text("a,b\n1,2\n")
        read_points(tmp_path / "c.csv")


def test_clicks_verb_writes_one_object_per_positive_click(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    image, truth = _discs()
    tifffile.imwrite(tmp_path / "image.tif", image)
    (tmp_path / "points.csv").write_text("y,x\n40,40\n95,90\n")
    out = tmp_path / "labels.tif"
    assert main(["clicks", str(tmp_path / "image.tif"), "--points", str(tmp_path / "points.csv"),
                 "-o", str(out), "-q"]) == 0
    labels = tifffile.imread(out)
    assert iou(labels == 1, truth == 1) > 0.85 and iou(labels == 2, truth == 3) > 0.85
    assert not (labels == 3).any()
