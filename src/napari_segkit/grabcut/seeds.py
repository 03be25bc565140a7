"""The scribble convention of GrabCut: 1 = definitely object, 2 = definitely background.

Seeds are a Labels-style integer array (0 = no scribble), with the image's
shape without the channel axis, or the spatial shape alone (then the same
scribbles apply to every frame).  They are hard constraints: a pixel marked 1
is in the object of the box it lies in, a pixel marked 2 is in none.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from .._errors import InputError
from .._seeds import seed_array

__all__ = ["OBJECT", "BACKGROUND", "check_grabcut_seeds"]

OBJECT = 1
BACKGROUND = 2


def check_grabcut_seeds(
    seeds: Any,
    *,
    full_shape: Tuple[int, ...],
    spatial_shape: Tuple[int, ...],
    name: str = "seeds",
) -> Optional[np.ndarray]:
    """Validate scribbles; return them as uint8 (0, 1, 2) or None when all zero.

    A bool array counts as object scribbles (True = 1).

    Raises
    ------
    InputError
        Float dtype, wrong shape, or values other than 0, 1 and 2 (the
        message lists the values found).
    """
    if seeds is None:
        return None
    array = seed_array(seeds, full_shape=full_shape, spatial_shape=spatial_shape, name=name,
                       meaning=f"0 = none, {OBJECT} = object, {BACKGROUND} = background")
    if array.dtype.kind == "b":
        return array.astype(np.uint8)
    values = np.unique(array)
    unexpected = values[(values != 0) & (values != OBJECT) & (values != BACKGROUND)]
    if unexpected.size:
        shown = ", ".join(str(v) for v in unexpected[:10].tolist()) + (" ..." if unexpected.size > 10 else "")
        raise InputError(
            f"{name} hold value(s) {shown}; GrabCut seeds use 0 = none, {OBJECT} = definitely object, "
            f"{BACKGROUND} = definitely background (found {values.tolist()[:12]})"
        )
    if values.size == 1 and values[0] == 0:
        return None
    return array.astype(np.uint8)
