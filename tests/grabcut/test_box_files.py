"""read_boxes: CSV, npy and GeoJSON box files."""

import json

import numpy as np
import pytest

from napari_segkit import InputError, UnsafeFileError
from napari_segkit.grabcut import read_boxes


def test_csv_min_max_columns_any_order_extra_columns(tmp_path):
    path = tmp_path / "boxes.csv"
    path.write_text("id,max_x,min_y,min_x,max_y,name\n1,30,5,10,25,a\n2,8,0,1,4,b\n")
    np.testing.assert_array_equal(read_boxes(path), [[[5, 10], [25, 30]], [[0, 1], [4, 8]]])


def test_csv_axis_suffix_and_3d(tmp_path):
    path = tmp_path / "boxes.csv"
    path.write_text("x_min,x_max,y_min,y_max,z_min,z_max\n1,2,3,4,5,6\n")
    np.testing.assert_array_equal(read_boxes(path), [[[5, 3, 1], [6, 4, 2]]])


def test_csv_napari_shapes_export(tmp_path):
    path = tmp_path / "shapes.csv"
    rows = ["index,shape-type,vertex-index,axis-0,axis-1"]
    for i, (y0, x0, y1, x1) in enumerate([(1, 2, 11, 12), (20, 20, 30, 35)]):
        for v, (y, x) in enumerate([(y0, x0), (y0, x1), (y1, x1), (y1, x0)]):
            rows.append(f"{i},rectangle,{v},{y},{x}")
    path.write_text("\n".join(rows) + "\n")
    np.testing.assert_array_equal(read_boxes(path), [[[1, 2], [11, 12]], [[20, 20], [30, 35]]])


def test_csv_napari_lines_refused(tmp_path):
    path = tmp_path / "shapes.csv"
    path.write_text("index,shape-type,vertex-index,axis-0,axis-1\n0,line,0,1,1\n0,line,1,5,5\n")
    with pytest.raises(InputError, match="line shapes"):
        read_boxes(path)


@pytest.mark.parametrize("text, match", [
    ("a,b\n1,2\n", r"needs a header with min_<axis> and max_<axis>"),
    ("min_y,min_x,max_y\n1,2,3\n", r"missing \['max_x'\]"),
    ("min_y,min_x,max_y,max_x\n1,2,three,4\n", r"row 2 is not numeric"),
    ("min_y,min_x,max_y,max_x\n", r"holds no boxes"),
    ("", r"is empty"),
])
def test_csv_errors(tmp_path, text, match):
    path = tmp_path / "boxes.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=match):
        read_boxes(path)


def test_npy(tmp_path):
    path = tmp_path / "boxes.npy"
    boxes = np.array([[[1, 2], [3, 4]], [[5, 6], [7, 8]]], np.int32)
    np.save(path, boxes)
    np.testing.assert_array_equal(read_boxes(path), boxes)
    np.save(path, boxes[0])
    assert read_boxes(path).shape == (1, 2, 2)


def test_npy_pickle_refused_and_payload_never_runs(tmp_path):
    path = tmp_path / "boxes.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(UnsafeFileError, match="object array"):
        read_boxes(path)


def test_npy_wrong_shape(tmp_path):
    path = tmp_path / "boxes.npy"
    np.save(path, np.zeros((3, 4)))
    with pytest.raises(InputError, match=r"shape \(3, 4\); expected \(N, 2, d\)"):
        read_boxes(path)


def _feature(coords, kind="Polygon"):
    return {"type": "Feature", "properties": {}, "geometry": {"type": kind, "coordinates": coords}}


def test_geojson_rectangles_and_polygons(tmp_path):
    path = tmp_path / "boxes.geojson"
    rect = [[[10, 5], [30, 5], [30, 25], [10, 25], [10, 5]]]  # x, y
    triangle = [[[0, 0], [8, 0], [4, 6], [0, 0]]]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [_feature(rect), _feature(triangle)]}))
    with pytest.warns(UserWarning, match=r"1 non-rectangular shape\(s\) replaced by their bounding boxes"):
        boxes = read_boxes(path)
    np.testing.assert_array_equal(boxes, [[[5, 10], [25, 30]], [[0, 0], [6, 8]]])


def test_geojson_points_refused(tmp_path):
    path = tmp_path / "boxes.json"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [_feature([1, 2], "Point")]}))
    with pytest.raises(InputError, match="Point geometry.*not points or lines"):
        read_boxes(path)


def test_geojson_not_json(tmp_path):
    path = tmp_path / "boxes.geojson"
    path.write_text("{not json")
    with pytest.raises(InputError, match="as GeoJSON"):
        read_boxes(path)


def test_missing_directory_and_unknown_ending(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_boxes(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="is a directory"):
        read_boxes(tmp_path)
    other = tmp_path / "boxes.txt"
    other.write_text("1")
    with pytest.raises(InputError, match=r"ending '.txt'"):
        read_boxes(other)


def test_boxes_from_file_feed_grabcut(tmp_path):
    pytest.importorskip("maxflow")
    from napari_segkit.grabcut import grabcut

    image = np.zeros((40, 40))
    image[10:30, 12:28] = 1
    path = tmp_path / "boxes.csv"
    path.write_text("min_y,min_x,max_y,max_x\n5,6,35,34\n")
    labels = grabcut(image, read_boxes(path), rng=0)
    assert (labels == 1).sum() == 320
