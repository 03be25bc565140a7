"""Ctrl-C and SIGTERM while writing: stop at a safe point, leave nothing behind.

zarr-python 3 writes chunks from its own event-loop thread.  A
KeyboardInterrupt raised while the main thread waits for it lets that thread
go on writing into a temporary folder that the cleanup has just deleted, and
asyncio prints a traceback.  Inside :func:`deferred_stop` the two signals
only set a flag; the writers call :func:`check_stop` between blocks, where
no write is in flight, and the usual cleanup removes the temporary output.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator, List

__all__ = ["check_stop", "deferred_stop"]

_PENDING: List[List[int]] = []
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def deferred_stop() -> Iterator[None]:
    """Hold SIGINT/SIGTERM until :func:`check_stop` or the end of the block.

    Outside the main thread (where Python cannot set handlers) this does
    nothing.  A signal received during the block raises KeyboardInterrupt at
    the next :func:`check_stop`, or when the block ends.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: List[int] = []

    def hold(signum, frame):  # noqa: ANN001
        received.append(signum)

    old = {s: signal.signal(s, hold) for s in _SIGNALS}
    _PENDING.append(received)
    try:
        yield
    finally:
        _PENDING.remove(received)
        for s, handler in old.items():
            signal.signal(s, handler)
    if received:
        raise KeyboardInterrupt


def check_stop() -> None:
    """Raise KeyboardInterrupt if a signal arrived inside :func:`deferred_stop`."""
    if _PENDING and _PENDING[-1]:
        raise KeyboardInterrupt
