"""Memory options: byte counts such as ``"4G"``, the memory limit, the size of a resampled image."""

from __future__ import annotations

import re
from typing import Any, Optional, Sequence, Tuple

import numpy as np

from .._errors import InputError
from ._text import _describe
from .scalars import _real, check_int


_BYTE_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40, "p": 2**50}


def parse_byte_count(text: str, *, name: str = "memory_limit") -> int:
    """``'512M'``, ``'4G'``, ``'1.5GiB'``, ``'1000000'`` -> bytes (powers of 1024).

    Raises
    ------
    InputError
        If ``text`` is not a positive size with an optional k/M/G/T/P suffix.
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgtp]?)(?:i?b)?\s*", str(text), flags=re.IGNORECASE)
    if not match or float(match.group(1)) <= 0:
        raise InputError(
            f"{name} must be a positive size such as 4G, 512M or 1000000, got {_describe(text)}"
        )
    count = int(float(match.group(1)) * _BYTE_UNITS[match.group(2).lower()])
    if count < 1:
        raise InputError(f"{name} must be at least one byte, got {_describe(text)}")
    return count


def check_memory_limit(value: Any, *, name: str = "memory_limit") -> Optional[int]:
    """Return a memory limit in bytes, or None for "measure what is available".

    Accepts a positive whole number of bytes (Python or numpy, ``4e9`` too)
    or a string with a binary unit (``"4G"``, ``"512MiB"``).  Refuses NaN,
    infinities, zero, negatives, booleans and other strings.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return parse_byte_count(value, name=name)
    number = _real(value, name, "a number of bytes or a size such as '4G'")
    if not np.isfinite(number) or number < 1:
        raise InputError(
            f"{name} must be a positive, finite number of bytes (or a size such as '4G'), "
            f"got {_describe(value)}"
        )
    return check_int(int(number), name=name, low=1)


# --- options checked by name, once, at every public entry point ------------------------------


def check_resampled_size(
    shape: Sequence[int],
    factors: Sequence[float],
    *,
    spacing: Sequence[float],
    voxel_size: Sequence[float],
    n_values: int,
    memory_limit: Optional[int] = None,
) -> Tuple[int, ...]:
    """Refuse resampling an image to a model's voxel size when the result cannot fit.

    ``factors`` zoom ``shape`` (spatial axes) to the model's voxel size; the
    resampled image and its ``n_values`` float32 planes (channels and class
    probabilities) must fit in ``memory_limit`` (default: the memory
    available now).  Returns the resampled shape.

    Raises
    ------
    ResourceLimitError
        With the resampled shape, the bytes needed and the spacing ratio.
    """
    from .._errors import ResourceLimitError

    zoomed = tuple(max(1, int(round(s * f))) for s, f in zip(shape, factors))
    needed = float(np.prod([float(z) for z in zoomed])) * 4.0 * max(1, n_values) * 2
    if memory_limit is None:
        from ..graph.memory import available_memory

        memory_limit = available_memory()
    if needed > memory_limit:
        raise ResourceLimitError(
            f"spacing {tuple(spacing)} is {max(factors):.3g}x the model's voxel size "
            f"{tuple(voxel_size)}: resampling the image {tuple(shape)} to {zoomed} needs about "
            f"{needed / 2**30:.3g} GiB, more than the {memory_limit / 2**30:.3g} GiB available; "
            "check the spacing's unit or downsample the image"
        )
    return zoomed
