"""Graph cut instances: touching whole cells seeded in their nuclei are split between the seeds (SYNTHETIC and REAL)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_segkit import graph_cut
from napari_segkit.evaluation import ClickRobot, iou, match_instances

DEVDATA = Path(os.environ.get("SEGKIT_DEVDATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "devdata"))


def _seeds(labels):
    """A 3x3 seed at each object's deepest point, 3x3 background dots on a 12-px grid away from objects."""
    seeds = np.zeros(labels.shape, np.int32)
    for i in np.unique(labels)[1:]:
        y, x = ClickRobot(labels == i).first_click()
        seeds[y - 1 : y + 2, x - 1 : x + 2] = 1
    grid = np.zeros(labels.shape, bool)
    grid[4::12, 4::12] = True
    for y, x in np.argwhere(grid & (ndi.distance_transform_edt(labels == 0) >= 4)):
        seeds[max(y - 1, 0) : y + 2, max(x - 1, 0) : x + 2] = 2
    return seeds


def test_touching_cells_split_between_their_nuclei():
    # a row of touching cells: dim cytoplasm, bright nuclei near one end (the nucleus rim is the strongest edge)
    rng = np.random.default_rng(0)
    yy, xx = np.indices((60, 160))
    truth = np.zeros((60, 160), np.int32)
    image = np.full((60, 160), 100.0)
    for k, cx in enumerate((30, 70, 110)):
        cell = (np.abs(yy - 30) < 18) & (np.abs(xx - cx) <= 20) & (truth == 0)
        truth[cell] = k + 1
        image[cell] += 150
        image[(yy - 30) ** 2 + (xx - (cx - 10)) ** 2 <= 36] += 600
    image += rng.normal(0, 15, image.shape)
    seeds = np.zeros_like(truth)
    for k, cx in enumerate((30, 70, 110)):
        seeds[29:32, cx - 12 : cx] = 1  # a short stroke over the nucleus into the cytoplasm
    seeds[2:5, ::6] = 2
    out = graph_cut(image, seeds, instances=True)
    scores = [max(iou(out == j, truth == k) for j in range(1, out.max() + 1)) for k in (1, 2, 3)]
    # plain watershed flooding from the seeds lets one seed take the cytoplasm of all three: 0.31-0.35
    assert min(scores) > 0.85, scores


def test_real_whole_cells_one_seed_each():
    stem = DEVDATA / "kc167_cells_2d"
    if not Path(f"{stem}_image.tif").is_file():
        pytest.skip(f"devdata not found at {DEVDATA}")
    import tifffile

    image = tifffile.imread(f"{stem}_image.tif")[:, :225, :225]
    labels = tifffile.imread(f"{stem}_labels.tif").astype(np.int32)[:225, :225]
    labels[~np.isin(labels, [i for i in np.unique(labels) if (labels == i).sum() >= 9])] = 0
    out = graph_cut(image, _seeds(labels), channel_axis=0, instances=True)
    # REAL kc167 (a quarter, ~40 cells): 0.2 with plain watershed flooding
    assert match_instances(out, labels, 0.5).f1 > 0.45
