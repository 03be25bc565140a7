"""``.npy`` files: header checked before loading, never unpickled; metadata in a JSON sidecar."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any, BinaryIO, Dict, Optional, Tuple

import numpy as np

from .. import _json as safe_json
from .._errors import InputError, UnsafeFileError
from ._common import ImageData, check_declared_bytes, valid_spacing

__all__ = ["read_npy", "sidecar_path", "write_npy"]

logger = logging.getLogger(__name__)

_MAX_SIDECAR_BYTES = 2**20


def sidecar_path(path: Path) -> Path:
    """Where the metadata of ``path`` is kept: ``<name>.npy.json`` beside it."""
    return path.with_name(path.name + ".json")


def _header(path: Path) -> Tuple[Tuple[int, ...], np.dtype, int]:
    """Return (shape, dtype, data offset) from the ``.npy`` header."""
    fmt = np.lib.format
    with open(path, "rb") as fh:
        try:
            version = fmt.read_magic(fh)
            if version == (1, 0):
                shape, _, dtype = fmt.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, _, dtype = fmt.read_array_header_2_0(fh)
            else:
                shape, _, dtype = fmt._read_array_header(fh, version)
        except (ValueError, EOFError, AttributeError) as exc:
            raise InputError(f"'{path}' is not a valid .npy file: {exc}") from None
        return tuple(int(s) for s in shape), np.dtype(dtype), fh.tell()


def read_npy(path: Path, *, memory_limit: Optional[int]) -> ImageData:
    """Memory-map a ``.npy`` file read-only; see :func:`read_image`."""
    shape, dtype, offset = _header(path)
    if dtype.hasobject:
        raise UnsafeFileError(
            f"'{path}' holds an object array (dtype {dtype}); loading it would unpickle "
            "Python objects, so napari-segkit refuses it"
        )
    nbytes = math.prod(shape) * dtype.itemsize
    size = path.stat().st_size
    if offset + nbytes > size:
        raise InputError(
            f"'{path}' is truncated: its header declares shape {shape} and dtype {dtype} "
            f"({offset + nbytes:,} bytes) but the file has {size:,} bytes"
        )
    check_declared_bytes(path, shape, dtype, memory_limit=memory_limit)
    try:
        array = np.load(path, mmap_mode="r" if nbytes else None, allow_pickle=False)
    except ValueError as exc:
        raise InputError(f"could not read '{path}': {exc}") from None
    spacing, axes, unit, metadata = _read_sidecar(path, len(shape))
    return ImageData(array, spacing, axes, f"{path} (npy)", unit, metadata)


def _read_sidecar(path: Path, ndim: int):
    side = sidecar_path(path)
    if not side.is_file():
        return None, None, None, {}
    if side.stat().st_size > _MAX_SIDECAR_BYTES:
        logger.warning("ignoring '%s': larger than %d bytes", side, _MAX_SIDECAR_BYTES)
        return None, None, None, {}
    try:
        document = safe_json.loads(side.read_bytes(), where=f"sidecar '{side}'")
    except (ValueError, UnicodeDecodeError) as exc:
        logger.warning("ignoring '%s': not valid JSON (%s)", side, exc)
        return None, None, None, {}
    if not isinstance(document, dict) or "napari_segkit" not in document:
        return None, None, None, {}
    axes = document.get("axes")
    axes = axes if isinstance(axes, str) and len(axes) == ndim else None
    unit = document.get("unit") if isinstance(document.get("unit"), str) else None
    metadata = document["napari_segkit"] if isinstance(document["napari_segkit"], dict) else {}
    return valid_spacing(document.get("spacing"), source=str(side)), axes, unit, dict(metadata)


def write_npy(fh: BinaryIO, labels: np.ndarray) -> None:
    """Write ``labels`` to the open binary file ``fh`` (no pickles)."""
    np.lib.format.write_array(fh, np.asanyarray(labels), allow_pickle=False)


def sidecar_bytes(document: Dict[str, Any]) -> bytes:
    """The sidecar's content for ``document``."""
    return (json.dumps(document, indent=2) + "\n").encode("utf-8")
