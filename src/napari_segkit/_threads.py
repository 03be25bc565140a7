"""How many threads the BLAS library may use, for a block of code.

On a machine with few cores shared with a GUI (or other jobs), a
multithreaded BLAS is often slower than one thread for the small dense
problems of this package (a 300 x 300 eigendecomposition took 100 ms with
two busy-waiting OpenBLAS threads and 16 ms with one, with the cores under
load), and its spinning threads take the CPU the GUI thread needs.
:func:`blas_threads` limits the BLAS thread pools (OpenBLAS, MKL, BLIS)
inside a ``with`` block through threadpoolctl; without threadpoolctl it
does nothing.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Iterator, Optional

__all__ = ["blas_threads", "gui_job_threads"]

_LOCK = threading.Lock()
_CONTROLLER = None
_DEPTH = [0]  # blocks inside a limit now
_LIMITER = [None]  # the active threadpoolctl limit, restored by the last block to leave


def _controller():
    global _CONTROLLER
    if _CONTROLLER is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - a dependency of scikit-learn
            _CONTROLLER = False
        else:
            _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


@contextlib.contextmanager
def blas_threads(n: Optional[int]) -> Iterator[None]:
    """Within the block, BLAS uses at most ``n`` threads (None: no change).

    The limit is process-wide (BLAS libraries have one pool); nested and
    concurrent blocks are counted so the first to enter sets it and the last
    to leave restores it.
    """
    if n is None:
        yield
        return
    with _LOCK:
        controller = _controller()
        limiter = None
        if controller and _DEPTH[0] == 0:
            _take_control()
            limiter = controller.limit(limits=max(int(n), 1), user_api="blas")
            _LIMITER[0] = limiter
        _DEPTH[0] += 1
    try:
        yield
    finally:
        with _LOCK:
            _DEPTH[0] -= 1
            if _DEPTH[0] == 0 and _LIMITER[0] is not None:
                _LIMITER[0].restore_original_limits()
                _LIMITER[0] = None



def _take_control() -> None:
    """Let this thread set OpenBLAS's limit (threadpoolctl lets only one thread do it, and a
    thread from Qt's pool is a dummy thread it cannot see end)."""
    try:
        from threadpoolctl import OpenBLASController
    except ImportError:  # pragma: no cover
        return
    OpenBLASController.clear_controlling_thread(force=True)


def reset_after_fork() -> None:
    """In a forked child: forget the parent's limits and its controlling thread (copied, but dead here)."""
    import sys

    _DEPTH[0], _LIMITER[0] = 0, None
    module = sys.modules.get("threadpoolctl")
    if module is not None and hasattr(module, "OpenBLASController"):
        state = module.OpenBLASController._SHARED_STATE
        state.lock = threading.Lock()
        state.controlling_thread = None
        global _CONTROLLER
        _CONTROLLER = None
        # GNU OpenMP's worker threads are not copied by fork: a parallel region with more than
        # one thread would wait for them for ever; one thread runs it inline
        try:
            module.threadpool_limits(limits=1, user_api="openmp")
        except Exception:  # noqa: BLE001 - no OpenMP library loaded
            pass


def gui_job_threads() -> int:
    """BLAS threads for a job started from the GUI: all cores but one (at least one)."""
    return max((os.cpu_count() or 1) - 1, 1)
