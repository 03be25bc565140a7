"""Handing freed memory back to the operating system between large work units.

glibc's malloc keeps freed blocks for reuse, and after a large block is freed
it raises its threshold for serving big requests from fresh mappings, so the
activations of one tile, freed, can stay in the process as resident memory
spread over the worker threads' arenas.  Over many blocks that makes the
resident size grow with the number of blocks processed rather than with the
block size.  :func:`trim_freed_memory` asks the allocator to return free pages
after each block (``malloc_trim``, as dask.distributed's workers do); it is a
no-op where the C library has no such call (macOS, Windows, musl).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import lru_cache
from typing import Callable, Optional

__all__ = ["trim_freed_memory"]


@lru_cache(maxsize=1)
def _malloc_trim() -> Optional[Callable[[int], int]]:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def trim_freed_memory() -> bool:
    """Return the allocator's free pages to the system; True if it could try."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
