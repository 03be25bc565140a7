"""``napari-segkit random-walker`` and ``watershed``: the library's labels, written to a file."""

from __future__ import annotations

import numpy as np
import pytest

from napari_segkit import random_walker, watershed
from napari_segkit.cli import main
from napari_segkit.io import read_image


@pytest.mark.parametrize(("verb", "function"), [("random-walker", random_walker), ("watershed", watershed)])
def test_verb_writes_the_library_result(tmp_path, verb, function):
    image = np.full((24, 24), 10, np.uint8)
    image[6:16, 6:16] = 200
    seeds = np.zeros((24, 24), np.int32)
    seeds[10, 10] = 1
    seeds[0, 0] = 2
    mask = np.ones((24, 24), np.uint8)
    mask[:, 20:] = 0
    np.save(tmp_path / "image.npy", image)
    np.save(tmp_path / "seeds.npy", seeds)
    np.save(tmp_path / "mask.npy", mask)
    out = tmp_path / "out.npy"
    assert main([verb, str(tmp_path / "image.npy"), str(tmp_path / "seeds.npy"), "-o", str(out),
                 "--mask", str(tmp_path / "mask.npy"), "-q"]) == 0
    labels = np.asarray(read_image(out).array)
    np.testing.assert_array_equal(labels, function(image, seeds, mask=mask != 0))
    assert (labels[7:15, 7:15] == 1).all() and 96 <= labels.sum() <= 100  # corners: gradient ties
    # a background seed value that is not painted: exit 2 naming the option
    assert main([verb, str(tmp_path / "image.npy"), str(tmp_path / "seeds.npy"), "-o", str(tmp_path / "o.npy"),
                 "--background-seed", "7", "-q"]) == 2
