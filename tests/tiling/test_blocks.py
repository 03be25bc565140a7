"""Block-wise helpers: chunk shapes, halos, unique ids across blocks, stitching."""

import dask.array as da
import numpy as np
import pytest
from skimage.measure import label

from napari_segkit._errors import InputError, ResourceLimitError
from napari_segkit.tiling.blocks import (
    aligned_chunks,
    block_offsets,
    block_slices,
    chunks_from_budget,
    ensure_min_chunks,
    map_blocks_unique_labels,
    normalize_chunks,
    stitch_labels,
)


def _same_partition(a, b):
    """True if two label images are equal up to a permutation of the ids."""
    pairs = np.unique(np.stack([a.ravel(), b.ravel()]), axis=1)
    return len(np.unique(pairs[0])) == pairs.shape[1] == len(np.unique(pairs[1]))


def test_normalize_chunks_and_block_slices_cover_once():
    chunks = normalize_chunks((4, 3), (10, 7))
    assert chunks == ((4, 4, 2), (3, 3, 1))
    seen = np.zeros((10, 7), int)
    for index, slices in block_slices(chunks):
        seen[slices] += 1
    assert (seen == 1).all()
    assert len(block_slices(chunks)) == 9
    with pytest.raises(InputError, match="do not tile"):
        normalize_chunks(((4, 4),), (10,))


def test_chunks_from_budget_fits_and_respects_minimum():
    shape = (64, 512, 512)
    block = chunks_from_budget(shape, bytes_per_element=16, budget=8 * 2**20, min_shape=(8, 32, 32))
    assert np.prod(block) * 16 <= 8 * 2**20
    assert all(b >= m for b, m in zip(block, (8, 32, 32)))
    # the whole array when it fits
    assert chunks_from_budget((10, 10), bytes_per_element=8, budget=10**6) == (10, 10)


def test_chunks_from_budget_below_minimum_block_raises():  # bad inputs D9
    with pytest.raises(ResourceLimitError, match="minimum block"):
        chunks_from_budget((100, 100), bytes_per_element=8, budget=1000, min_shape=(20, 20))


def test_ensure_min_chunks_merges_thin_chunks():  # bad inputs D5
    x = da.zeros((10, 16, 16), chunks=(1, 16, 16))
    y = ensure_min_chunks(x, (3, 0, 0))
    assert min(y.chunks[0]) >= 3 and sum(y.chunks[0]) == 10
    assert ensure_min_chunks(y, (3, 0, 0)) is y
    # map_overlap now works with a halo of 3
    out = y.map_overlap(lambda b: b + 1, depth=(3, 0, 0), boundary="reflect").compute()
    assert out.shape == (10, 16, 16) and (out == 1).all()


def test_aligned_chunks_on_step_multiples():
    chunks = aligned_chunks((100, 37), (7, 5), (30, 37))
    for axis_chunks, step in zip(chunks, (7, 5)):
        edges = np.cumsum(axis_chunks)[:-1]
        assert all(e % step == 0 for e in edges)
    assert sum(chunks[0]) == 100 and sum(chunks[1]) == 37


def test_block_offsets_switch_to_int64():  # bad inputs D7
    offsets, dtype = block_offsets([3, 0, 5])
    assert offsets.tolist() == [0, 3, 3] and dtype == np.int32
    offsets, dtype = block_offsets([2**31 - 10, 100])
    assert dtype == np.int64 and offsets[1] == 2**31 - 10


def _label_block(block, block_info=None):
    return label(np.asarray(block) > 0, connectivity=1)


def test_map_blocks_unique_labels_no_shared_ids():
    rng = np.random.default_rng(0)
    image = rng.random((40, 50)) > 0.6
    x = da.from_array(image, chunks=(13, 17))
    out = map_blocks_unique_labels(
        _label_block, x, max_labels_per_block=lambda s: int(np.prod(s))
    ).compute()
    owner = {}
    for index, slices in block_slices(x.chunks):
        for i in np.unique(out[slices]):
            if i:
                assert owner.setdefault(int(i), index) == index
    assert (out > 0).sum() == image.sum()


def test_map_blocks_unique_labels_int64_when_bounds_large():
    x = da.zeros((8, 8), chunks=4, dtype=bool)
    out = map_blocks_unique_labels(_label_block, x, max_labels_per_block=lambda s: 2**30)
    assert out.dtype == np.int64


@pytest.mark.parametrize("chunks", [(7, 9), (20, 5), (3, 40), (40, 40)])
def test_stitch_labels_equals_whole_image_labelling(chunks):
    rng = np.random.default_rng(1)
    image = rng.random((40, 40)) > 0.45
    expected = label(image, connectivity=1)
    x = da.from_array(image, chunks=chunks)
    local = map_blocks_unique_labels(_label_block, x, max_labels_per_block=lambda s: int(np.prod(s)))
    out = stitch_labels(local).compute()
    assert _same_partition(out, expected)
    assert out.max() == expected.max()


def test_stitch_labels_respects_classes():
    classes = np.ones((10, 10), int)
    classes[:, 5:] = 2
    x = da.from_array(classes, chunks=5)

    def per_block(block, block_info=None):
        return label(np.asarray(block), background=0, connectivity=1)

    local = map_blocks_unique_labels(per_block, x, max_labels_per_block=lambda s: int(np.prod(s)))
    out = stitch_labels(local, classes=x).compute()
    assert len(np.unique(out)) == 2 and _same_partition(out, classes)
