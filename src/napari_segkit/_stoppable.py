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
from typing import Any, Callable, Iterator, Optional, Tuple

__all__ = ["call_stoppable", "child_processes_supported", "run_in_child", "StoppedProcessError"]

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


def _stop(process) -> None:
    """Terminate ``process`` if it still runs (kill it if it ignores that)."""
    if process.is_alive():
        process.terminate()
        process.join(1.0)
        if process.is_alive():
            process.kill()
            process.join(1.0)


def _receive(process, receiver, poll: float, idle: Callable[[], None], who: str) -> Iterator[Any]:
    """The messages ``process`` sends through ``receiver``, in order.

    ``idle()`` is called every ``poll`` seconds without a message (it may
    raise to stop waiting); a process that ends, or closes its end, without
    sending raises :class:`StoppedProcessError` naming ``who``.
    """
    while True:
        if receiver.poll(poll):
            try:
                message = receiver.recv()
            except EOFError:
                process.join(5)
                raise StoppedProcessError(
                    f"{who} ended without a result (exit code {process.exitcode})"
                ) from None
            yield message
        else:
            idle()
            if not process.is_alive() and not receiver.poll(0):
                raise StoppedProcessError(f"{who} ended without a result (exit code {process.exitcode})")


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
    if multiprocessing.current_process().daemon:
        # already in a job's child process (see run_in_child), which is itself stoppable
        return function(*args, **kwargs)
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, function, args, kwargs), daemon=True)
    start = time.monotonic()
    process.start()
    sender.close()

    def idle() -> None:
        if check is not None:
            check(time.monotonic() - start)

    try:
        for ok, value in _receive(process, receiver, poll, idle, "the worker process"):
            process.join(5)
            if ok:
                return value
            raise value
    finally:
        receiver.close()
        _stop(process)


#: a job run by :func:`run_in_child` lowers its priority by this much (os.nice), so the GUI goes first
CHILD_NICENESS = 10


def child_processes_supported() -> bool:
    """Whether :func:`run_in_child` can fork here (Linux; other systems run jobs in a thread)."""
    import sys

    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def _fresh_dask_pool() -> None:
    """After a fork, give dask new threads (the parent's pool threads do not exist in the child)."""
    import sys

    if "dask" not in sys.modules:
        return
    import os
    from concurrent.futures import ThreadPoolExecutor

    import dask

    dask.config.set(pool=ThreadPoolExecutor(os.cpu_count() or 1))


def _job_child(connection, compute, niceness: int, interval: float) -> None:
    import os
    import warnings

    try:
        os.nice(niceness)
    except OSError:  # pragma: no cover - not allowed here
        pass
    _fresh_dask_pool()
    from ._threads import reset_after_fork

    reset_after_fork()
    last = [-float("inf")]

    def progress(fraction: float, message: str = "") -> None:
        now = time.monotonic()
        if fraction < 1.0 and now - last[0] < interval:
            return
        last[0] = now
        connection.send(("progress", float(fraction), str(message)))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = ("result", True, compute(progress))
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
            result = ("result", False, exc)
    for warning in caught:
        try:
            connection.send(("warning", warning.message, warning.category))
        except Exception:  # noqa: BLE001 - an unpicklable warning is dropped
            pass
    try:
        connection.send(result)
    except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result
        connection.send(("result", False, RuntimeError(f"the job's result could not be sent back: {exc}")))
    finally:
        connection.close()


def run_in_child(
    compute: Callable[[Callable[[float, str], None]], Any],
    progress: Callable[[float, str], None],
    *,
    poll: float = 0.1,
    niceness: int = CHILD_NICENESS,
    preload: Tuple[str, ...] = (),
) -> Any:
    """``compute(progress)`` in a forked child process at lower priority; stopped when ``progress`` raises.

    The child sends its progress (at most every ``poll`` seconds) and its
    warnings back; they are passed to ``progress`` and re-issued here.
    ``progress`` is also called every ``poll`` seconds with the last
    fraction and an empty message, so a cancel (``progress`` raising) stops
    the child within about ``poll`` seconds even while it reports nothing.
    ``compute`` may be a closure (the child is a fork); it must not touch Qt
    nor rely on changing state in this process (such changes stay in the child).
    The result and exceptions come back pickled.  ``preload`` names modules
    imported here first, so that the child (which forgets everything when it
    ends) does not import them again on every run.
    """
    import importlib
    import warnings

    for name in preload:
        importlib.import_module(name)

    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_job_child, args=(sender, compute, niceness, poll / 2), daemon=True)
    process.start()
    sender.close()
    fraction = 0.0
    try:
        for message in _receive(process, receiver, poll, lambda: progress(fraction, ""), "the job's process"):
            kind = message[0]
            if kind == "progress":
                fraction = message[1]
                progress(message[1], message[2])
            elif kind == "warning":
                warnings.warn(message[1], message[2], stacklevel=2)
            else:
                process.join(5)
                if message[1]:
                    return message[2]
                raise message[2]
    finally:
        receiver.close()
        _stop(process)
