"""Progress reporting for the headless core.

The core never imports napari.  Long functions accept ``progress``, a callable
``progress(fraction, message)`` with ``fraction`` in [0, 1].  A callback that
wants to cancel the job raises :class:`~napari_segkit.Cancelled`; the core
calls the callback between steps (frames, expansion moves), so a cancel takes
effect at the next step.  A max-flow computation itself cannot be interrupted.
"""

from __future__ import annotations

import logging
from typing import Callable, Optional, Protocol

__all__ = ["ProgressCallback", "Reporter", "log_progress"]

logger = logging.getLogger(__name__)


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

    def __call__(self, fraction: float, message: str) -> None:
        if self._callback is None:
            return
        fraction = min(max(float(fraction), 0.0), 1.0)
        self._callback(self._start + (self._stop - self._start) * fraction, message)

    def sub(self, start: float, stop: float) -> "Reporter":
        """A reporter for the part [start, stop] of this reporter's range."""
        span = self._stop - self._start
        return Reporter(
            self._callback, self._start + span * start, self._start + span * stop
        )
