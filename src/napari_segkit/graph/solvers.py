"""Energy minimisation on grid graphs with PyMaxflow.

Energy of a labelling ``f``::

    E(f) = sum_p U[f_p, p] + sum_(p,q) W_pq [f_p != f_q]

with unary costs ``U`` (L, ...) and pairwise Potts weights ``W`` given per
neighbour offset.  Two labels: one Boykov-Kolmogorov max-flow gives the global
minimum.  More labels: alpha-expansion (Boykov, Veksler and Zabih 2001), each
move one max-flow with the Kolmogorov-Zabih construction, which keeps the
per-edge (contrast-sensitive) weights that PyMaxflow's ``fastmin`` cannot take.
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from .._progress import Reporter
from .neighbourhood import grid_slices
from .pairwise import EdgeWeights

__all__ = [
    "GRAPH_BLOCK_ELEMENTS",
    "BinaryGrid",
    "alpha_expansion",
    "binary_cut",
    "binary_cut_difference",
    "potts_energy",
]

# nodes per block when a graph is built block by block: large enough that the
# one extra row a block's n-links reach into costs little, small enough that
# the block's float64 buffers stay a few MB
GRAPH_BLOCK_ELEMENTS = 1 << 19


def _structure(offset, value: float = 1.0) -> np.ndarray:
    structure = np.zeros((3,) * len(offset), dtype=np.float64)
    structure[tuple(o + 1 for o in offset)] = value
    return structure


def _new_graph(shape, n_offsets: int):
    import maxflow

    n_nodes = int(np.prod(shape))
    graph = maxflow.Graph[float](n_nodes, n_nodes * n_offsets)
    return graph, graph.add_grid_nodes(shape)


def potts_energy(labels: np.ndarray, unary: np.ndarray, edges: EdgeWeights) -> float:
    """Energy of ``labels`` (indices into the first axis of ``unary``)."""
    data = np.take_along_axis(unary, labels[np.newaxis], axis=0).sum()
    smooth = 0.0
    for offset, weights in edges:
        src, dst = grid_slices(labels.shape, offset)
        smooth += weights[src][labels[src] != labels[dst]].sum()
    return float(data + smooth)


def binary_cut(unary: np.ndarray, edges: EdgeWeights) -> np.ndarray:
    """Globally optimal two-label cut.

    Parameters
    ----------
    unary : (2, ...) ndarray
        Cost of label 0 and of label 1 at each pixel.
    edges : list of (offset, weights)
        Potts weights of each neighbour pair.

    Returns
    -------
    (...) ndarray of bool
        True where label 1 is chosen.
    """
    shape = unary.shape[1:]
    graph, nodes = _new_graph(shape, len(edges))
    for offset, weights in edges:
        graph.add_grid_edges(nodes, weights=weights, structure=_structure(offset), symmetric=True)
    low = np.minimum(unary[0], unary[1])
    # cutting the source link puts p on the sink side (label 1), and costs U[1, p]
    graph.add_grid_tedges(nodes, unary[1] - low, unary[0] - low)
    graph.maxflow()
    return graph.get_grid_segments(nodes)


class BinaryGrid:
    """A two-label grid graph that can be built and read in blocks of rows (axis 0).

    Terminal links depend on one node each, so they can be added block by
    block.  The n-links of one offset, added block after block with
    :meth:`add_edges`, enter PyMaxflow's graph in exactly the order of one
    ``add_grid_edges`` call over the whole grid: a block's node array
    reaches one row past the block when the offset steps along axis 0, so
    the pairs that cross into the next block are added with the rows they
    start in.  Adding the offsets in turn therefore builds the very graph
    of :func:`binary_cut`, while only a block's weights exist at a time.

    Parameters
    ----------
    shape : tuple of int
        The grid.
    n_offsets : int
        Neighbour offsets that will be added (sizes PyMaxflow's arc array).
    """

    def __init__(self, shape, n_offsets: int) -> None:
        self.shape = tuple(shape)
        self.graph, self.nodes = _new_graph(self.shape, n_offsets)
        self._zero = np.zeros((1,) * len(self.shape))

    def add_terminal_difference(self, start: int, stop: int, difference: np.ndarray) -> None:
        """Terminal links of rows [start, stop) from ``U[1] - U[0]`` there.

        PyMaxflow keeps only the difference of a node's two terminal
        capacities: ``U[1] - low`` minus ``U[0] - low`` is ``U[1] - U[0]``
        exactly, so this equals adding both shifted costs.
        """
        self.graph.add_grid_tedges(self.nodes[start:stop], difference, self._zero)

    def edge_rows(self, offset, start: int, stop: int) -> Tuple[int, int]:
        """Rows the weights for :meth:`add_edges` must cover."""
        return start, min(stop + offset[0], self.shape[0])

    def add_edges(self, offset, start: int, stop: int, weights: np.ndarray, scale: float) -> None:
        """Symmetric n-links of the pairs (p, p + offset) with p in rows [start, stop).

        ``weights`` covers the rows of :meth:`edge_rows`; PyMaxflow multiplies
        it by ``scale`` in double precision.  Offsets must not step back along
        axis 0 (``neighbour_offsets`` guarantees it).
        """
        first, last = self.edge_rows(offset, start, stop)
        self.graph.add_grid_edges(
            self.nodes[first:last],
            weights=weights,
            structure=_structure(offset, scale),
            symmetric=True,
        )

    def maxflow(self) -> float:
        return self.graph.maxflow()

    def segments(self, start: int = 0, stop: Optional[int] = None) -> np.ndarray:
        """True where rows [start, stop) take label 1 (the sink side)."""
        return self.graph.get_grid_segments(self.nodes[start:stop])


def binary_cut_difference(
    difference: np.ndarray, edges: EdgeWeights, *, scale: float = 1.0
) -> np.ndarray:
    """:func:`binary_cut` from ``U[1] - U[0]`` and unscaled weights.

    Builds the same graph as ``binary_cut(U, [(o, scale * w) ...])``:
    PyMaxflow stores only the difference of a node's two terminal capacities
    (``U[1] - low`` minus ``U[0] - low`` is ``U[1] - U[0]`` exactly), and it
    multiplies each weight by its ``structure`` entry in double precision, so
    ``scale`` costs no pass over the weights.  Weights may be float32.

    Parameters
    ----------
    difference : (...) ndarray of float64
        Cost of label 1 minus cost of label 0 at each pixel.
    edges : list of (offset, weights)
        Unscaled Potts weights.  The list is emptied as the weights are added
        to the graph, so each array can be freed before the next is converted.
    scale : float
        Factor applied to every weight (the smoothness); 0 adds no edges.

    Returns
    -------
    (...) ndarray of bool
        True where label 1 is chosen.
    """
    shape = difference.shape
    grid = BinaryGrid(shape, len(edges))
    grid.add_terminal_difference(0, shape[0], difference)
    while edges:
        offset, weights = edges.pop(0)
        if scale > 0:
            grid.add_edges(offset, 0, shape[0], weights, scale)
        del weights
    grid.maxflow()
    return grid.segments()


def _expansion_move(
    labels: np.ndarray, alpha: int, unary: np.ndarray, edges: EdgeWeights
) -> np.ndarray:
    """Best expansion of ``alpha`` from ``labels``; returns the new labelling."""
    shape = labels.shape
    is_alpha = labels == alpha
    # x_p = 1 (sink side) means p switches to alpha
    cost_keep = np.take_along_axis(unary, labels[np.newaxis], axis=0)[0]
    cost_switch = unary[alpha].copy()
    cost_keep[is_alpha] = cost_switch[is_alpha]
    del is_alpha
    graph, nodes = _new_graph(shape, len(edges))
    # one array for every offset's pairwise weights: entries whose neighbour is
    # outside the grid are never read, so stale values there do no harm
    pair = np.zeros(shape, dtype=np.float64)
    for offset, weights in edges:
        src, dst = grid_slices(shape, offset)
        w = weights[src]
        lp, lq = labels[src], labels[dst]
        a = w * (lp != lq)  # E(0, 0)
        c = w * (lq != alpha)  # E(1, 0)
        # E = a + (c - a) x_p - c x_q + (b + c - a) (1 - x_p) x_q   (E(1, 1) = 0)
        cost_keep[src] += a
        cost_switch[src] += c
        cost_switch[dst] -= c
        inside = pair[src]
        np.multiply(w, lp != alpha, out=inside)  # b = E(0, 1): p keeps, q switches
        inside += c
        inside -= a
        del a, c, inside
        graph.add_grid_edges(nodes, weights=pair, structure=_structure(offset), symmetric=False)
    del pair
    # PyMaxflow keeps only the difference of a node's two terminal capacities:
    # (switch - low) - (keep - low) is switch - keep exactly
    np.subtract(cost_switch, cost_keep, out=cost_switch)
    del cost_keep
    graph.add_grid_tedges(nodes, cost_switch, np.zeros((1,) * len(shape)))
    del cost_switch
    graph.maxflow()
    switch = graph.get_grid_segments(nodes)
    new = labels.copy()
    new[switch] = alpha
    return new


def alpha_expansion(
    unary: np.ndarray,
    edges: EdgeWeights,
    *,
    init: Optional[np.ndarray] = None,
    max_cycles: int = 5,
    progress: Optional[Reporter] = None,
) -> np.ndarray:
    """Minimise a Potts energy over many labels by alpha-expansion.

    Parameters
    ----------
    unary : (L, ...) ndarray
    edges : list of (offset, weights)
    init : (...) ndarray of int, optional
        Starting labelling; default the per-pixel minimum of ``unary``.
    max_cycles : int
        Passes over all labels; stops earlier when a pass changes nothing.
    progress : Reporter, optional
        Called after each move; may raise ``Cancelled``.

    Returns
    -------
    (...) ndarray of intp
        Label indices into the first axis of ``unary``.
    """
    n_labels = unary.shape[0]
    labels = np.argmin(unary, axis=0) if init is None else np.asarray(init, dtype=np.intp).copy()
    energy = potts_energy(labels, unary, edges)
    total_moves = max_cycles * n_labels
    move = 0
    for cycle in range(max_cycles):
        improved = False
        for alpha in range(n_labels):
            candidate = _expansion_move(labels, alpha, unary, edges)
            new_energy = potts_energy(candidate, unary, edges)
            if new_energy < energy - 1e-9 * max(1.0, abs(energy)):
                labels, energy, improved = candidate, new_energy, True
            move += 1
            if progress is not None:
                progress(move / total_moves, f"expansion cycle {cycle + 1}, label {alpha + 1}/{n_labels}")
        if not improved:
            break
    return labels
