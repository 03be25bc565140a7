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

from typing import Optional

import numpy as np

from .._progress import Reporter
from .neighbourhood import grid_slices
from .pairwise import EdgeWeights

__all__ = ["alpha_expansion", "binary_cut", "potts_energy"]


def _structure(offset) -> np.ndarray:
    structure = np.zeros((3,) * len(offset), dtype=np.float64)
    structure[tuple(o + 1 for o in offset)] = 1.0
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
    graph, nodes = _new_graph(shape, len(edges))
    for offset, weights in edges:
        src, dst = grid_slices(shape, offset)
        w = weights[src]
        lp, lq = labels[src], labels[dst]
        a = w * (lp != lq)  # E(0, 0)
        b = w * (lp != alpha)  # E(0, 1): p keeps, q switches
        c = w * (lq != alpha)  # E(1, 0)
        # E = a + (c - a) x_p - c x_q + (b + c - a) (1 - x_p) x_q   (E(1, 1) = 0)
        cost_keep[src] += a
        cost_switch[src] += c
        cost_switch[dst] -= c
        pair = np.zeros(shape, dtype=np.float64)
        pair[src] = b + c - a
        graph.add_grid_edges(nodes, weights=pair, structure=_structure(offset), symmetric=False)
    low = np.minimum(cost_keep, cost_switch)
    graph.add_grid_tedges(nodes, cost_switch - low, cost_keep - low)
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
