"""Export round trips on real annotated microscopy (devdata; skipped when absent)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from napari_segkit.io.export import write_coco, write_geojson, write_imagej_rois

DEVDATA = Path(os.environ.get("SEGKIT_DEVDATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "devdata"))
LABELS = DEVDATA / "kc167_cells_2d_labels.tif"


@pytest.fixture(scope="module")
def labels():
    if not LABELS.is_file():
        pytest.skip(f"devdata not found at {DEVDATA}")
    import tifffile

    return tifffile.imread(LABELS).astype(np.int64)  # 154 real cells, 6 of them in several parts


def test_every_real_cell_comes_back_exactly(labels, tmp_path):
    roifile = pytest.importorskip("roifile")
    pytest.importorskip("pycocotools")
    pytest.importorskip("shapely")
    from pycocotools.coco import COCO
    from scipy.ndimage import binary_fill_holes
    from shapely.geometry import shape
    from skimage.draw import polygon2mask
    from skimage.measure import label as parts

    ids = [int(v) for v in np.unique(labels) if v]
    # Fiji: the union of a label's ROIs is its parts with holes filled
    rebuilt = {}
    for roi in roifile.roiread(write_imagej_rois(tmp_path / "r.zip", labels)):
        value = int(roi.name.split("-")[0])
        mask = polygon2mask(labels.shape, roi.coordinates()[:, ::-1] - 0.5)
        rebuilt[value] = rebuilt.get(value, False) | mask
    assert sorted(rebuilt) == ids
    for value in ids:
        pieces = parts(labels == value, connectivity=2)
        truth = np.any([binary_fill_holes(pieces == p) for p in range(1, pieces.max() + 1)], axis=0)
        assert np.array_equal(rebuilt[value], truth), value
    # QuPath: valid geometry with the exact area of every cell
    features = json.loads(write_geojson(tmp_path / "c.geojson", labels).read_text())["features"]
    assert len(features) == len(ids)
    for feature in features:
        geometry = shape(feature["geometry"])
        assert geometry.is_valid
        assert geometry.area == np.count_nonzero(labels == feature["properties"]["measurements"]["label"])
    # COCO: exact masks through pycocotools
    coco = COCO(str(write_coco(tmp_path / "c.json", labels)))
    annotations = coco.loadAnns(coco.getAnnIds())
    assert len(annotations) == len(ids)
    for annotation in annotations:
        assert np.array_equal(coco.annToMask(annotation).astype(bool), labels == annotation["label"])
