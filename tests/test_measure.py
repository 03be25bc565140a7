"""The per-object measurement table against values computed by hand."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from napari_segkit import InputError
from napari_segkit.measure import measure_objects, write_measurements


def test_area_centroid_bbox_and_mean_per_channel():
    labels = np.zeros((10, 12), np.int32)
    labels[1:3, 2:5] = 4  # 6 pixels
    labels[6:10, 0:2] = 9  # 8 pixels
    image = np.zeros((2, 10, 12))
    image[0, 1:3, 2:5] = 10.0
    image[1, 6:10, 0:2] = np.arange(8).reshape(4, 2)
    table = measure_objects(labels, image, channel_axis=0, spacing=(0.5, 0.25))
    assert table["label"].tolist() == [4, 9]
    assert table["area"].tolist() == [6, 8]
    assert table["area_physical"].tolist() == [0.75, 1.0]
    assert table["centroid_y"].tolist() == [1.5, 7.5]
    assert table["centroid_x"].tolist() == [3.0, 0.5]
    assert table["centroid_y_physical"].tolist() == [0.75, 3.75]
    assert [table[k].tolist() for k in ("bbox_min_y", "bbox_min_x", "bbox_max_y", "bbox_max_x")] == [
        [1, 6], [2, 0], [3, 10], [5, 2]]
    assert table["mean_intensity_c0"].tolist() == [10.0, 0.0]
    assert table["mean_intensity_c1"].tolist() == [0.0, 3.5]


def test_time_series_rows_per_frame_and_rgb():
    labels = np.zeros((3, 8, 8), np.uint16)
    labels[0, :2, :2] = 1
    labels[2, 4:, 4:] = 1
    rgb = np.zeros((3, 8, 8, 3), np.uint8)
    rgb[2, 4:, 4:] = (255, 0, 10)
    table = measure_objects(labels, rgb, spatial_dims=2)
    assert table["frame"].tolist() == [0, 2]
    assert table["area"].tolist() == [4, 16]
    assert table["mean_intensity_c0"].tolist() == [0.0, 255.0]
    assert table["mean_intensity_c2"].tolist() == [0.0, 10.0]


def test_3d_volume_and_csv(tmp_path):
    labels = np.zeros((4, 5, 6), np.int32)
    labels[1:3, 1:3, 1:3] = 2
    table = measure_objects(labels, spacing=(2.0, 1.0, 1.0))
    assert table["volume_physical"].tolist() == [16.0]
    assert table["centroid_z"].tolist() == [1.5]
    out = write_measurements(tmp_path / "cells.csv", table)
    rows = list(csv.DictReader(out.open()))
    assert rows == [{k: str(v[0]) for k, v in table.items()}]
    with pytest.raises(FileExistsError):
        write_measurements(out, table)


def test_bad_inputs_name_the_argument():
    labels = np.zeros((4, 4), np.int32)
    with pytest.raises(InputError, match="does not match labels shape"):
        measure_objects(labels, np.zeros((5, 4)))
    with pytest.raises(InputError, match="channel_axis"):
        measure_objects(labels, channel_axis=0)
    with pytest.raises(InputError, match="integer ids"):
        measure_objects(labels + 0.5)
