"""The graph-cut job: what the Graph cut widget runs in its worker thread.

Plain Python (no Qt): picks the pyramid level whose graph fits in memory,
reads that level, calls :func:`napari_segkit.graph_cut` and returns the
labels as a :class:`~._jobs.LayerOutput`.  Cancelling, progress and error
handling are :class:`~._jobs.Job`'s.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from .._errors import ResourceLimitError
from ..graph.memory import INT32_MAX, MEMORY_FRACTION, available_memory, check_graph_budget
from ..graphcut import estimate_graph_cut_memory, graph_cut
from ._jobs import Job, JobResult, LayerOutput
from ._layers import ImageInput, finest_level, load_level

__all__ = ["CANCEL_NOTE", "GraphCutJob", "choose_level", "downsample_seeds", "run_graph_cut_job"]

logger = logging.getLogger(__name__)

CANCEL_NOTE = "cancelling: the cut stops after the current max-flow step"


@dataclass(eq=False)
class GraphCutJob(Job):
    """Everything one run needs, captured on the GUI thread when it starts.

    ``seeds`` is a private copy of the seeds layer; ``image`` holds the layer's
    (possibly lazy) data, read only in the worker after the memory check.
    """

    image: ImageInput
    seeds: np.ndarray
    smoothness: float = 2.0
    connectivity: object = 1  # int, or "full" for all neighbours
    spatial_dims: Optional[int] = None
    memory_limit: Optional[int] = None
    instances: bool = False
    cancel_event: threading.Event = field(default_factory=threading.Event)

    @property
    def name(self) -> str:
        return self.image.name

    def resolved_connectivity(self) -> int:
        if self.connectivity == "full":
            return 2 if (self.spatial_dims or (2 if self.image.ndim == 2 else 3)) == 2 else 3
        return int(self.connectivity)

    def compute(self, progress: Callable[[float, str], None]) -> LayerOutput:
        progress(0.0, "checking memory")
        values = np.unique(self.seeds)
        n_labels = max(int(np.count_nonzero(values)), 2)
        connectivity = self.resolved_connectivity()
        level = choose_level(
            self.image, n_labels=n_labels, spatial_dims=self.spatial_dims,
            connectivity=connectivity, memory_limit=self.memory_limit,
        )
        factors = self.image.factors[level]
        seeds = self.seeds
        if level:
            logger.info("image %r: using pyramid level %d (factors %s)", self.image.name, level, factors)
            seeds = downsample_seeds(seeds, factors, self.image.level_shape(level))
        progress(0.01, f"reading image (level {level})" if self.image.n_levels > 1 else "reading image")
        array = load_level(self.image, level)
        spacing = self.image.spacing(self.spatial_dims)
        spacing = tuple(s * f for s, f in zip(spacing, factors[-len(spacing):]))
        labels = graph_cut(
            array,
            seeds,
            spacing=spacing,
            channel_axis=self.image.channel_axis,
            smoothness=self.smoothness,
            connectivity=connectivity,
            spatial_dims=self.spatial_dims,
            memory_limit=self.memory_limit,
            progress=progress,
            instances=self.instances,
        )
        return LayerOutput(labels, level=level)


def run_graph_cut_job(
    job: GraphCutJob, progress: Optional[Callable[[float, str], None]] = None
) -> JobResult:
    """Execute ``job`` (``job.run(progress)``); a cancel flag set from ``progress`` stops it."""
    return job.run(progress)


def _fits(image: ImageInput, shape, *, n_labels: int, spatial_dims, connectivity, limit) -> bool:
    budget = estimate_graph_cut_memory(
        shape,
        n_labels=n_labels,
        n_channels=image.n_channels,
        spatial_dims=spatial_dims,
        connectivity=connectivity,
    )
    within_ints = budget.n_nodes <= INT32_MAX and 2 * budget.n_edges <= INT32_MAX
    return within_ints and budget.total_bytes <= limit


def choose_level(
    image: ImageInput,
    *,
    n_labels: int = 2,
    spatial_dims: Optional[int] = None,
    connectivity: int = 1,
    memory_limit: Optional[int] = None,
) -> int:
    """The finest pyramid level whose graph cut fits in memory.

    Uses :func:`napari_segkit.estimate_graph_cut_memory` and the memory
    available now (psutil); reads no pixel data.

    Raises
    ------
    ResourceLimitError
        If not even the coarsest level fits (the core's message).
    InputError
        If the shape or options are unusable.
    """
    limit = int(MEMORY_FRACTION * available_memory()) if memory_limit is None else int(memory_limit)
    level = finest_level(
        image,
        lambda shape: _fits(image, shape, n_labels=n_labels, spatial_dims=spatial_dims,
                            connectivity=connectivity, limit=limit),
    )
    if level is not None:
        return level
    budget = estimate_graph_cut_memory(
        image.level_shape(image.n_levels - 1), n_labels=n_labels, n_channels=image.n_channels,
        spatial_dims=spatial_dims, connectivity=connectivity,
    )
    check_graph_budget(budget, memory_limit=limit)
    raise ResourceLimitError(  # pragma: no cover - check_graph_budget raises first
        f"image {image.name!r} does not fit in memory at any pyramid level"
    )


def downsample_seeds(seeds: np.ndarray, factors: Sequence[float], shape: Sequence[int]) -> np.ndarray:
    """Seeds for a coarser pyramid level, keeping thin strokes.

    Every seeded fine pixel marks the coarse pixel that covers it; where one
    coarse pixel covers two seed values the larger wins.
    """
    shape = tuple(int(n) for n in shape)
    if tuple(seeds.shape) == shape:
        return seeds
    out = np.zeros(shape, dtype=seeds.dtype)
    coords = np.nonzero(seeds)
    values = seeds[coords]
    coarse = tuple(
        np.minimum((c / max(float(f), 1e-12)).astype(np.intp), n - 1)
        for c, f, n in zip(coords, factors, shape)
    )
    np.maximum.at(out, coarse, values)
    return out


