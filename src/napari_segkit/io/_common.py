"""Pieces every reader and writer shares: formats, path checks, the memory budget."""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .._errors import InputError, ResourceLimitError

__all__ = [
    "ImageData",
    "PathLike",
    "READ_FORMATS",
    "WRITE_FORMATS",
    "OutputExistsError",
    "check_declared_bytes",
    "detect_format",
    "format_bytes",
    "memory_budget",
    "partial_path",
    "spacing_list",
    "spatial_spacing",
    "valid_spacing",
]

logger = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]

#: file name endings and the format each is read as
READ_FORMATS = {".tif": "tiff", ".tiff": "tiff", ".zarr": "zarr", ".npy": "npy"}
#: formats ``write_labels`` writes (the same set)
WRITE_FORMATS = dict(READ_FORMATS)


@dataclass(frozen=True)
class ImageData:
    """An image read from a file, with what the file says about it.

    Attributes
    ----------
    array : ndarray
        The pixels (for ``.npy`` a read-only memory map).
    spacing : tuple of float or None
        Physical pixel size of the spatial axes (the ``Z``, ``Y``, ``X``
        letters of ``axes``, in that order), or None when the file does not
        say.
    axes : str or None
        One letter per axis of ``array`` (e.g. ``'ZYX'``, ``'TCYX'``) when the
        file says, else None.
    source : str
        What was read: path, format, series and level.
    unit : str or None
        Unit of ``spacing`` when the file names one.
    metadata : mapping
        What napari-segkit recorded in the file when it wrote it (command,
        parameters, version); empty for other files.
    """

    array: Any
    spacing: Optional[Tuple[float, ...]]
    axes: Optional[str]
    source: str
    unit: Optional[str] = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


class OutputExistsError(InputError, FileExistsError):
    """The output already exists and overwriting was not asked for.

    Both an :class:`~napari_segkit.InputError` (the CLI exits with 2) and a
    :class:`FileExistsError`, so ``except FileExistsError`` works too.
    """


def format_bytes(n: float) -> str:
    """Return ``n`` bytes in human units, e.g. ``'1.50 GB'``."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1000.0
    return f"{n:.2f} PB"  # pragma: no cover


def detect_format(path: PathLike, *, name: str = "path", table: Optional[dict] = None) -> str:
    """Return ``'tiff'``, ``'zarr'`` or ``'npy'`` from the file name ending.

    Raises
    ------
    InputError
        If the ending is not one of the supported ones (listed in the message).
    """
    table = READ_FORMATS if table is None else table
    suffix = Path(os.fspath(path).rstrip("/\\")).suffix.lower()
    if suffix not in table:
        supported = ", ".join(sorted(table))
        shown = f"'{suffix}'" if suffix else "no extension"
        raise InputError(
            f"{name} '{os.fspath(path)}' has {shown}; supported formats: {supported}"
        )
    return table[suffix]


def memory_budget(memory_limit: Optional[int] = None) -> int:
    """Bytes a read may allocate: ``memory_limit``, or 80 % of available memory."""
    if memory_limit is not None:
        if isinstance(memory_limit, bool) or not isinstance(memory_limit, (int, np.integer)):
            raise InputError(f"memory_limit must be an integer number of bytes, got {memory_limit!r}")
        if memory_limit <= 0:
            raise InputError(f"memory_limit must be positive, got {memory_limit!r}")
        return int(memory_limit)
    from ..graph.memory import MEMORY_FRACTION, available_memory

    return int(MEMORY_FRACTION * available_memory())


def check_declared_bytes(
    path: PathLike,
    shape: Sequence[int],
    dtype: np.dtype,
    *,
    memory_limit: Optional[int],
    what: str = "image",
) -> int:
    """Refuse data whose declared size exceeds the memory budget, before reading it.

    Parameters
    ----------
    path : path-like
        The file, named in the message.
    shape : sequence of int
        Declared shape (of the whole array, or of one tile or chunk).
    dtype : numpy dtype
        Declared data type.
    memory_limit : int, optional
        Bytes allowed; default 80 % of the memory available now.
    what : str
        What the shape describes (``'image'``, ``'chunk'``), for the message.

    Returns
    -------
    int
        The declared number of bytes.

    Raises
    ------
    ResourceLimitError
        If the declared bytes exceed the budget.
    """
    nbytes = math.prod(int(s) for s in shape) * np.dtype(dtype).itemsize
    limit = memory_budget(memory_limit)
    if nbytes > limit:
        raise ResourceLimitError(
            f"'{os.fspath(path)}' declares {what} shape {tuple(int(s) for s in shape)} "
            f"and dtype {np.dtype(dtype)} ({format_bytes(nbytes)}), more than the "
            f"{format_bytes(limit)} of memory allowed; crop or downsample it, or raise "
            "the memory limit if the machine has the memory"
        )
    return nbytes


def partial_path(path: Path, tag: str = "partial") -> Path:
    """Temporary sibling of ``path``: ``<name>.<tag>-<pid>`` in the same directory."""
    return path.with_name(f"{path.name}.{tag}-{os.getpid()}")


def spatial_spacing(
    axes: Optional[str], values: dict
) -> Optional[Tuple[float, ...]]:
    """Spacing for the Z, Y, X axes present in ``axes``, in that order.

    ``values`` maps ``'Z'``, ``'Y'``, ``'X'`` to a size or None.  Returns None
    unless every spatial axis in ``axes`` has a positive finite size.
    """
    if not axes:
        return None
    letters = [a for a in axes.upper() if a in "ZYX"]
    if len(letters) < 2:
        return None
    out = []
    for letter in letters:
        value = values.get(letter)
        try:
            value = float(value)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(value) or value <= 0:
            return None
        out.append(value)
    return tuple(out)


def spacing_list(spacing: Optional[Sequence[float]]) -> Optional[list]:
    """``spacing`` as a JSON-ready list of floats (or None)."""
    return None if spacing is None else [float(v) for v in spacing]


def valid_spacing(value, *, source: str) -> Optional[Tuple[float, ...]]:
    """Return ``value`` as a spacing tuple if it is a list of positive numbers, else None."""
    if not isinstance(value, (list, tuple)) or not value:
        return None
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        logger.warning("ignoring spacing %r in %s: not numbers", value, source)
        return None
    if not all(math.isfinite(v) and v > 0 for v in out):
        logger.warning("ignoring spacing %r in %s: not positive and finite", value, source)
        return None
    return out
