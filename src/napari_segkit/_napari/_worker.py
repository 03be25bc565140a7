"""Run a :class:`~._jobs.Job` off the GUI thread, relay its progress, let the user cancel.

:func:`start_job_worker` wraps :func:`~._jobs.run_job` in a napari
``FunctionWorker`` whose ``quit()`` (used by napari when the window closes
with the task running) also sets the job's cancel flag.  Progress goes
through a Qt signal (:func:`ProgressRelay`) so only the GUI thread touches
widgets.  Qt is imported on first use, so this module imports without it.
"""

from __future__ import annotations

from typing import Any, Callable

from ._jobs import Job, JobResult, run_job

__all__ = ["ProgressRelay", "install_close_filter", "start_job_worker"]

_QT = None


def _qt_parts():
    """Qt classes, built on first use."""
    global _QT
    if _QT is None:
        from napari.qt.threading import FunctionWorker
        from qtpy.QtCore import QObject, Signal

        class _Relay(QObject):
            """Carries progress from the worker thread to the GUI thread."""

            progressed = Signal(float, str)

        class _Worker(FunctionWorker):
            """A FunctionWorker whose ``quit()`` also cancels its job.

            napari's FunctionWorker means to relay errors and warnings to its
            notifications, but its mixin's ``__init__`` sits after sip's in the
            MRO and is not always run.  The relays are connected here to plain
            functions (PyQt keeps only weak references to bound methods, and
            the worker may be gone when the queued signal arrives); the
            mixin's own relays are no-ops so nothing is shown twice.
            """

            def __init__(self, func, job, *args, **kwargs):
                super().__init__(func, job, *args, **kwargs)
                self.job = job
                self.errored.connect(_notify_error)
                self.warned.connect(_notify_warning)

            def _relay_error(self, exc) -> None:
                pass

            def _relay_warning(self, show_warn_args) -> None:
                pass

            def quit(self) -> None:
                self.job.cancel()
                super().quit()

        _QT = (_Relay, _Worker)
    return _QT


def _notify_error(exc: Exception) -> None:
    from napari.utils.notifications import notification_manager

    notification_manager.receive_error(type(exc), exc, exc.__traceback__)


def _notify_warning(show_warn_args: tuple) -> None:
    from napari.utils.notifications import notification_manager

    notification_manager.receive_warning(*show_warn_args)


def ProgressRelay(parent=None):  # noqa: N802 (a factory standing in for a class)
    """A QObject with a ``progressed(float, str)`` signal, owned by ``parent``'s thread."""
    return _qt_parts()[0](parent)


def start_job_worker(
    job: Job,
    relay,
    *,
    on_returned: Callable[[JobResult], None],
    on_errored: Callable[[Exception], None],
    on_finished: Callable[[], None],
):
    """Start ``job`` in napari's thread pool and return the worker.

    ``relay`` receives the job's progress in the worker thread: either a
    plain callable such as :class:`~napari_segkit._progress.LatestProgress`
    (which a GUI timer polls: see :mod:`._progress_pump`; no Qt call per
    report), or a :func:`ProgressRelay`, whose ``progressed`` signal Qt
    queues to the GUI thread once per report.  ``on_returned`` gets
    the :class:`~._jobs.JobResult`; ``on_errored`` an unexpected exception
    (also shown as a napari notification with its traceback, as are warnings
    the job issues); ``on_finished`` runs last in every case.
    """
    from napari.qt.threading import create_worker

    _, worker_class = _qt_parts()

    if hasattr(relay, "progressed"):
        def emit(fraction: float, message: str) -> None:
            relay.progressed.emit(float(fraction), str(message))
    else:
        emit = relay

    return create_worker(
        run_job,
        job,
        progress=emit,
        _worker_class=worker_class,
        _connect={"returned": on_returned, "errored": on_errored, "finished": on_finished},
        _start_thread=True,
    )


def install_close_filter(widget: Any, on_close, on_unparented):
    """Call ``on_close`` when ``widget`` is closed, ``on_unparented`` when taken out of its dock."""
    from qtpy.QtCore import QEvent, QObject

    class _CloseFilter(QObject):
        def eventFilter(self, obj, event):  # noqa: N802 (Qt's name)
            kind = event.type()
            if kind == QEvent.Type.Close:
                on_close()
            elif kind == QEvent.Type.ParentChange and obj.parent() is None:
                on_unparented()
            return False

    close_filter = _CloseFilter(widget)
    widget.installEventFilter(close_filter)
    return close_filter
