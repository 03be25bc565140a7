"""``napari-segkit refine``: class-last probabilities in, labels (or kept instances) out."""

from __future__ import annotations

import numpy as np
import pytest

from napari_segkit import crf_refine, graph_cut_refine, refine_instances
from napari_segkit.cli import main
from napari_segkit.io import read_image

pytest.importorskip("maxflow")


@pytest.fixture
def case(tmp_path):
    image = np.zeros((30, 30), np.float32)
    image[5:15, 5:15] = 1
    image[18:26, 10:25] = 1
    p = np.full((30, 30), 0.4, np.float32)
    p[4:16, 4:16] = 0.7
    p[17:27, 9:26] = 0.7
    rough = np.zeros((30, 30), np.int32)
    rough[4:17, 4:13] = 7
    rough[17:27, 12:27] = 9
    np.save(tmp_path / "image.npy", image)
    np.save(tmp_path / "prob.npy", np.stack([1 - p, p], axis=-1))
    np.save(tmp_path / "rough.npy", rough)
    return tmp_path, image, p, rough


def _labels(path):
    return np.asarray(read_image(path).array)


def test_crf_graph_cut_and_instances_match_the_library(case):
    tmp, image, p, rough = case
    two = np.stack([1 - p, p], axis=-1)
    assert main(["refine", str(tmp / "image.npy"), str(tmp / "prob.npy"), "-o", str(tmp / "crf.npy"), "-q"]) == 0
    np.testing.assert_array_equal(_labels(tmp / "crf.npy"), crf_refine(image, two).argmax(axis=-1))
    assert main(["refine", str(tmp / "image.npy"), str(tmp / "prob.npy"), "-o", str(tmp / "gc.npy"),
                 "--method", "graph-cut", "-q"]) == 0
    cut = _labels(tmp / "gc.npy")
    np.testing.assert_array_equal(cut, graph_cut_refine(image, two))
    assert cut.sum() == 100 + 120  # 1 = object, 0 = background
    assert main(["refine", str(tmp / "image.npy"), str(tmp / "prob.npy"), "-o", str(tmp / "ids.npy"),
                 "--instances", str(tmp / "rough.npy"), "--method", "graph-cut", "-q"]) == 0
    ids = _labels(tmp / "ids.npy")
    np.testing.assert_array_equal(ids, refine_instances(image, rough, probabilities=two))
    assert set(np.unique(ids)) == {0, 7, 9}


def test_class_first_probabilities_exit_2_with_the_fix(case, capsys):
    tmp, _, p, _ = case
    np.save(tmp / "first.npy", np.stack([1 - p, p]))
    assert main(["refine", str(tmp / "image.npy"), str(tmp / "first.npy"), "-o", str(tmp / "o.npy")]) == 2
    assert "np.moveaxis(probabilities, 0, -1)" in capsys.readouterr().err
