import numpy as np
import pytest

from napari_segkit import InputError
from napari_segkit.graph.neighbourhood import (
    grid_slices,
    neighbour_offsets,
    offset_length,
    resolve_connectivity,
)


@pytest.mark.parametrize(
    "ndim, conn, n_pairs", [(2, 1, 2), (2, 2, 4), (3, 1, 3), (3, 2, 9), (3, 3, 13)]
)
def test_offsets_are_half_of_the_neighbourhood(ndim, conn, n_pairs):
    offsets = neighbour_offsets(ndim, conn)
    assert len(offsets) == n_pairs
    both = set(offsets) | {tuple(-o for o in off) for off in offsets}
    assert len(both) == 2 * n_pairs  # no offset and its negation both present


@pytest.mark.parametrize("ndim, given, expected", [(2, 4, 1), (2, 8, 2), (3, 6, 1), (3, 18, 2), (3, 26, 3), (3, 2, 2)])
def test_connectivity_counts_accepted(ndim, given, expected):
    assert resolve_connectivity(given, ndim) == expected


@pytest.mark.parametrize("bad", [0, 3, 6, 5, 1.0, True])
def test_connectivity_rejected_in_2d(bad):
    with pytest.raises(InputError, match="connectivity"):
        resolve_connectivity(bad, 2)


def test_offset_length_uses_spacing():
    assert offset_length((1, 0, 0), (4, 1, 1)) == 4
    assert offset_length((0, 1, 1), (4, 1, 1)) == pytest.approx(np.sqrt(2))


def test_grid_slices_pair_neighbours():
    a = np.arange(12).reshape(3, 4)
    src, dst = grid_slices(a.shape, (1, -1))
    np.testing.assert_array_equal(a[src] + 4 - 1, a[dst])
