"""Labels across chunk seams: one id per object, ids unique over the volume."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_segkit.tiling.stitch import label_chunks, stitch_instances


def same_partition(a, b):
    a, b = np.asarray(a).ravel(), np.asarray(b).ravel()
    if not np.array_equal(a == 0, b == 0):
        return False
    pairs = np.unique(np.stack([a, b]), axis=1)
    return len(np.unique(pairs[0])) == pairs.shape[1] == len(np.unique(pairs[1]))


@pytest.mark.parametrize("shape, chunks", [((60, 70), (7, 9)), ((60, 70), (20, 35)), ((60, 70), (60, 70)),
                                           ((16, 20, 24), (5, 7, 6))])
def test_label_chunks_equals_whole_array_labelling(shape, chunks):
    import dask.array as da

    mask = ndi.gaussian_filter(np.random.default_rng(0).random(shape), 2) > 0.5
    ref, n = ndi.label(mask)
    out = label_chunks(da.from_array(mask, chunks=chunks)).compute()
    assert same_partition(out, ref)
    assert out.max() == n and out.dtype == np.int32  # consecutive ids


def test_objects_on_seams_get_one_id_and_separate_objects_keep_theirs():
    import dask.array as da

    labels = np.zeros((40, 40), np.int32)
    labels[5:15, 15:25] = 1    # crosses the seam at x = 20
    labels[18:22, 18:22] = 2   # crosses both seams at (20, 20)
    labels[30:38, 2:8] = 3     # inside one block
    labels[30:38, 12:20] = 4   # ends at the seam x = 20 ...
    labels[30:38, 21:28] = 5   # ... and this one starts one pixel later: no contact
    # per-block ids that clash between blocks
    per_block = np.zeros_like(labels)
    for by in (0, 20):
        for bx in (0, 20):
            block = labels[by:by + 20, bx:bx + 20]
            per_block[by:by + 20, bx:bx + 20], _ = ndi.label(block > 0)
    assert per_block.max() < 5  # ids repeat across blocks before stitching
    out = stitch_instances(da.from_array(per_block, chunks=20)).compute()
    assert same_partition(out, labels)
    assert sorted(np.unique(out)) == [0, 1, 2, 3, 4, 5]
