"""Progress from a worker thread to the GUI at a bounded rate, and into napari's Activity dock.

The worker never talks to Qt: its progress callback is a
:class:`~napari_segkit._progress.LatestProgress`, which only stores the
newest report.  A :class:`ProgressPump` polls it with a GUI-thread timer
(10 times a second by default) and hands each new report to the widget and
to a napari progress bar in the Activity dock, so a job that reports every
millisecond (one dask task, one box, one iteration) costs the GUI at most
ten small updates a second.

napari's Activity bar is costly on the GUI thread: creating one and every
change of its value or description call ``QApplication.processEvents()``
(napari 0.9), which repaints the window (65-150 ms to create one at load 5
under Xvfb).  So the bar is created only once a job has run
:data:`ACTIVITY_DELAY_MS` (a live re-cut or a short job never gets one) and
is updated at most every :data:`ACTIVITY_INTERVAL_MS`.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

from .._progress import LatestProgress

__all__ = ["ACTIVITY_DELAY_MS", "ACTIVITY_INTERVAL_MS", "PUMP_INTERVAL_MS", "ProgressPump", "set_bar_value"]

#: the widget shows progress at most this often
PUMP_INTERVAL_MS = 100
#: a job appears in the Activity dock once it has run this long
ACTIVITY_DELAY_MS = 500
#: the Activity dock's bar is updated at most this often
ACTIVITY_INTERVAL_MS = 500

_STEPS = 1000


def set_bar_value(bar: Any, value: int) -> None:
    """Move a progress bar (magicgui ``ProgressBar`` or ``QProgressBar``) without a synchronous repaint.

    ``QProgressBar.setValue`` repaints at once whenever the drawn bar changes;
    in a napari window that means composing the whole window, OpenGL canvas
    included (40-135 ms at load 9 under Xvfb), inside the caller's event-loop
    turn.  With updates held off during ``setValue`` the repaint is queued
    instead and merged with the window's next one.  ``valueChanged`` is still
    emitted.
    """
    native = getattr(bar, "native", bar)
    value = int(value)
    if native.value() == value:
        return
    native.setUpdatesEnabled(False)
    try:
        native.setValue(value)
    finally:
        native.setUpdatesEnabled(True)
    native.update()


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
    activity_delay_ms : int
        The job enters the Activity dock after running this long.
    activity_interval_ms : int
        Least time between two updates of the Activity dock's bar.
    """

    def __init__(self, parent: Any, on_update: Callable[[float, str], None], *,
                 interval_ms: int = PUMP_INTERVAL_MS, activity: bool = True,
                 activity_delay_ms: int = ACTIVITY_DELAY_MS,
                 activity_interval_ms: int = ACTIVITY_INTERVAL_MS) -> None:
        from qtpy.QtCore import QTimer

        self.latest = LatestProgress()
        self._on_update = on_update
        self._activity = activity
        self._activity_delay = activity_delay_ms / 1000.0
        self._activity_interval = activity_interval_ms / 1000.0
        self._bar = None
        self._description = ""
        self._on_cancel: Optional[Callable[[], Any]] = None
        self._started = 0.0
        self._bar_updated = 0.0
        self._last: Optional[tuple] = None
        self._job = 0  # counts starts: tells a bar made during a nested event loop it is too late
        #: updates handed to the GUI since the last start (tests, benchmarks)
        self.updates = 0
        self.timer = QTimer(parent)
        self.timer.setInterval(int(interval_ms))
        self.timer.timeout.connect(self.pump)

    @property
    def activity_bar(self):
        """The napari progress bar of the running job (None when idle, disabled or not yet shown)."""
        return self._bar

    def start(self, description: str, on_cancel: Optional[Callable[[], Any]] = None) -> LatestProgress:
        """Begin a job: reset and start polling; return the callback.

        The job enters the Activity dock once it has run ``activity_delay_ms``.
        """
        self.stop(flush=False)
        self.latest.reset()
        self.updates = 0
        self._description, self._on_cancel = description, on_cancel
        self._started, self._last = time.perf_counter(), None
        self._job += 1
        self.timer.start()
        if self._activity and self._activity_delay <= 0:
            self._show_activity()
        return self.latest

    def _show_activity(self) -> None:
        """Create the job's bar in the Activity dock.

        napari runs the event loop while it makes the bar, so the job may end
        (and :meth:`stop` run) before this returns: the bar is then closed.
        """
        job = self._job
        self._bar_updated = 0.0
        try:
            bar = _activity_bar(self._description, self._on_cancel)
        except Exception:  # noqa: BLE001 - the Activity dock is a nicety, never a failure
            return
        if self._job != job or not self.timer.isActive():
            bar.close()
            return
        self._bar = bar

    def _update_activity(self, now: float) -> None:
        """Bring the Activity bar to the newest report, at most every ``activity_interval_ms``."""
        if self._bar is None:
            if not self._activity or now - self._started < self._activity_delay:
                return
            self._show_activity()
        bar = self._bar
        if bar is None or self._last is None or now - self._bar_updated < self._activity_interval:
            return
        fraction, message = self._last
        self._bar_updated = now
        try:
            step = int(round(_STEPS * min(max(fraction, 0.0), 1.0)))
            if message and message != bar.desc:
                bar.set_description(message)
            if step != bar.n:
                bar.update(step - bar.n)
        except Exception:  # noqa: BLE001
            pass

    def pump(self) -> None:
        """Hand the newest report, if any, to the widget; keep the Activity bar in step."""
        item = self.latest.take()
        now = time.perf_counter()
        if item is not None:
            self._last = item
        self._update_activity(now)
        if item is None:
            return
        fraction, message = item
        self.updates += 1
        self._on_update(fraction, message)

    def stop(self, flush: bool = True) -> None:
        """End a job: stop polling (after one last update when ``flush``) and close the Activity bar."""
        try:
            self.timer.stop()
        except RuntimeError:  # Qt object already deleted
            pass
        if flush:
            try:
                item = self.latest.take()
                if item is not None:
                    self.updates += 1
                    self._on_update(*item)
            except RuntimeError:
                pass
        self._on_cancel, self._last = None, None
        self._job += 1
        bar, self._bar = self._bar, None
        if bar is not None:
            try:
                bar.close()
            except Exception:  # noqa: BLE001
                pass
