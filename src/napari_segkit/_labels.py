"""Label-array conventions: integer dtypes wide enough for the ids, 0 = background."""

from __future__ import annotations

import numpy as np

__all__ = ["label_dtype"]


def label_dtype(max_id: int, min_id: int = 0) -> np.dtype:
    """Return int32 when every id fits in it, else int64.

    Raises
    ------
    OverflowError
        If an id does not fit in int64.
    """
    info32 = np.iinfo(np.int32)
    if info32.min <= min_id and max_id <= info32.max:
        return np.dtype(np.int32)
    info64 = np.iinfo(np.int64)
    if info64.min <= min_id and max_id <= info64.max:
        return np.dtype(np.int64)
    raise OverflowError(f"label id {max_id} does not fit in int64")
