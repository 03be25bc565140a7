"""Export formats read back by readers independent of the writer (roifile, pycocotools, shapely)."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from skimage.draw import polygon2mask
from skimage.measure import label as connected

from napari_segkit import InputError
from napari_segkit.io.export import export_labels, write_coco, write_geojson, write_imagej_rois


def _labels(seed=0, shape=(40, 50)):
    """Random blobs: touching objects, holes, diagonal-only contacts, objects at the border."""
    rng = np.random.default_rng(seed)
    mask = rng.random(shape) < 0.55
    labels = connected(mask, connectivity=2).astype(np.int32)
    labels[5:15, 5:15] = 900  # a square with a hole
    labels[9:11, 9:11] = 0
    return labels


def _fill(shape, ring_xy):
    # corners (x, y) -> pixel centres inside: polygon2mask takes (row, col) with centres at integers
    return polygon2mask(shape, np.asarray(ring_xy, float)[:, ::-1] - 0.5)


def test_imagej_rois_read_by_roifile_give_back_every_object(tmp_path):
    roifile = pytest.importorskip("roifile")
    labels = _labels()
    out = write_imagej_rois(tmp_path / "rois.zip", labels)
    rois = roifile.roiread(out)
    assert len(rois) == len(np.unique(labels)) - 1  # one ROI per 8-connected object
    from scipy.ndimage import binary_fill_holes

    for roi in rois:
        assert roi.roitype == roifile.ROI_TYPE.TRACED
        value = int(roi.name)
        # ImageJ polygons have no holes: the ROI is the object with its holes filled
        assert np.array_equal(_fill(labels.shape, roi.coordinates()),
                              binary_fill_holes(labels == value)), value


def test_imagej_rois_of_a_stack_carry_their_slice(tmp_path):
    roifile = pytest.importorskip("roifile")
    stack = np.zeros((3, 20, 20), np.uint16)
    stack[0, 2:5, 2:6] = 1
    stack[2, 10:18, 3:9] = 7
    rois = roifile.roiread(write_imagej_rois(tmp_path / "stack.zip", stack))
    by_name = {roi.name: roi for roi in rois}
    assert set(by_name) == {"0001-00001", "0003-00007"}
    assert by_name["0003-00007"].position == 3
    assert _fill((20, 20), by_name["0003-00007"].coordinates()).sum() == 48


def test_imagej_rois_beyond_short_coordinates(tmp_path):
    roifile = pytest.importorskip("roifile")
    labels = np.zeros((4, 40000), np.uint8)
    labels[1:3, 39990:39995] = 1
    (roi,) = roifile.roiread(write_imagej_rois(tmp_path / "wide.zip", labels))
    xs, ys = roi.coordinates().T
    assert xs.min() == 39990 and xs.max() == 39995 and ys.min() == 1 and ys.max() == 3


def test_geojson_polygons_are_valid_and_cover_each_object(tmp_path):
    pytest.importorskip("shapely")
    from shapely.geometry import shape
    from shapely.validation import explain_validity

    labels = _labels(1)
    out = write_geojson(tmp_path / "cells.geojson", labels, classification="Nucleus")
    document = json.loads(out.read_text())
    assert document["type"] == "FeatureCollection"
    features = document["features"]
    assert len(features) == len(np.unique(labels)) - 1
    ids = set()
    for feature in features:
        props = feature["properties"]
        assert props["objectType"] == "detection"
        assert props["classification"]["name"] == "Nucleus"
        value = props["measurements"]["label"]
        geometry = shape(feature["geometry"])
        assert geometry.is_valid, explain_validity(geometry)
        assert geometry.area == np.count_nonzero(labels == value)  # holes kept, exact
        ids.add(feature["id"])
    assert len(ids) == len(features)
    hole = shape(next(f for f in features if f["properties"]["measurements"]["label"] == 900)["geometry"])
    assert len(hole.interiors) == 1


def test_geojson_plane_on_stacks(tmp_path):
    stack = np.zeros((2, 3, 10, 10), np.uint8)
    stack[1, 2, 1:4, 1:4] = 5
    document = json.loads(write_geojson(tmp_path / "t.geojson", stack, axes="TZYX").read_text())
    (feature,) = document["features"]
    assert feature["geometry"]["plane"] == {"z": 2, "t": 1}


@pytest.mark.parametrize("segmentation", ["rle", "polygon"])
def test_coco_masks_read_by_pycocotools(tmp_path, segmentation):
    pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO

    labels = _labels(2)
    labels = connected(labels > 0, connectivity=1).astype(np.int32)  # polygons: one part each
    out = write_coco(tmp_path / "instances.json", labels, segmentation=segmentation,
                     file_name="cells.tif")
    coco = COCO(str(out))
    (image,) = coco.loadImgs(coco.getImgIds())
    assert image["file_name"] == "cells.tif" and (image["height"], image["width"]) == labels.shape
    annotations = coco.loadAnns(coco.getAnnIds(imgIds=[image["id"]]))
    assert len(annotations) == labels.max()
    for annotation in annotations:
        truth = labels == annotation["label"]
        mask = coco.annToMask(annotation).astype(bool)
        assert annotation["area"] == truth.sum()
        x, y, w, h = annotation["bbox"]
        rows, cols = np.nonzero(truth)
        assert (x, y, w, h) == (cols.min(), rows.min(), np.ptp(cols) + 1, np.ptp(rows) + 1)
        if segmentation == "rle":
            assert np.array_equal(mask, truth)
        else:  # pycocotools rasterises polygons its own way: near-exact
            inter = np.logical_and(mask, truth).sum()
            assert inter / np.logical_or(mask, truth).sum() > 0.5
    if segmentation == "polygon":
        big = [a for a in annotations if a["area"] >= 20]
        ious = [np.logical_and(coco.annToMask(a), labels == a["label"]).sum()
                / np.logical_or(coco.annToMask(a), labels == a["label"]).sum() for a in big]
        assert np.median(ious) > 0.8


def test_export_picks_the_format_from_the_ending_and_never_overwrites(tmp_path):
    labels = np.zeros((8, 8), np.int32)
    labels[2:5, 2:5] = 3
    assert zipfile.is_zipfile(export_labels(tmp_path / "a.zip", labels))
    assert json.loads(export_labels(tmp_path / "a.geojson", labels).read_text())["features"]
    assert json.loads(export_labels(tmp_path / "a.json", labels).read_text())["annotations"]
    before = (tmp_path / "a.json").read_bytes()
    with pytest.raises(FileExistsError):
        export_labels(tmp_path / "a.json", labels * 0)
    assert (tmp_path / "a.json").read_bytes() == before
    export_labels(tmp_path / "a.json", labels * 0, overwrite=True)
    assert json.loads((tmp_path / "a.json").read_text())["annotations"] == []
    with pytest.raises(InputError, match="ending"):
        export_labels(tmp_path / "a.txt", labels)
    with pytest.raises(InputError, match="integer ids"):
        export_labels(tmp_path / "b.zip", labels + 0.5)
    with pytest.raises(InputError, match="axes"):
        export_labels(tmp_path / "b.zip", labels[None], axes="YXZ")
    assert not (tmp_path / "b.zip").exists()


def test_float_labels_with_integer_values_are_exported(tmp_path):
    labels = np.zeros((8, 8), np.float32)
    labels[1:4, 1:4] = 2.0
    document = json.loads(write_geojson(tmp_path / "f.geojson", labels).read_text())
    assert [f["properties"]["measurements"]["label"] for f in document["features"]] == [2]
