"""Progress reporting for the headless core.

The core never imports napari.  Long functions accept ``progress``, a callable
``progress(fraction, message)`` with ``fraction`` in [0, 1].  A callback that
wants to cancel the job raises :class:`~napari_segkit.Cancelled`; the core
calls the callback between steps (frames, expansion moves), so a cancel takes
effect at the next step.  A max-flow computation itself cannot be interrupted.

A callback may be called very often (once per dask task, per box, per
iteration): it must be cheap.  :class:`LatestProgress` is the receiving end
that costs almost nothing: the computing thread only stores the newest
``(fraction, message)`` under a lock, and a reader (a GUI timer, a log line
every few seconds) takes it at its own pace, so any number of reports
becomes at most one update per reader tick.  :func:`throttled` wraps a
callback so it is called at most every ``interval`` seconds (plus the first
and the last report).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
from typing import Callable, Optional, Protocol, Tuple

__all__ = ["LONG_JOB_SECONDS", "LatestProgress", "ProgressCallback", "Reporter", "announce_estimate",
           "check_cancelled", "checking", "duration", "log_progress", "throttled"]

#: a job estimated to take at least this long also says so as a warning on the package's logger
#: (printed on stderr even when logging is not configured) before it starts
LONG_JOB_SECONDS = 60.0
#: estimates shorter than this are not worth a word
SHORT_JOB_SECONDS = 1.0

#: the cancel check of the computation running in this thread (see :func:`checking`)
_CHECK: contextvars.ContextVar = contextvars.ContextVar("napari_segkit_cancel_check", default=None)


@contextlib.contextmanager
def checking(check: Optional[Callable[[], None]]):
    """Within this block, :func:`check_cancelled` calls ``check`` (which may raise Cancelled).

    Lets code deep inside a computation (an eigensolver's inner loop) honour
    a cancel without a progress argument in every signature.
    """
    token = _CHECK.set(check)
    try:
        yield
    finally:
        _CHECK.reset(token)


def check_cancelled() -> None:
    """Call the cancel check set by :func:`checking`, if any (cheap; may raise Cancelled)."""
    check = _CHECK.get()
    if check is not None:
        check()

logger = logging.getLogger(__name__)


def duration(seconds: float) -> str:
    """``'about 40 s'``, ``'about 3 min'``, ``'about 2.5 h'``: an estimate in words."""
    if seconds < 90:
        return f"about {seconds:.0f} s"
    if seconds < 5400:
        return f"about {seconds / 60:.0f} min"
    return f"about {seconds / 3600:.1f} h"


def announce_estimate(report: Callable[[float, str], None], seconds: float, *, method: str, what: str,
                      advice: str = "") -> None:
    """Say how long a job should take, before it starts.

    From :data:`SHORT_JOB_SECONDS` on, the first progress message carries
    the estimate (``"normalized_cut: pixel graph of 262,144 nodes, about
    9 min (estimate)"``); from :data:`LONG_JOB_SECONDS` on, the same text
    (with ``advice``, what would make it faster) is also a warning on the
    package's logger, so a script without a progress callback hears of it.
    Costs nothing beyond the caller's arithmetic.

    Parameters
    ----------
    report : callable
        The job's progress callback or :class:`Reporter` (called at 0).
    seconds : float
        The estimate: the method's measured cost per unit times the units.
    method, what : str
        The public function and what it is about to do, for the message.
    advice : str
        How to make it faster, added to the warning.
    """
    if seconds < SHORT_JOB_SECONDS:
        return
    text = f"{method}: {what}, {duration(seconds)} (estimate)"
    if seconds >= LONG_JOB_SECONDS:
        logger.warning("%s%s", text, f"; {advice}" if advice else "")
    report(0.0, text)


class ProgressCallback(Protocol):
    def __call__(self, fraction: float, message: str) -> None:  # pragma: no cover
        ...


def log_progress(fraction: float, message: str) -> None:
    """A progress callback that writes to this package's logger."""
    logger.info("%3.0f%% %s", 100.0 * fraction, message)


class Reporter:
    """Maps the steps of sub-tasks onto one overall [0, 1] progress range.

    Parameters
    ----------
    callback : callable or None
        ``callback(fraction, message)``; None reports nothing.
    start, stop : float
        The part of the caller's range this reporter covers.
    """

    def __init__(
        self,
        callback: Optional[Callable[[float, str], None]],
        start: float = 0.0,
        stop: float = 1.0,
    ) -> None:
        self._callback = callback
        self._start = float(start)
        self._stop = float(stop)
        self._last = [self._start]  # shared with sub-reporters: the overall fraction last reported

    def __call__(self, fraction: float, message: str) -> None:
        if self._callback is None:
            return
        fraction = min(max(float(fraction), 0.0), 1.0)
        overall = self._start + (self._stop - self._start) * fraction
        self._last[0] = overall
        self._callback(overall, message)

    def check(self) -> None:
        """Report the last fraction again with no message: a cancel check between reports."""
        if self._callback is not None:
            self._callback(self._last[0], "")

    def sub(self, start: float, stop: float) -> "Reporter":
        """A reporter for the part [start, stop] of this reporter's range."""
        span = self._stop - self._start
        child = Reporter(self._callback, self._start + span * start, self._start + span * stop)
        child._last = self._last
        return child


class LatestProgress:
    """A progress callback that keeps only the newest report, for a reader on another thread.

    Calling it (from any thread) stores ``(fraction, message)``; an empty
    message keeps the previous one.  :meth:`take` returns the newest report
    once (None when nothing new arrived since the last take), so a reader
    polling at 10 Hz shows at most 10 updates a second whatever the number
    of reports.

    Attributes
    ----------
    reports : int
        How many reports arrived in all (for tests and benchmarks).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fraction = 0.0
        self._message = ""
        self._fresh = False
        self.reports = 0

    def __call__(self, fraction: float, message: str = "") -> None:
        with self._lock:
            self._fraction = float(fraction)
            if message:
                self._message = str(message)
            self._fresh = True
            self.reports += 1

    def take(self) -> Optional[Tuple[float, str]]:
        """The newest ``(fraction, message)`` if it changed since the last take, else None."""
        with self._lock:
            if not self._fresh:
                return None
            self._fresh = False
            return self._fraction, self._message

    def reset(self) -> None:
        """Forget everything (a new job starts)."""
        with self._lock:
            self._fraction, self._message, self._fresh = 0.0, "", False
            self.reports = 0


def throttled(
    callback: Callable[[float, str], None], interval: float = 0.1
) -> Callable[[float, str], None]:
    """``callback`` called at most once per ``interval`` seconds (and always for fraction 1).

    Reports in between are dropped, except that the latest message is kept
    for the next call.  Safe to call from several threads.
    """
    lock = threading.Lock()
    state = {"last": -float("inf"), "message": ""}

    def report(fraction: float, message: str = "") -> None:
        now = time.monotonic()
        with lock:
            if message:
                state["message"] = message
            if fraction < 1.0 and now - state["last"] < interval:
                return
            state["last"] = now
            message = state["message"]
        callback(fraction, message)

    return report
