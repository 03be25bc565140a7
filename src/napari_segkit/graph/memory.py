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
    """Bytes of memory this process can still use now.

    The system's available memory, capped by the process's address-space
    limit (``ulimit -v``, RLIMIT_AS) less what it has mapped, and by its
    cgroup's memory limit (``memory.max``) less the cgroup's use: a job run
    under either limit sees that limit, not the machine's free memory.
    """
    figures = [int(psutil.virtual_memory().available)]
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft not in (resource.RLIM_INFINITY, -1):
            figures.append(max(int(soft) - int(psutil.Process().memory_info().vms), 0))
    except (ImportError, OSError, ValueError):  # pragma: no cover (no rlimits on this platform)
        pass
    cgroup = _cgroup_headroom()
    if cgroup is not None:
        figures.append(cgroup)
    return min(figures)


def _cgroup_headroom(root: str = "/sys/fs/cgroup") -> int | None:
    """``memory.max - memory.current`` of this process's cgroup (v2), or None when unlimited/unknown."""
    from pathlib import Path

    try:
        limit = Path(root, "memory.max").read_text().strip()
        if limit == "max":
            return None
        return max(int(limit) - int(Path(root, "memory.current").read_text().strip()), 0)
    except (OSError, ValueError):
        return None


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
