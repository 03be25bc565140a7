"""Run one long library call in a child process that a cancel stops at once.

Some library calls (scikit-image's SLIC on a large array) run for tens of
seconds in compiled code that never returns to Python, so a cancel flag is
only seen when they end.  :func:`call_stoppable` runs such a call in a
child process and, while waiting for its result, calls ``check()`` every
``poll`` seconds; when ``check`` raises (a progress callback raising
:class:`~napari_segkit.Cancelled`), the child is terminated and the
exception propagates, so a cancel takes effect within about ``poll``
seconds.  The child also never competes with the caller's threads for the
GIL.

Where the platform can fork (Linux) the child is a fork: it starts in
milliseconds, shares the arguments without copying them and never re-imports
the caller's main script; it runs only ``function`` (compiled library code)
and then exits.  Elsewhere it is spawned, and the function (defined at
module level) and its arguments are pickled.  The result comes back through
a pipe.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from typing import Any, Callable, Optional

__all__ = ["call_stoppable", "StoppedProcessError"]

_CONTEXT_LOCK = threading.Lock()
_CONTEXT = None


class StoppedProcessError(RuntimeError):
    """The child process died without returning a result (killed, out of memory)."""


def _context():
    global _CONTEXT
    with _CONTEXT_LOCK:
        if _CONTEXT is None:
            methods = multiprocessing.get_all_start_methods()
            _CONTEXT = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        return _CONTEXT


def _child(connection, function, args, kwargs) -> None:
    try:
        result = (True, function(*args, **kwargs))
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
        result = (False, exc)
    try:
        connection.send(result)
    finally:
        connection.close()


def call_stoppable(
    function: Callable[..., Any],
    *args: Any,
    check: Optional[Callable[[float], None]] = None,
    poll: float = 0.1,
    **kwargs: Any,
) -> Any:
    """``function(*args, **kwargs)`` in a child process, stopped when ``check`` raises.

    Parameters
    ----------
    function : callable
        A module-level function (pickled by reference).
    *args, **kwargs
        Its arguments (pickled).
    check : callable, optional
        ``check(elapsed_seconds)``, called every ``poll`` seconds while the
        child runs; whatever it raises stops the child and propagates.
    poll : float
        Seconds between checks.

    Raises
    ------
    StoppedProcessError
        The child ended without a result.
    """
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, function, args, kwargs), daemon=True)
    start = time.monotonic()
    process.start()
    sender.close()
    try:
        while True:
            if receiver.poll(poll):
                try:
                    ok, value = receiver.recv()
                except EOFError:
                    process.join(5)
                    raise StoppedProcessError(
                        f"the worker process ended without a result (exit code {process.exitcode})"
                    ) from None
                process.join(5)
                if ok:
                    return value
                raise value
            if check is not None:
                check(time.monotonic() - start)
            if not process.is_alive() and not receiver.poll(0):
                raise StoppedProcessError(
                    f"the worker process ended without a result (exit code {process.exitcode})"
                )
    finally:
        receiver.close()
        if process.is_alive():
            process.terminate()
            process.join(1.0)
            if process.is_alive():
                process.kill()
                process.join(1.0)
