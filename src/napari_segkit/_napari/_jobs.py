"""Plain-Python jobs for the dock widgets: compute, report progress, cancel.

A :class:`Job` wraps ``compute(progress) -> outputs`` together with a cancel
flag.  :meth:`Job.run` (what the worker thread executes; no Qt involved)
calls it with a progress callback that raises
:class:`~napari_segkit.Cancelled` once the flag is set, so the core stops at
its next progress report.  Expected failures come back as a
:class:`JobResult` carrying the core's message unchanged:

* :class:`~napari_segkit.InputError`, :class:`~napari_segkit.ResourceLimitError`,
  :class:`~napari_segkit.UnsafeFileError` and :class:`~napari_segkit.DeviceError`
  -> ``result.error``;
* :class:`~napari_segkit.Cancelled` -> ``result.cancelled``.

Anything else is a bug: it propagates, and napari's worker shows it with its
traceback (``errored``).

``compute`` returns what the widget should show: a labels array, one
:class:`LayerOutput`, or a sequence of them (labels and, say, a probability
image).  Anything else is kept as ``result.value`` for the widget's own
:meth:`~._method_widget.MethodWidget.result_ready` hook.  Output checksums
are computed here, off the GUI thread, and labels whose ids fit are turned
into uint16, which napari shows without converting (:mod:`._handover`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Tuple

import numpy as np

from .._errors import Cancelled, DeviceError, InputError, ResourceLimitError, UnsafeFileError
from .._stoppable import child_processes_supported, run_in_child
from .._threads import blas_threads, gui_job_threads
from ._handover import display_array, display_labels, warm_imports
from ._layers import array_digest

__all__ = ["EXPECTED_ERRORS", "Job", "JobResult", "LayerOutput", "run_job"]

#: errors whose message is shown to the user as is (no traceback)
EXPECTED_ERRORS = (InputError, ResourceLimitError, UnsafeFileError, DeviceError)

Progress = Callable[[float, str], None]


@dataclass
class LayerOutput:
    """One layer a job asks the widget to show.

    Attributes
    ----------
    data : ndarray
        Labels (``kind="labels"``) or intensities (``kind="image"``) on the
        grid of the job's image at pyramid level ``level``: its non-channel
        shape, or that shape's trailing axes when ``plane`` is given.  Extra
        leading axes (e.g. classes of a probability map) get scale 1.
    kind : {"labels", "image"}
    level : int
        Pyramid level of the input the data sits on; the layer's scale is the
        image's scale times that level's downsample factor.
    suffix : str
        Appended to the layer name: ``"<image> <method>[ <suffix>]"``.
    plane : tuple of int
        Leading indices (e.g. ``(t,)`` or ``(t, z)``) of the slice ``data``
        fills in an output as large as the image (a 2-D method run on the
        plane captured at start); empty for a whole-image result.
    layer_kwargs : dict
        More keyword arguments for the new layer (colormap, opacity, ...).
    digest : str or None
        Checksum of ``data``, filled in by :meth:`Job.run`.
    """

    data: np.ndarray
    kind: str = "labels"
    level: int = 0
    suffix: str = ""
    plane: Tuple[int, ...] = ()
    layer_kwargs: dict = field(default_factory=dict)
    digest: Optional[str] = None

    def __post_init__(self) -> None:
        if self.kind not in ("labels", "image"):
            raise ValueError(f"kind must be 'labels' or 'image'; got {self.kind!r}")
        self.plane = tuple(int(i) for i in self.plane)


@dataclass
class JobResult:
    """What a run produced: output layers, or the reason there are none."""

    outputs: Tuple[LayerOutput, ...] = ()
    value: Any = None
    error: Optional[str] = None
    cancelled: bool = False
    seconds: float = 0.0
    #: checksums of :attr:`Job.digest_arrays` after the computation, by ``id`` of the array
    array_digests: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None and not self.cancelled

    def _first(self, kind: str = "labels") -> Optional[LayerOutput]:
        return next((o for o in self.outputs if o.kind == kind), None)

    @property
    def labels(self) -> Optional[np.ndarray]:
        """Data of the first labels output, or None."""
        first = self._first()
        return None if first is None else first.data

    @property
    def level(self) -> int:
        """Pyramid level of the first output (0 without outputs)."""
        return self.outputs[0].level if self.outputs else 0

    @property
    def digest(self) -> Optional[str]:
        first = self._first()
        return None if first is None else first.digest


def _as_outputs(value: Any) -> Optional[Tuple[LayerOutput, ...]]:
    """``value`` as layer outputs, or None if it is something else."""
    if isinstance(value, LayerOutput):
        return (value,)
    if isinstance(value, np.ndarray):
        return (LayerOutput(value),)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, LayerOutput) for v in value):
        return tuple(value)
    return None


class Job:
    """A unit of work with a cancel flag.

    Either pass ``compute`` or subclass and override :meth:`compute`.
    Subclasses that are dataclasses declare their own
    ``cancel_event: threading.Event = field(default_factory=threading.Event)``.

    Parameters
    ----------
    compute : callable, optional
        ``compute(progress) -> outputs``; runs in the worker thread and must
        only touch data captured when the job was made (never a layer).
    name : str
        Shown in log messages.
    """

    cancel_event: threading.Event
    #: run ``compute`` in a forked child process (Linux): it then never holds the GUI's GIL,
    #: runs at lower priority than the GUI and is stopped at once by a cancel.  Only for
    #: computations that return their whole result and change no state of this process.
    isolate: bool = False
    #: modules an isolated job imports before forking (imports in the child are lost when it ends)
    preload: Tuple[str, ...] = ()
    #: arrays (existing output layers' data) to checksum off the GUI thread when the job ends
    digest_arrays: Tuple[Any, ...] = ()

    def __init__(self, compute: Optional[Callable[[Progress], Any]] = None, *, name: str = "",
                 isolate: bool = False) -> None:
        self._compute = compute
        self.name = name
        self.isolate = bool(isolate)
        self.cancel_event = threading.Event()

    def compute(self, progress: Progress) -> Any:
        if self._compute is None:
            raise NotImplementedError("pass compute= or override Job.compute")
        return self._compute(progress)

    def cancel(self) -> None:
        self.cancel_event.set()

    def _compute_shown(self, progress: Progress) -> Any:
        """:meth:`compute`, its outputs in the form napari shows without converting.

        Done where the computation runs (a child process sends back the
        smaller array).
        """
        value = self.compute(progress)
        if isinstance(value, np.ndarray):
            return display_labels(value)
        for output in _as_outputs(value) or ():
            shown = (display_labels if output.kind == "labels" else display_array)(output.data)
            if shown is not output.data:
                output.data, output.digest = shown, None
        return value

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def reporter(self, progress: Optional[Progress] = None) -> Progress:
        """A progress callback that raises Cancelled once the job is cancelled."""

        def report(fraction: float, message: str) -> None:
            if self.cancelled:
                raise Cancelled("cancelled by the user")
            if progress is not None:
                try:
                    progress(fraction, message)
                except RuntimeError:  # the receiving widget is gone
                    self.cancel()
                    raise Cancelled("the widget was closed") from None

        return report

    def run(self, progress: Optional[Progress] = None) -> JobResult:
        """Execute the job; meant for a worker thread but runs anywhere.

        ``progress(fraction, message)`` receives the core's progress.
        """
        start = time.perf_counter()
        try:
            report = self.reporter(progress)
            report(0.0, "")  # an early cancel check; an empty message keeps the status
            with blas_threads(gui_job_threads()):  # leave a core to the GUI thread
                if self.isolate and child_processes_supported():
                    value = run_in_child(self._compute_shown, report, preload=self.preload)
                else:
                    value = self._compute_shown(report)
            if self.cancelled:  # cancelled during the last, uninterruptible step
                raise Cancelled("cancelled by the user")
            outputs = _as_outputs(value)
            if outputs is None:
                return JobResult(value=value, seconds=time.perf_counter() - start)
            warm_imports()
            for output in outputs:
                if output.digest is None:
                    output.digest = array_digest(output.data)
            digests = {id(array): array_digest(array) for array in self.digest_arrays}
            return JobResult(outputs=outputs, value=value, seconds=time.perf_counter() - start,
                             array_digests=digests)
        except Cancelled:
            return JobResult(cancelled=True, seconds=time.perf_counter() - start)
        except EXPECTED_ERRORS as exc:
            return JobResult(error=str(exc), seconds=time.perf_counter() - start)


def run_job(job: Job, progress: Optional[Progress] = None) -> JobResult:
    """``job.run(progress)``: the function the worker thread executes."""
    return job.run(progress)
