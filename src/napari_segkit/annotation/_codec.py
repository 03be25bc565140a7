"""Compact, exact encodings of masks and label arrays for the annotation record.

A mask is stored as its bounding box plus the bits inside it (``np.packbits``,
zlib, base64), so a record of thousands of objects stays a small JSON file and
decodes to exactly the pixels that were written.  Checksums let a replay prove
that it rebuilt the very same labels.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

__all__ = ["bbox", "decode_mask", "encode_mask", "labels_checksum"]


def bbox(mask: np.ndarray) -> Tuple[slice, ...]:
    """The smallest box (tuple of slices) holding every True pixel of ``mask`` (empty mask: empty box)."""
    if not mask.any():
        return tuple(slice(0, 0) for _ in mask.shape)
    out = []
    for axis in range(mask.ndim):
        other = tuple(a for a in range(mask.ndim) if a != axis)
        hit = np.flatnonzero(mask.any(axis=other))
        out.append(slice(int(hit[0]), int(hit[-1]) + 1))
    return tuple(out)


def encode_mask(mask: np.ndarray) -> Dict[str, Any]:
    """``{"start": [...], "shape": [...], "bits": "<base64>"}`` for a boolean mask."""
    mask = np.asarray(mask, dtype=bool)
    box = bbox(mask)
    crop = mask[box]
    bits = zlib.compress(np.packbits(crop.ravel()).tobytes(), 6)
    return {
        "start": [int(s.start) for s in box],
        "shape": [int(s.stop - s.start) for s in box],
        "bits": base64.b64encode(bits).decode("ascii"),
    }


def decode_mask(code: Dict[str, Any], shape: Sequence[int]) -> Tuple[Tuple[slice, ...], np.ndarray]:
    """``(box, crop)``: the box in an array of ``shape`` and the mask inside it."""
    start = [int(s) for s in code["start"]]
    size = [int(s) for s in code["shape"]]
    if len(start) != len(shape) or any(a < 0 or a + n > s for a, n, s in zip(start, size, shape)):
        raise ValueError(f"mask box {start}+{size} does not fit an image of shape {tuple(shape)}")
    count = int(np.prod(size)) if size else 0
    raw = np.frombuffer(zlib.decompress(base64.b64decode(code["bits"])), dtype=np.uint8)
    crop = np.unpackbits(raw, count=count).astype(bool).reshape(size)
    return tuple(slice(a, a + n) for a, n in zip(start, size)), crop


def labels_checksum(*arrays: np.ndarray) -> str:
    """A short sha256 over the arrays' shapes, dtypes and bytes."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(repr((array.shape, array.dtype.str)).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()[:16]


def box_slices(box: Any, shape: Sequence[int], name: str = "box") -> Tuple[slice, ...]:
    """Slices from a box given as ``(start, stop)`` corner lists (stop exclusive), clipped to ``shape``."""
    from .._errors import InputError

    try:
        start, stop = (list(map(float, corner)) for corner in box)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be two corners (start, stop) of {len(shape)} numbers each, got {box!r}") from None
    if len(start) != len(shape) or len(stop) != len(shape):
        raise InputError(f"{name} corners must have {len(shape)} coordinates (image shape {tuple(shape)}), got {box!r}")
    if not all(np.isfinite(start + stop)):
        raise InputError(f"{name} has a non-finite coordinate: {box!r}")
    out: List[slice] = []
    for a, b, s in zip(start, stop, shape):
        lo, hi = sorted((a, b))
        lo, hi = max(0, int(np.floor(lo))), min(int(s), int(np.ceil(hi)))
        if hi <= lo:
            raise InputError(f"{name} {box!r} lies outside the image of shape {tuple(shape)} or is empty")
        out.append(slice(lo, hi))
    return tuple(out)
