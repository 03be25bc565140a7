"""A lock file beside an output so two writers never write it at once."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import threading
import time
from pathlib import Path
from typing import Iterator, Optional, Tuple

__all__ = ["OutputLockedError", "lock_path", "output_lock", "remove_stale_leftovers"]

logger = logging.getLogger(__name__)

_TAG = "napari-segkit-lock"


class OutputLockedError(OSError):
    """Another process or thread is writing the same output."""


def lock_path(out: Path) -> Path:
    """The lock file of ``out``: ``<name>.lock`` in the same directory."""
    return out.with_name(out.name + ".lock")


def _owner(lock: Path) -> Optional[Tuple[int, int]]:
    """(pid, thread id) written in ``lock`` by :func:`output_lock`, or None if not ours."""
    try:
        text = lock.read_text(encoding="ascii", errors="replace")[:200].split()
    except OSError:
        return None
    if len(text) != 3 or text[0] != _TAG:
        return None
    try:
        return int(text[1]), int(text[2])
    except ValueError:
        return None


def _alive(pid: int) -> bool:
    import psutil

    return psutil.pid_exists(pid)


@contextlib.contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """Hold ``<out>.lock`` while writing ``out``.

    Re-entrant within one thread.  A lock left by a process that no longer
    runs (killed mid-write) is removed.

    Raises
    ------
    OutputLockedError
        If another live process or thread holds the lock, or a file of that
        name exists that napari-segkit did not make.
    """
    lock = lock_path(out)
    me = (os.getpid(), threading.get_ident())
    fd = _acquire(out, lock, me)
    if fd is None:  # this thread already holds it
        yield
        return
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(f"{_TAG} {me[0]} {me[1]}\n")
        remove_stale_leftovers(out)
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            if _owner(lock) == me:
                lock.unlink()


def _acquire(out: Path, lock: Path, me: Tuple[int, int]) -> Optional[int]:
    """Create ``lock`` exclusively; None if ``me`` holds it already."""
    for attempt in range(2):
        try:
            return os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            owner = _owner(lock)
        if owner == me:
            return None
        if owner is None and attempt == 0 and not lock.exists():
            continue  # released between our two looks
        if owner is None and attempt == 0 and _empty_and_old(lock):
            # a run killed between creating the lock and writing its owner
            logger.warning("removing empty stale lock '%s'", lock)
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
            continue
        if owner is None:
            raise OutputLockedError(
                f"lock file '{lock}' exists but was not made by napari-segkit; "
                "rename it or choose another output"
            )
        if attempt == 0 and not _alive(owner[0]):
            logger.warning("removing stale lock '%s' left by process %d", lock, owner[0])
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
            continue
        break
    raise OutputLockedError(
        f"output '{out}' is being written by process {owner[0]} (lock file '{lock}'); "
        "wait for it to finish, or delete the lock file if that process is gone"
    )


#: an empty lock file older than this was left by a run killed while creating it
_EMPTY_LOCK_SECONDS = 10.0
_LEFTOVER = re.compile(r"\.(partial|old)-(\d+)$")


def _empty_and_old(lock: Path) -> bool:
    try:
        info = lock.stat()
    except OSError:
        return False
    return info.st_size == 0 and time.time() - info.st_mtime > _EMPTY_LOCK_SECONDS


def remove_stale_leftovers(out: Path) -> list:
    """Remove temporary outputs and locks that killed runs left in ``out``'s folder.

    A file or folder named ``<name>.partial-<pid>`` or ``<name>.old-<pid>``
    (the temporary names of the atomic writers) whose process no longer
    runs, and a napari-segkit lock file whose owner no longer runs, are
    deleted with a warning naming them.  Anything else is left alone.
    Returns the paths removed.
    """
    removed = []
    try:
        entries = list(out.parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _LEFTOVER.search(entry.name)
        stale = False
        if match is not None:
            stale = int(match.group(2)) != os.getpid() and not _alive(int(match.group(2)))
        elif entry.name.endswith(".lock") and entry != lock_path(out):
            owner = _owner(entry)
            stale = (owner is not None and not _alive(owner[0])) or (owner is None and _empty_and_old(entry))
        if not stale:
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError as exc:
            logger.warning("could not remove '%s' left by a killed run: %s", entry, exc)
            continue
        removed.append(entry)
    if removed:
        logger.warning("removed %d file(s) left by killed runs in '%s': %s", len(removed), out.parent,
                       ", ".join(p.name for p in removed[:5]) + (" ..." if len(removed) > 5 else ""))
    return removed
