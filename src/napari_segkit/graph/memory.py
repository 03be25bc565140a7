"""How much memory a max-flow job needs, checked before anything is built.

PyMaxflow's C++ core (Kolmogorov's graph.h) calls ``exit()`` when an
allocation fails and counts nodes and arcs in 32-bit ints, so a graph that does
not fit must be refused here, never handed to it.

Sizes measured on PyMaxflow 1.3 (64-bit, ``Graph[float]``): 48 bytes per node,
32 bytes per arc (an undirected edge is two arcs), plus the int64 node-id grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import psutil

from .._errors import ResourceLimitError

__all__ = ["GraphBudget", "available_memory", "check_graph_budget", "graph_bytes"]

NODE_BYTES = 48
ARC_BYTES = 32
NODE_ID_BYTES = 8
INT32_MAX = 2**31 - 1
# fraction of the available memory a job may plan to use
MEMORY_FRACTION = 0.8


def graph_bytes(n_nodes: int, n_edges: int) -> int:
    """Bytes PyMaxflow needs for a grid graph of ``n_nodes`` and ``n_edges`` edges."""
    return n_nodes * (NODE_BYTES + NODE_ID_BYTES) + 2 * n_edges * ARC_BYTES


def available_memory() -> int:
    """Bytes of memory the system reports as available now."""
    return int(psutil.virtual_memory().available)


@dataclass(frozen=True)
class GraphBudget:
    """A max-flow job's size, as estimated before building it.

    Attributes
    ----------
    n_nodes, n_edges : int
        Largest graph built at once (one frame).
    graph_bytes : int
        PyMaxflow's memory for that graph.
    array_bytes : int
        Working arrays held alongside it (features, costs, weights, labels).
    """

    n_nodes: int
    n_edges: int
    graph_bytes: int
    array_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.graph_bytes + self.array_bytes


def _gb(n: int) -> str:
    return f"{n / 1e9:.2f} GB"


def check_graph_budget(budget: GraphBudget, *, memory_limit: int | None = None) -> None:
    """Raise unless the graph fits PyMaxflow's limits and the memory limit.

    Parameters
    ----------
    budget : GraphBudget
    memory_limit : int, optional
        Bytes allowed; default 80 % of the memory available now.

    Raises
    ------
    ResourceLimitError
        With the estimate and what to do instead.
    """
    if budget.n_nodes > INT32_MAX or 2 * budget.n_edges > INT32_MAX:
        raise ResourceLimitError(
            f"the graph would have {budget.n_nodes:,} nodes and {2 * budget.n_edges:,} arcs, "
            f"over PyMaxflow's limit of {INT32_MAX:,}; crop the image, process it in tiles "
            "or downsample it"
        )
    limit = int(MEMORY_FRACTION * available_memory()) if memory_limit is None else int(memory_limit)
    if budget.total_bytes > limit:
        raise ResourceLimitError(
            f"the graph needs about {_gb(budget.total_bytes)} of memory "
            f"({_gb(budget.graph_bytes)} for {budget.n_nodes:,} nodes and {budget.n_edges:,} edges, "
            f"{_gb(budget.array_bytes)} for working arrays) but {_gb(limit)} is allowed; "
            "crop the image, process it in tiles, downsample it or lower the connectivity"
        )
