"""Max-flow solvers against exhaustive search on tiny grids."""

import itertools

import numpy as np
import pytest

from napari_segkit.graph.neighbourhood import neighbour_offsets
from napari_segkit.graph.solvers import alpha_expansion, binary_cut, potts_energy

pytest.importorskip("maxflow")


def _random_problem(rng, shape, n_labels, conn=2):
    unary = rng.uniform(0, 3, size=(n_labels,) + shape)
    edges = [(off, rng.uniform(0, 2, size=shape)) for off in neighbour_offsets(len(shape), conn)]
    return unary, edges


def _brute_force(unary, edges):
    n_labels, shape = unary.shape[0], unary.shape[1:]
    best, best_e = None, np.inf
    for combo in itertools.product(range(n_labels), repeat=int(np.prod(shape))):
        labels = np.array(combo).reshape(shape)
        e = potts_energy(labels, unary, edges)
        if e < best_e:
            best, best_e = labels, e
    return best, best_e


@pytest.mark.parametrize("seed", range(5))
def test_binary_cut_is_globally_optimal(seed):
    rng = np.random.default_rng(seed)
    unary, edges = _random_problem(rng, (3, 4), 2)
    _, optimum = _brute_force(unary, edges)
    labels = binary_cut(unary, edges).astype(int)
    assert potts_energy(labels, unary, edges) == pytest.approx(optimum)


@pytest.mark.parametrize("seed", range(5))
def test_expansion_with_two_labels_is_optimal(seed):
    rng = np.random.default_rng(seed)
    unary, edges = _random_problem(rng, (3, 4), 2)
    _, optimum = _brute_force(unary, edges)
    labels = alpha_expansion(unary, edges, init=np.zeros((3, 4), int))
    assert potts_energy(labels, unary, edges) == pytest.approx(optimum)


@pytest.mark.parametrize("seed", range(4))
def test_expansion_within_potts_bound_of_optimum(seed):
    rng = np.random.default_rng(seed)
    unary, edges = _random_problem(rng, (3, 3), 3)
    _, optimum = _brute_force(unary, edges)
    labels = alpha_expansion(unary, edges)
    energy = potts_energy(labels, unary, edges)
    # alpha-expansion is within a factor 2 of the optimum for Potts energies
    assert optimum - 1e-9 <= energy <= 2 * optimum
    start = potts_energy(np.argmin(unary, axis=0), unary, edges)
    assert energy <= start + 1e-9


def test_expansion_reports_progress_and_can_stop():
    from napari_segkit import Cancelled
    from napari_segkit._progress import Reporter

    rng = np.random.default_rng(0)
    unary, edges = _random_problem(rng, (6, 6), 3)
    seen = []

    def callback(fraction, message):
        seen.append(fraction)
        if len(seen) == 2:
            raise Cancelled()

    with pytest.raises(Cancelled):
        alpha_expansion(unary, edges, progress=Reporter(callback))
    assert seen == sorted(seen) and len(seen) == 2
