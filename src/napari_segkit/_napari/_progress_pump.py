"""Progress from a worker thread to the GUI at a bounded rate, and into napari's Activity dock.

The worker never talks to Qt: its progress callback is a
:class:`~napari_segkit._progress.LatestProgress`, which only stores the
newest report.  A :class:`ProgressPump` polls it with a GUI-thread timer
(10 times a second by default) and hands each new report to the widget and
to a napari progress bar in the Activity dock, so a job that reports every
millisecond (one dask task, one box, one iteration) costs the GUI at most
ten small updates a second.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from .._progress import LatestProgress

__all__ = ["PUMP_INTERVAL_MS", "ProgressPump"]

#: the widget and the Activity dock show progress at most this often
PUMP_INTERVAL_MS = 100

_STEPS = 1000


def _activity_bar(description: str, on_cancel: Optional[Callable[[], Any]]):
    """A napari progress bar (Activity dock) whose Cancel button calls ``on_cancel`` at once."""
    from napari.utils import cancelable_progress

    class _Bar(cancelable_progress):
        def cancel(self) -> None:  # napari only sets a flag read by iterating bars
            super().cancel()
            if self.cancel_callback is not None:
                self.cancel_callback()

    return _Bar(total=_STEPS, desc=description, cancel_callback=on_cancel, leave=False)


class ProgressPump:
    """Polls a :class:`LatestProgress` on the GUI thread while a job runs.

    Parameters
    ----------
    parent : QObject
        Owner of the timer (the widget's native widget).
    on_update : callable
        ``on_update(fraction, message)`` on the GUI thread, at most once per tick.
    interval_ms : int
        Tick period.
    activity : bool
        Also show the job in napari's Activity dock.
    """

    def __init__(self, parent: Any, on_update: Callable[[float, str], None], *,
                 interval_ms: int = PUMP_INTERVAL_MS, activity: bool = True) -> None:
        from qtpy.QtCore import QTimer

        self.latest = LatestProgress()
        self._on_update = on_update
        self._activity = activity
        self._bar = None
        #: updates handed to the GUI since the last start (tests, benchmarks)
        self.updates = 0
        self.timer = QTimer(parent)
        self.timer.setInterval(int(interval_ms))
        self.timer.timeout.connect(self.pump)

    @property
    def activity_bar(self):
        """The napari progress bar of the running job (None when idle or disabled)."""
        return self._bar

    def start(self, description: str, on_cancel: Optional[Callable[[], Any]] = None) -> LatestProgress:
        """Begin a job: reset, show it in the Activity dock, start polling; return the callback."""
        self.stop(flush=False)
        self.latest.reset()
        self.updates = 0
        if self._activity:
            try:
                self._bar = _activity_bar(description, on_cancel)
            except Exception:  # noqa: BLE001 - the Activity dock is a nicety, never a failure
                self._bar = None
        self.timer.start()
        return self.latest

    def pump(self) -> None:
        """Hand the newest report, if any, to the widget and the Activity bar."""
        item = self.latest.take()
        if item is None:
            return
        fraction, message = item
        self.updates += 1
        bar = self._bar
        if bar is not None:
            try:
                step = int(round(_STEPS * min(max(fraction, 0.0), 1.0)))
                if message and message != bar.desc:
                    bar.set_description(message)
                if step != bar.n:
                    bar.update(step - bar.n)
            except Exception:  # noqa: BLE001
                pass
        self._on_update(fraction, message)

    def stop(self, flush: bool = True) -> None:
        """End a job: stop polling (after one last update when ``flush``) and close the Activity bar."""
        try:
            self.timer.stop()
        except RuntimeError:  # Qt object already deleted
            pass
        if flush:
            try:
                self.pump()
            except RuntimeError:
                pass
        bar, self._bar = self._bar, None
        if bar is not None:
            try:
                bar.close()
            except Exception:  # noqa: BLE001
                pass
