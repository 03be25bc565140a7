"""Run a graph cut off the GUI thread, relay its progress, let the user cancel.

:func:`run_graph_cut_job` is plain Python (no Qt) and is what the worker
thread executes: it picks the pyramid level that fits in memory, reads the
image, calls :func:`napari_segkit.graph_cut` and reports back.  Expected
failures (bad input, too big, cancelled) come back as a :class:`JobResult`
carrying the core's message; anything else is raised and reaches napari's
``errored`` notification.

:func:`start_graph_cut_worker` wraps it in a napari ``FunctionWorker`` whose
``quit()`` (used by napari when the window closes with the task running) also
sets the job's cancel flag.  Progress goes through a Qt signal so the GUI
thread alone touches widgets.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from .._errors import Cancelled, InputError, ResourceLimitError
from ..graphcut import graph_cut
from ._layers import ImageInput, array_digest, choose_level, downsample_seeds, load_level

__all__ = ["GraphCutJob", "JobResult", "ProgressRelay", "run_graph_cut_job", "start_graph_cut_worker"]

logger = logging.getLogger(__name__)

CANCEL_NOTE = "cancelling: the cut stops after the current max-flow step"


@dataclass
class GraphCutJob:
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
    cancel_event: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        self.cancel_event.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def resolved_connectivity(self) -> int:
        if self.connectivity == "full":
            return 2 if (self.spatial_dims or (2 if self.image.ndim == 2 else 3)) == 2 else 3
        return int(self.connectivity)


@dataclass
class JobResult:
    """What a run produced: labels, or the reason there are none."""

    labels: Optional[np.ndarray] = None
    level: int = 0
    digest: Optional[str] = None
    error: Optional[str] = None
    cancelled: bool = False
    seconds: float = 0.0


def run_graph_cut_job(
    job: GraphCutJob, progress: Optional[Callable[[float, str], None]] = None
) -> JobResult:
    """Execute ``job``; meant for a worker thread but runs anywhere.

    ``progress(fraction, message)`` receives the core's progress.  When the
    job's cancel flag is set, the next progress call raises
    :class:`~napari_segkit.Cancelled`, which the core lets through between
    frames and max-flow steps.
    """
    start = time.perf_counter()

    def report(fraction: float, message: str) -> None:
        if job.cancelled:
            raise Cancelled("cancelled by the user")
        if progress is not None:
            try:
                progress(fraction, message)
            except RuntimeError:  # the receiving widget is gone
                job.cancel()
                raise Cancelled("the widget was closed") from None

    try:
        report(0.0, "checking memory")
        values = np.unique(job.seeds)
        n_labels = max(int(np.count_nonzero(values)), 2)
        connectivity = job.resolved_connectivity()
        level = choose_level(
            job.image, n_labels=n_labels, spatial_dims=job.spatial_dims,
            connectivity=connectivity, memory_limit=job.memory_limit,
        )
        factors = job.image.factors[level]
        seeds = job.seeds
        if level:
            logger.info("image %r: using pyramid level %d (factors %s)", job.image.name, level, factors)
            seeds = downsample_seeds(seeds, factors, job.image.level_shape(level))
        report(0.01, f"reading image (level {level})" if job.image.n_levels > 1 else "reading image")
        array = load_level(job.image, level)
        spacing = job.image.spacing(job.spatial_dims)
        spacing = tuple(s * f for s, f in zip(spacing, factors[-len(spacing):]))
        labels = graph_cut(
            array,
            seeds,
            spacing=spacing,
            channel_axis=job.image.channel_axis,
            smoothness=job.smoothness,
            connectivity=connectivity,
            spatial_dims=job.spatial_dims,
            memory_limit=job.memory_limit,
            progress=report,
        )
        if job.cancelled:
            raise Cancelled("cancelled by the user")
        return JobResult(
            labels=labels, level=level, digest=array_digest(labels),
            seconds=time.perf_counter() - start,
        )
    except Cancelled:
        return JobResult(cancelled=True, seconds=time.perf_counter() - start)
    except (InputError, ResourceLimitError) as exc:
        return JobResult(error=str(exc), seconds=time.perf_counter() - start)


def _qt_parts():
    """Qt classes, built on first use so this module imports without Qt."""
    global _QT
    if _QT is None:
        from napari.qt.threading import FunctionWorker
        from qtpy.QtCore import QObject, Signal

        class _Relay(QObject):
            """Carries progress from the worker thread to the GUI thread."""

            progressed = Signal(float, str)

        class _Worker(FunctionWorker):
            """A FunctionWorker whose ``quit()`` also cancels the graph cut."""

            def __init__(self, func, job, *args, **kwargs):
                super().__init__(func, job, *args, **kwargs)
                self.job = job

            def quit(self) -> None:
                self.job.cancel()
                super().quit()

        _QT = (_Relay, _Worker)
    return _QT


_QT = None


def ProgressRelay(parent=None):  # noqa: N802 (a factory standing in for a class)
    """A QObject with a ``progressed(float, str)`` signal."""
    return _qt_parts()[0](parent)


def start_graph_cut_worker(
    job: GraphCutJob,
    relay,
    *,
    on_returned: Callable[[JobResult], None],
    on_errored: Callable[[Exception], None],
    on_finished: Callable[[], None],
):
    """Start ``job`` in napari's thread pool and return the worker.

    ``relay.progressed`` is emitted from the worker thread; Qt queues it to
    the thread that owns ``relay`` (the GUI thread).
    """
    from napari.qt.threading import create_worker

    _, worker_class = _qt_parts()

    def emit(fraction: float, message: str) -> None:
        relay.progressed.emit(float(fraction), str(message))

    return create_worker(
        run_graph_cut_job,
        job,
        progress=emit,
        _worker_class=worker_class,
        _connect={"returned": on_returned, "errored": on_errored, "finished": on_finished},
        _start_thread=True,
    )
